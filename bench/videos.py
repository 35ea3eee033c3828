"""The fixed benchmark videos: one real face (a bundled demo photo), 640x480, panning and
zooming; and the same photo held still, as a camera on a desk sees a still scene, with its noise."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emojitui.shared.locations import DEMO_DIR


def make_face_video(path: Path, frames: int = 300, size: tuple[int, int] = (640, 480), fps: float = 30.0) -> Path:
    photo = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for n in range(frames):
        zoom = min(width / photo.shape[1], height / photo.shape[0]) * (1.0 + 0.15 * np.sin(n / 40))
        dx = 40 * np.sin(n / 25)
        matrix = np.float32(
            [[zoom, 0, (width - photo.shape[1] * zoom) / 2 + dx], [0, zoom, (height - photo.shape[0] * zoom) / 2]]
        )
        writer.write(cv2.warpAffine(photo, matrix, size, borderValue=(30, 30, 30)))
    writer.release()
    return path


def make_still_video(path: Path, seconds: float, size: tuple[int, int] = (640, 480), fps: float = 30.0) -> Path:
    """The photo held still with sensor noise (a normal spread of 3 levels a pixel, new each frame):
    the easy end of what a webcam gives, where the moving demo is the hard end."""
    photo = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    width, height = size
    scale = min(width / photo.shape[1], height / photo.shape[0])
    still = np.full((height, width, 3), 30, np.uint8)
    fitted = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top, left = (height - fitted.shape[0]) // 2, (width - fitted.shape[1]) // 2
    still[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for _ in range(round(seconds * fps)):
        writer.write(np.clip(still + rng.normal(0.0, 3.0, still.shape), 0, 255).astype(np.uint8))
    writer.release()
    return path
