"""Plausible mistakes in lab 3, one or more per graded function."""

from . import Wrong

_LIME_TABULAR_HEAD = '''
def lime_tabular(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    X_train = np.asarray(X_train, dtype=float)
    n_features = X_train.shape[1]
    if kernel_width is None:
        kernel_width = 0.75 * np.sqrt(n_features)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    rng = np.random.RandomState(random_state)
    samples = mean + std * rng.normal(size=(num_samples, n_features))
    samples[0] = x
    standardized = (samples - mean) / std
'''

_LIME_IMAGE_HEAD = '''
def lime_image(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
               random_state=0):
    image = np.asarray(image, dtype=float)
    n_segments = int(segments.max()) + 1
    rng = np.random.RandomState(random_state)
    masks = rng.randint(0, 2, size=(num_samples, n_segments))
    masks[0] = 1
'''

_SUPERPIXEL_MEAN = '''
    if hide_color is None:
        fill = np.zeros_like(image)
        for s in range(n_segments):
            fill[segments == s] = image[segments == s].mean(axis=0)
    else:
        fill = np.broadcast_to(np.asarray(hide_color, dtype=float), image.shape)
'''

_KERNEL_SHAP_HEAD = '''
def kernel_shap(predict, x, background, *, n_samples=2048, random_state=0):
    x = np.asarray(x, dtype=float)
    background = np.asarray(background, dtype=float)
    M = len(x)
    total = 2**M - 2
    if n_samples >= total:
        codes = np.arange(1, total + 1)
    else:
        codes = np.random.default_rng(random_state).choice(np.arange(1, total + 1), size=n_samples, replace=False)
    Z = (codes[:, None] >> np.arange(M)) & 1
    k = Z.sum(axis=1)
    inputs = np.where(Z[:, None, :] == 1, x, background[None, :, :])
    values = np.asarray(predict(inputs.reshape(-1, M))).reshape(len(Z), len(background)).mean(axis=1)
    base = np.mean(predict(background))
    gap = predict(x[None])[0] - base
'''

_CONSTRAINED_FIT = '''
    y = values - base - Z[:, -1] * gap
    A = Z[:, :-1] - Z[:, [-1]]
    root = np.sqrt(weights)
    rest = np.linalg.lstsq(A * root[:, None], y * root, rcond=None)[0]
    return np.append(rest, gap - rest.sum())
'''

WRONG = [
    Wrong("lime_tabular", "lime-tabular-no-kernel", _LIME_TABULAR_HEAD + '''
    y = predict(samples)
    return Ridge(alpha=alpha).fit(standardized, y).coef_
''', "gives every sample the same weight"),
    Wrong("lime_tabular", "lime-tabular-raw-units", _LIME_TABULAR_HEAD + '''
    distances = np.linalg.norm(standardized - standardized[0], axis=1)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=alpha).fit(samples, predict(samples), sample_weight=weights).coef_
'''),
    Wrong("lime_tabular", "lime-tabular-distance-in-raw-units", _LIME_TABULAR_HEAD + '''
    distances = np.linalg.norm(samples - samples[0], axis=1)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=alpha).fit(standardized, predict(samples), sample_weight=weights).coef_
'''),
    Wrong("lime_image", "lime-image-no-kernel", _LIME_IMAGE_HEAD + _SUPERPIXEL_MEAN + '''
    kept = masks[:, segments].astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    return Ridge(alpha=1.0).fit(masks, y).coef_
''', "gives every mask the same weight"),
    Wrong("lime_image", "lime-image-black-fill", _LIME_IMAGE_HEAD + '''
    fill = np.zeros_like(image) if hide_color is None else np.broadcast_to(np.asarray(hide_color, float), image.shape)
    kept = masks[:, segments].astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    distances = 1 - np.sqrt(masks.sum(axis=1) / n_segments)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_
'''),
    Wrong("lime_image", "lime-image-euclidean-distance", _LIME_IMAGE_HEAD + _SUPERPIXEL_MEAN + '''
    kept = masks[:, segments].astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    distances = np.sqrt(n_segments - masks.sum(axis=1))
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_
'''),
    Wrong("shapley", "shapley-unweighted-average", '''
def shapley_values(predict, x, background):
    M = len(x)
    codes = np.arange(2**M)
    masks = (codes[:, None] >> np.arange(M)) & 1
    inputs = np.where(masks[:, None, :] == 1, x, background[None, :, :])
    values = predict(inputs.reshape(-1, M)).reshape(2**M, len(background)).mean(axis=1)
    phi = np.zeros(M)
    for j in range(M):
        S = codes[masks[:, j] == 0]
        phi[j] = np.mean(values[S | (1 << j)] - values[S])
    return phi
''', "(efficiency)"),
    Wrong("shapley", "shapley-mean-baseline", '''
def shapley_values(predict, x, background):
    M = len(x)
    baseline = background.mean(axis=0)
    codes = np.arange(2**M)
    masks = (codes[:, None] >> np.arange(M)) & 1
    values = predict(np.where(masks == 1, x, baseline))
    sizes = masks.sum(axis=1)
    phi = np.zeros(M)
    for j in range(M):
        S = codes[masks[:, j] == 0]
        k = sizes[S]
        w = np.array([factorial(s) * factorial(M - s - 1) / factorial(M) for s in k])
        phi[j] = np.sum(w * (values[S | (1 << j)] - values[S]))
    return phi
'''),
    Wrong("kernel_shap", "kernel-shap-no-constraint", _KERNEL_SHAP_HEAD + '''
    weights = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
    design = np.column_stack([np.ones(len(Z)), Z])
    root = np.sqrt(weights)
    return np.linalg.lstsq(design * root[:, None], values * root, rcond=None)[0][1:]
'''),
    Wrong("kernel_shap", "kernel-shap-unweighted", _KERNEL_SHAP_HEAD + '''
    weights = np.ones(len(Z))
''' + _CONSTRAINED_FIT, "Shapley kernel weights", feedback="differs from shap.KernelExplainer"),
    Wrong("kernel_shap", "kernel-shap-weight-without-binomial", _KERNEL_SHAP_HEAD + '''
    weights = (M - 1) / (k * (M - k))
''' + _CONSTRAINED_FIT),
    # --- blind spots closed in issue 8: these got full marks from the earlier hidden tests ---
    Wrong("lime_image", "lime-image-fixed-kernel-width", _LIME_IMAGE_HEAD + _SUPERPIXEL_MEAN + '''
    kept = masks[:, segments].astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    distances = 1 - np.sqrt(masks.sum(axis=1) / n_segments)
    weights = np.exp(-distances**2 / (2 * 0.25**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_
''', "kernel_width=0.4"),
    Wrong("lime_image", "lime-image-height-width-swapped", _LIME_IMAGE_HEAD + _SUPERPIXEL_MEAN + '''
    width, height = segments.shape  # x/y taken for rows/columns
    kept = masks[:, segments.ravel()].reshape(num_samples, height, width).astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    distances = 1 - np.sqrt(masks.sum(axis=1) / n_segments)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_
''', "raised ValueError"),
    Wrong("kernel_shap", "kernel-shap-sampling-with-replacement", _KERNEL_SHAP_HEAD.replace("replace=False", "replace=True") + '''
    weights = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
''' + _CONSTRAINED_FIT, "evaluates other coalitions than the lab's recipe", feedback="differs from the lab's KernelSHAP recipe"),
]
