"""Bundled emoji images (Noto Emoji, 64x64 RGBA), looked up by the emoji character."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from emojitui.shared.locations import EMOJI_DIR


def emoji_filename(emoji: str) -> str:
    return "-".join(f"{ord(ch):04x}" for ch in emoji if ord(ch) != 0xFE0F) + ".png"


@lru_cache(maxsize=64)
def emoji_image(emoji: str) -> np.ndarray | None:
    """The emoji as a BGRA image, or None when it is not bundled (a user's own choice)."""
    image = cv2.imread(str(EMOJI_DIR / emoji_filename(emoji)), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return None
    return image
