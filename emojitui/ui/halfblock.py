"""Pictures in a terminal: two pixels per cell with the upper half block and two colours.

Pure functions of an image, so they are tested and reused by the emoji panel and the camera
preview. Styles are cached because a frame repeats few colour pairs once quantised.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

UPPER = "▀"
LOWER = "▄"
QUANTUM = 8  # colour step: fewer distinct styles to build, invisible at this size


@lru_cache(maxsize=8192)
def _style(fg: tuple[int, int, int] | None, bg: tuple[int, int, int] | None) -> Style:
    return Style(
        color=Color.from_rgb(*fg) if fg is not None else None,
        bgcolor=Color.from_rgb(*bg) if bg is not None else None,
    )


class HalfBlockImage:
    """A Rich renderable of an RGB(A) image already sized to (2 * rows, columns)."""

    def __init__(self, rgba: np.ndarray) -> None:
        if rgba.shape[0] % 2:
            rgba = np.vstack([rgba, np.zeros((1, *rgba.shape[1:]), rgba.dtype)])
        self.lines = _segments(rgba)

    def __rich_console__(self, console, options):
        for line in self.lines:
            yield from line
            yield Segment.line()


def _segments(image: np.ndarray) -> list[list[Segment]]:
    quantised = (image[..., :3] // QUANTUM * QUANTUM).astype(np.uint8)
    opaque = image[..., 3] >= 128 if image.shape[2] == 4 else np.ones(image.shape[:2], bool)
    lines = []
    for row in range(0, image.shape[0], 2):
        top, bottom = quantised[row], quantised[row + 1]
        top_on, bottom_on = opaque[row], opaque[row + 1]
        line: list[Segment] = []
        for col in range(image.shape[1]):
            t = tuple(int(v) for v in top[col]) if top_on[col] else None
            b = tuple(int(v) for v in bottom[col]) if bottom_on[col] else None
            if t is None and b is None:
                line.append(Segment(" "))
            elif t is None:
                line.append(Segment(LOWER, _style(b, None)))
            else:
                line.append(Segment(UPPER, _style(t, b)))
        lines.append(_merge(line))
    return lines


def _merge(line: list[Segment]) -> list[Segment]:
    """Join neighbouring cells of the same style into one segment (far less to draw)."""
    merged: list[Segment] = []
    for segment in line:
        if merged and merged[-1].style is segment.style:
            merged[-1] = Segment(merged[-1].text + segment.text, segment.style)
        else:
            merged.append(segment)
    return merged


def fit_image(image: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """Resize to fit `columns` x `2*rows` pixels, keeping the aspect ratio (cells are 1:2)."""
    height, width = image.shape[:2]
    scale = min(columns / width, 2 * rows / height)
    size = (max(1, int(width * scale)), max(2, int(height * scale) // 2 * 2))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def bgr_to_rgba(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
