"""Batch norm recomputed on clean faces: each layer's moving statistics become those of its input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

import keras

from trainer.batchnorm import recompute_batch_norm
from trainer.model import build_model


def _norms(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_each_layer_gets_the_statistics_of_its_input_after_the_layers_before_it():
    model = build_model(((8, 1), (16, 2)), stem=8, seed=7)
    faces = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    before = [norm.moving_mean.numpy().copy() for norm in _norms(model)]
    recompute_batch_norm(model, faces)
    for norm, old_mean in zip(_norms(model), before, strict=True):
        inputs = keras.Model(model.input, norm.input).predict(faces[..., None].astype(np.float32), verbose=0)
        np.testing.assert_allclose(norm.moving_mean.numpy(), inputs.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(norm.moving_variance.numpy(), inputs.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
        assert not np.allclose(norm.moving_mean.numpy(), old_mean), "the fresh model's zeros were replaced"


def test_inference_then_normalises_clean_faces_to_zero_mean():
    model = build_model(((8, 1),), stem=8, seed=7)
    faces = np.random.default_rng(1).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    recompute_batch_norm(model, faces)
    first = _norms(model)[0]
    normalised = keras.Model(model.input, first.output).predict(faces[..., None].astype(np.float32), verbose=0)
    # gamma 1, beta 0 in a fresh model: the output is the input standardised with the new statistics.
    np.testing.assert_allclose(normalised.mean(axis=(0, 1, 2)), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=(0, 1, 2)), 1.0, atol=2e-2)
