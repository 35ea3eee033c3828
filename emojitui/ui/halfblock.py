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

    def segment_lines(self) -> list[list[Segment]]:
        """The picture's rows as segments (the panels turn them into strips directly)."""
        return self.lines

    def __rich_console__(self, console, options):
        for line in self.lines:
            yield from line
            yield Segment.line()


def _segments(image: np.ndarray) -> list[list[Segment]]:
    """One list of segments per text row; runs of identical cells become one segment."""
    quantised = (image[..., :3] // QUANTUM * QUANTUM).astype(np.int32)
    opaque = image[..., 3] >= 128 if image.shape[2] == 4 else np.ones(image.shape[:2], bool)
    # One integer per pixel (-1 transparent), so equal neighbours are found with NumPy.
    packed = np.where(opaque, (quantised[..., 0] << 16) | (quantised[..., 1] << 8) | quantised[..., 2], -1)
    lines = []
    for row in range(0, image.shape[0], 2):
        top, bottom = packed[row], packed[row + 1]
        change = np.flatnonzero((top[1:] != top[:-1]) | (bottom[1:] != bottom[:-1])) + 1
        starts = [0, *change.tolist()]
        ends = [*change.tolist(), len(top)]
        line = []
        for start, end in zip(starts, ends, strict=True):
            line.append(_cell(int(top[start]), int(bottom[start]), end - start))
        lines.append(line)
    return lines


def _rgb(packed: int) -> tuple[int, int, int] | None:
    return None if packed < 0 else (packed >> 16, (packed >> 8) & 255, packed & 255)


def _cell(top: int, bottom: int, count: int) -> Segment:
    if top < 0 and bottom < 0:
        return Segment(" " * count)
    if top < 0:
        return Segment(LOWER * count, _style(_rgb(bottom), None))
    return Segment(UPPER * count, _style(_rgb(top), _rgb(bottom)))


def fit_image(image: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """Resize to fit `columns` x `2*rows` pixels, keeping the aspect ratio (cells are 1:2)."""
    height, width = image.shape[:2]
    scale = min(columns / width, 2 * rows / height)
    size = (max(1, round(width * scale)), max(2, round(height * scale) // 2 * 2))  # round: 79.5 rows fill 40
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def bgr_to_rgba(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
