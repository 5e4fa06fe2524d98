"""The shape classifier that image LIME explains (week 3)."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.image_models import fit_shapes_classifier, hog_features
from xaikit.images import make_shapes


@pytest.fixture(scope="module")
def shapes():
    data = make_shapes(400, random_state=5)
    return data.images.transpose(0, 2, 3, 1), data.labels


def test_hog_features_shape_and_channels_last_only(shapes):
    images, _ = shapes
    assert hog_features(images[:3]).shape == (3, 324)
    with pytest.raises(ValueError, match="channels-last"):
        hog_features(images[:3].transpose(0, 3, 1, 2))


def test_classifier_is_accurate_and_deterministic(shapes):
    images, labels = shapes
    a = fit_shapes_classifier(images[:300], labels[:300])
    b = fit_shapes_classifier(images[:300], labels[:300])
    assert np.mean(a.predict(images[300:]) == labels[300:]) > 0.95
    proba = a.predict_proba(images[300:])
    assert proba.shape == (100, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba, b.predict_proba(images[300:]))


def test_classifier_reads_the_shape_not_the_background(shapes):
    """Painting the object over with the background's mean colour destroys the prediction."""
    images, labels = shapes
    data = make_shapes(40, random_state=6)
    model = fit_shapes_classifier(images, labels)
    test = data.images.transpose(0, 2, 3, 1).astype(float)
    erased = test.copy()
    for image, mask, cue in zip(erased, data.masks, data.cue_masks):
        image[mask] = image[~mask & ~cue].mean(axis=0)
    p_true = model.predict_proba(test)[np.arange(40), data.labels]
    p_erased = model.predict_proba(erased)[np.arange(40), data.labels]
    assert p_true.mean() > 0.9 and p_erased.mean() < 0.5


def test_fit_names_the_bad_argument(shapes):
    images, labels = shapes
    with pytest.raises(ValueError, match="labels"):
        fit_shapes_classifier(images[:10], labels[:5])
