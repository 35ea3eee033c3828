"""Batches for training: augmentation suited to 48x48 faces, in NumPy and OpenCV.

A per-image affine warp (shift, small rotation and scale), horizontal flip, brightness and
contrast jitter, sensor noise and random erasing cost about 10 us an image here, so the feed never starves
the network on a 2-core CPU. It is plain NumPy, so it feeds Keras on any backend (TensorFlow
here, JAX on a GPU machine) unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import keras
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of each random change; `asdict` of it goes into the model card's recipe."""

    shift: float = 0.10  # fraction of the side
    rotation_deg: float = 12.0
    scale: float = 0.12
    flip: bool = True
    brightness: float = 0.25  # +- fraction of 255
    contrast: float = 0.25
    erase_probability: float = 0.4
    erase_area: tuple[float, float] = (0.04, 0.16)
    # Sensor noise: half the images get Gaussian noise of a standard deviation drawn up to this
    # (grey levels). Without it, webcam-like noise drifts predictions towards "sad".
    noise: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def augment_batch(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Return augmented float32 copies (N, H, W) of uint8 `images`, values still in 0..255."""
    count, height, width = images.shape
    out = np.empty((count, height, width), np.float32)
    centre = (width / 2 - 0.5, height / 2 - 0.5)
    angles = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg, count)
    scales = rng.uniform(1 - cfg.scale, 1 + cfg.scale, count)
    shifts = rng.uniform(-cfg.shift, cfg.shift, (count, 2)) * (width, height)
    flips = rng.random(count) < 0.5 if cfg.flip else np.zeros(count, bool)
    for index in range(count):
        matrix = cv2.getRotationMatrix2D(centre, angles[index], scales[index])
        matrix[:, 2] += shifts[index]
        source = images[index, :, ::-1] if flips[index] else images[index]
        out[index] = cv2.warpAffine(
            np.ascontiguousarray(source),
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
    gain = rng.uniform(1 - cfg.contrast, 1 + cfg.contrast, (count, 1, 1)).astype(np.float32)
    bias = rng.uniform(-cfg.brightness, cfg.brightness, (count, 1, 1)).astype(np.float32) * 255
    means = out.mean(axis=(1, 2), keepdims=True)
    out = (out - means) * gain + means + bias
    if cfg.noise:
        sigmas = rng.uniform(0, cfg.noise, (count, 1, 1)) * (rng.random((count, 1, 1)) < 0.5)
        out += rng.standard_normal(out.shape, np.float32) * sigmas.astype(np.float32)
    out = np.clip(out, 0, 255)
    _erase(out, rng, cfg)
    return out


def _erase(batch: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> None:
    """Random erasing: blank a rectangle with noise in a share of the images, in place."""
    count, height, width = batch.shape
    for index in np.flatnonzero(rng.random(count) < cfg.erase_probability):
        area = rng.uniform(*cfg.erase_area) * height * width
        aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
        h = min(height, max(4, round(math.sqrt(area * aspect))))
        w = min(width, max(4, round(math.sqrt(area / aspect))))
        top = rng.integers(0, height - h + 1)
        left = rng.integers(0, width - w + 1)
        batch[index, top : top + h, left : left + w] = rng.uniform(0, 255, (h, w))


class TrainingBatches(keras.utils.PyDataset):
    """Shuffled, augmented, class-weighted batches of one split; reshuffled every epoch."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        class_weights: np.ndarray,
        cfg: AugmentConfig,
        seed: int,
        label_smoothing: float = 0.0,
        soft_targets: np.ndarray | None = None,
        soft_weight: float = 0.0,
        **kwargs,
    ) -> None:
        """`soft_targets` (N, classes), a teacher's probabilities, replace `soft_weight` of each target."""
        super().__init__(**kwargs)
        self.images, self.labels = images, labels
        self.soft_targets, self.soft_weight = soft_targets, soft_weight
        self.batch_size, self.cfg, self.seed = batch_size, cfg, seed
        self.class_weights = class_weights.astype(np.float32)
        self.label_smoothing = label_smoothing
        self.start_at(0)

    def start_at(self, epoch: int) -> None:
        """Continue as from the start of `epoch` (0-based): what `--resume` needs to see the same batches."""
        self.epoch = epoch
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self) -> int:
        return len(self.labels) // self.batch_size

    def __getitem__(self, index: int):
        picks = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        x = augment_batch(self.images[picks], rng, self.cfg)[..., None]
        y = one_hot(self.labels[picks], len(self.class_weights), self.label_smoothing)
        if self.soft_targets is not None:
            y = (1.0 - self.soft_weight) * y + self.soft_weight * self.soft_targets[picks]
        return x, y, self.class_weights[self.labels[picks]]

    def on_epoch_end(self) -> None:
        self.start_at(self.epoch + 1)


def one_hot(labels: np.ndarray, classes: int, smoothing: float = 0.0) -> np.ndarray:
    target = np.full((len(labels), classes), smoothing / classes, np.float32)
    target[np.arange(len(labels)), labels] += 1.0 - smoothing
    return target


def balanced_class_weights(labels: np.ndarray, classes: int, power: float) -> np.ndarray:
    """Weights (median count / class count) ** power: power 0 is none, 1 is full balance."""
    counts = np.maximum(np.bincount(labels, minlength=classes), 1).astype(np.float64)
    weights = (np.median(counts) / counts) ** power
    return weights / np.average(weights, weights=counts)
