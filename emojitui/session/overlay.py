"""Drawing results onto a frame: boxes, labels and each face's emoji (the snapshot picture)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from emojitui.session.emoji_art import emoji_image
from emojitui.shared.colours import hex_to_bgr
from emojitui.shared.emotions import CLASS_COLOURS

if TYPE_CHECKING:
    from emojitui.engine.engine import FaceResult


def paste_rgba(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int, size: int, opacity: float = 1.0) -> None:
    """Alpha-blend `rgba` scaled to `size` onto `canvas` with its top-left at (x, y), clipped."""
    if size < 2:
        return
    art = cv2.resize(rgba, (size, size), interpolation=cv2.INTER_AREA if size < rgba.shape[0] else cv2.INTER_LINEAR)
    height, width = canvas.shape[:2]
    left, top = max(0, x), max(0, y)
    right, bottom = min(width, x + size), min(height, y + size)
    if right <= left or bottom <= top:
        return
    patch = art[top - y : bottom - y, left - x : right - x].astype(np.float32)
    alpha = patch[..., 3:4] / 255.0 * opacity
    region = canvas[top:bottom, left:right].astype(np.float32)
    canvas[top:bottom, left:right] = (region * (1 - alpha) + patch[..., :3] * alpha).astype(np.uint8)


def draw_faces(image: np.ndarray, faces: list[FaceResult], emojify: bool = True, annotate: bool = True) -> np.ndarray:
    """A copy of `image` with each face boxed, labelled (unless not `annotate`) and (by default)
    covered by its emoji: the picture of snapshots and of `emojitui render`."""
    canvas = image.copy()
    for face in faces:
        x, y, w, h = face.box.as_ints()
        colour = hex_to_bgr(CLASS_COLOURS.get(face.label, "#ffffff"))
        art = emoji_image(face.emoji)
        if emojify and art is not None:
            size = round(max(w, h) * 1.15)
            paste_rgba(canvas, art, x + w // 2 - size // 2, y + h // 2 - size // 2, size, opacity=0.92)
        if not annotate:
            continue
        thickness = max(2, round(w / 60))
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness)
        text = f"#{face.id} {face.label} {face.confidence * 100:.0f}%"
        scale = max(0.45, w / 220)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y - th - base - 6)
        cv2.rectangle(canvas, (x, top), (x + tw + 8, top + th + base + 6), colour, -1)
        cv2.putText(canvas, text, (x + 4, top + th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)
    return canvas
