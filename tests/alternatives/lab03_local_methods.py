"""Correct answers of lab 3 written differently from the solution."""

from . import Right

RIGHT = [
    Right("lime_tabular", "lime-tabular-explicit-scaler", '''
from sklearn.preprocessing import StandardScaler

def lime_tabular(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    scaler = StandardScaler().fit(X_train)
    p = X_train.shape[1]
    width = 0.75 * np.sqrt(p) if kernel_width is None else kernel_width
    noise = np.random.RandomState(random_state).normal(size=(num_samples, p))
    samples = scaler.inverse_transform(noise)
    samples[0] = x
    z = scaler.transform(samples)
    d2 = ((z - z[0]) ** 2).sum(axis=1)
    return Ridge(alpha=alpha).fit(z, predict(samples), sample_weight=np.exp(-d2 / (2 * width**2))).coef_
'''),
    Right("lime_image", "lime-image-loop-per-sample", '''
def lime_image(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
               random_state=0):
    M = int(np.max(segments)) + 1
    masks = np.random.RandomState(random_state).randint(0, 2, size=(num_samples, M))
    masks[0, :] = 1
    if hide_color is None:
        fill = np.stack([image[segments == s].mean(axis=0) for s in range(M)])[segments]
    else:
        fill = np.zeros_like(image, dtype=float) + np.asarray(hide_color, dtype=float)
    batch = np.empty((num_samples, *image.shape))
    for i, mask in enumerate(masks):
        keep = mask[segments].astype(bool)[..., None]
        batch[i] = np.where(keep, image, fill)
    y = predict_proba(batch)[:, label]
    cosine = 1 - masks @ np.ones(M) / (np.linalg.norm(masks, axis=1) * np.sqrt(M) + 1e-300)
    cosine[masks.sum(axis=1) == 0] = 1.0
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=np.exp(-cosine**2 / (2 * kernel_width**2))).coef_
'''),
    Right("shapley", "shapley-permutations-formula", '''
from itertools import combinations

def shapley_values(predict, x, background):
    M = len(x)
    def v(S):
        Z = background.copy()
        Z[:, list(S)] = x[list(S)]
        return predict(Z).mean()
    phi = np.zeros(M)
    for j in range(M):
        others = [i for i in range(M) if i != j]
        for size in range(M):
            for S in combinations(others, size):
                phi[j] += factorial(size) * factorial(M - size - 1) / factorial(M) * (v(S + (j,)) - v(S))
    return phi
'''),
    Right("kernel_shap", "kernel-shap-lagrange", '''
def kernel_shap(predict, x, background, *, n_samples=2048, random_state=0):
    M = len(x)
    candidates = np.arange(1, 2**M - 1)
    codes = candidates if n_samples >= len(candidates) else np.random.default_rng(random_state).choice(
        candidates, size=n_samples, replace=False)
    Z = ((codes[:, None] >> np.arange(M)) & 1).astype(float)
    k = Z.sum(axis=1).astype(int)
    w = np.array([(M - 1) / (comb(M, s) * s * (M - s)) for s in k])
    v = np.array([predict(np.where(z == 1, x, background)).mean() for z in Z])
    base = predict(background).mean()
    gap = predict(x[None, :])[0] - base
    # KKT system of min sum w (Z phi - (v - base))^2 subject to sum(phi) = gap
    A = np.block([[2 * Z.T @ (w[:, None] * Z), np.ones((M, 1))], [np.ones((1, M)), np.zeros((1, 1))]])
    b = np.concatenate([2 * Z.T @ (w * (v - base)), [gap]])
    return np.linalg.lstsq(A, b, rcond=None)[0][:M]
'''),
]
