"""Colour helpers shared by the terminal UI and the snapshot drawing (the class colours
themselves are `emojitui.shared.emotions.CLASS_COLOURS`)."""

from __future__ import annotations


def hex_to_bgr(hex_colour: str) -> tuple[int, int, int]:
    """`#rrggbb` as OpenCV's (blue, green, red)."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r
