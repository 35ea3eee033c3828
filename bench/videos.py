"""The fixed benchmark video: one real face (a bundled demo photo), 640x480, panning and zooming."""

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
