"""Training augmentation: each random change does what its config says, and only that."""

from __future__ import annotations

import numpy as np

from trainer.augment import AugmentConfig, augment_batch

NOTHING = AugmentConfig(
    shift=0.0, rotation_deg=0.0, scale=0.0, flip=False, brightness=0.0, contrast=0.0, erase_probability=0.0
)


def flat_faces(count: int = 64, grey: int = 128) -> np.ndarray:
    return np.full((count, 48, 48), grey, np.uint8)


def test_with_every_change_off_images_pass_through():
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    out = augment_batch(faces, np.random.default_rng(1), NOTHING)
    np.testing.assert_allclose(out, faces, atol=1e-3)


def test_sensor_noise_reaches_about_half_the_images_within_its_strength():
    cfg = AugmentConfig(**{**NOTHING.as_dict(), "noise": 10.0})
    out = augment_batch(flat_faces(400), np.random.default_rng(2), cfg)
    spread = out.std(axis=(1, 2))
    noisy = spread > 0
    assert 0.4 < noisy.mean() < 0.6, "half the images, not all"
    assert spread.max() <= 10.5 and spread[noisy].mean() > 3, "standard deviations drawn up to the setting"
    assert out.min() >= 0 and out.max() <= 255
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 128, atol=1.5)


def test_augmentation_is_reproducible_from_its_seed():
    faces = np.random.default_rng(0).integers(0, 256, (16, 48, 48), dtype=np.uint8)
    cfg = AugmentConfig(noise=8.0)
    first = augment_batch(faces, np.random.default_rng(5), cfg)
    again = augment_batch(faces, np.random.default_rng(5), cfg)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, augment_batch(faces, np.random.default_rng(6), cfg))
