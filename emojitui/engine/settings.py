"""The engine's tunable settings, importable without OpenCV or dlib.

The command line reads its defaults from here before anything heavy loads, so `--help` is
instant and a broken OpenCV or dlib install fails as one line, not at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emojitui.engine.smoothing import SmoothingConfig

# Framing measured on 467 PublicTest faces (docs/model-history.md, "How the app's defaults were chosen").
FER_CROP_SCALE = 1.12
FER_CROP_SHIFT_UP = 0.06
TIERS = ("auto", "accurate", "fast")  # --model and [model] tier; `emojitui.engine.tiers` resolves them
GRAPHICS = ("auto", "kitty", "sixel", "off")  # --graphics and [display] graphics; `emojitui.ui.graphics` resolves them


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Detection and smoothing settings; defaults chosen by measurement (docs/model-history.md)."""

    detect_width: int = 400
    detect_every: int = 3
    full_scan_seconds: float = 1.0  # in between, detections search only around the tracked faces; 0: always full
    crop_scale: float = FER_CROP_SCALE
    crop_shift_up: float = FER_CROP_SHIFT_UP
    detection: str = "inline"  # or "thread" (live) / "pipelined" (files): see emojitui.engine.engine
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
