"""What a webcam does to a still face between frames, as a seeded test of a model's steadiness.

Shifts of up to 2 px, gain within 10% and sensor noise of 6 grey levels. The export reports
PublicTest accuracy under it, and the smoothing tests feed it to the app's smoother. NumPy and
OpenCV only, so app tests can use it without the training stack.
"""

from __future__ import annotations

import cv2
import numpy as np


def camera_noise_one(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One noisy frame of a (H, W) uint8 face."""
    height, width = face.shape
    matrix = np.float32([[1, 0, rng.uniform(-2, 2)], [0, 1, rng.uniform(-2, 2)]])
    moved = cv2.warpAffine(face, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    noisy = moved * rng.uniform(0.9, 1.1) + rng.normal(0, 6, moved.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def camera_noise(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """A noisy copy of each (N, H, W) uint8 face; the same seed gives the same frames."""
    rng = np.random.default_rng(seed)
    return np.stack([camera_noise_one(face, rng) for face in images])
