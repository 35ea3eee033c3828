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


def only(**fields) -> AugmentConfig:
    return AugmentConfig(**{**NOTHING.as_dict(), **fields})


def random_faces(count: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 48, 48), dtype=np.uint8)


def test_flip_gives_each_face_or_its_mirror_and_both_are_seen():
    faces = random_faces()
    out = augment_batch(faces, np.random.default_rng(3), only(flip=True))
    same = np.all(np.abs(out - faces) < 1e-3, axis=(1, 2))
    mirrored = np.all(np.abs(out - faces[:, :, ::-1]) < 1e-3, axis=(1, 2))
    assert np.all(same | mirrored) and same.any() and mirrored.any()


def test_brightness_moves_each_mean_within_its_range_and_contrast_keeps_it():
    faces = np.full((200, 48, 48), 128, np.uint8)
    faces[:, :, :24] = 88  # two halves: a contrast to stretch
    brighter = augment_batch(faces, np.random.default_rng(4), only(brightness=0.1))
    moved = brighter.mean(axis=(1, 2)) - faces.mean(axis=(1, 2))
    assert np.abs(moved).max() <= 0.1 * 255 + 1e-3 and moved.std() > 5, "shifts drawn across +-10% of 255"
    stretched = augment_batch(faces, np.random.default_rng(4), only(contrast=0.25))
    np.testing.assert_allclose(stretched.mean(axis=(1, 2)), faces.mean(axis=(1, 2)), atol=1e-3)
    gap = stretched[:, 0, 30] - stretched[:, 0, 10]
    assert gap.min() >= 40 * 0.75 - 1e-3 and gap.max() <= 40 * 1.25 + 1e-3 and gap.std() > 2


def test_shift_moves_a_dot_by_at_most_its_fraction_of_the_side():
    faces = np.zeros((100, 48, 48), np.uint8)
    faces[:, 24, 24] = 255
    out = augment_batch(faces, np.random.default_rng(5), only(shift=0.1))
    rows, cols = np.unravel_index(out.reshape(100, -1).argmax(axis=1), (48, 48))
    assert np.abs(cols - 24).max() <= 5 and np.abs(rows - 24).max() <= 5, "0.1 of 48 pixels, rounded"
    assert (cols != 24).any() and (rows != 24).any()


def test_rotation_and_scale_keep_the_centre_and_move_the_rest():
    faces = random_faces(32)
    for cfg in (only(rotation_deg=12.0), only(scale=0.12)):
        out = augment_batch(faces, np.random.default_rng(6), cfg)
        assert not np.allclose(out, faces, atol=1.0), cfg
        np.testing.assert_allclose(out.mean(), faces.mean(), rtol=0.05)


def test_erasing_blanks_one_rectangle_in_about_its_share_of_the_images():
    faces = np.full((400, 48, 48), 128, np.uint8)
    out = augment_batch(faces, np.random.default_rng(7), only(erase_probability=0.4))
    changed = out != 128
    touched = changed.any(axis=(1, 2))
    assert 0.3 < touched.mean() < 0.5
    for mask in changed[touched][:50]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
        assert 0.04 * 48 * 48 * 0.5 <= box <= 0.16 * 48 * 48 * 1.5 + 16, "one rectangle of the configured area"
        assert mask.sum() >= 0.9 * box, "filled, not scattered"
