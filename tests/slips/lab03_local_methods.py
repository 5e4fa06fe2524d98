"""Slips in lab03_local_methods the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
from wrong_answers.lab03_local_methods import _LIME_TABULAR_HEAD, _LIME_IMAGE_HEAD, _SUPERPIXEL_MEAN, _KERNEL_SHAP_HEAD, _CONSTRAINED_FIT
EXTRA = [
 Wrong("lime_tabular","lime-kernel-no-2",_LIME_TABULAR_HEAD+'''
    distances = np.linalg.norm(standardized - standardized[0], axis=1)
    weights = np.exp(-distances**2 / kernel_width**2)
    return Ridge(alpha=alpha).fit(standardized, predict(samples), sample_weight=weights).coef_
'''),
 Wrong("lime_tabular","lime-first-sample-not-x",'''
def lime_tabular(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    X_train = np.asarray(X_train, dtype=float)
    n_features = X_train.shape[1]
    if kernel_width is None:
        kernel_width = 0.75 * np.sqrt(n_features)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    rng = np.random.RandomState(random_state)
    samples = mean + std * rng.normal(size=(num_samples, n_features))
    standardized = (samples - mean) / std
    xs = (x - mean) / std
    distances = np.linalg.norm(standardized - xs, axis=1)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=alpha).fit(standardized, predict(samples), sample_weight=weights).coef_
'''),
 Wrong("lime_image","lime-image-no-first-ones", '''
def lime_image(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
               random_state=0):
    image = np.asarray(image, dtype=float)
    n_segments = int(segments.max()) + 1
    rng = np.random.RandomState(random_state)
    masks = rng.randint(0, 2, size=(num_samples, n_segments))
'''+_SUPERPIXEL_MEAN+'''
    kept = masks[:, segments].astype(bool)
    y = predict_proba(np.where(kept[..., None], image, fill))[:, label]
    distances = 1 - np.sqrt(masks.sum(axis=1) / n_segments)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_
'''),
 Wrong("kernel_shap","kernel-shap-with-replacement", _KERNEL_SHAP_HEAD.replace("replace=False","replace=True") + '''
    weights = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
''' + _CONSTRAINED_FIT),
]
