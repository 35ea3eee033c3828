"""emojitui: real-time facial expression to emoji, in the terminal, and a small Python API.

    import emojitui
    faces = emojitui.analyze("photo.jpg")     # [Face(box, label, emoji, confidence, probabilities)]

This module stays import-light on purpose: the trainer imports `emojitui.shared`, and
nothing on that path may pull in OpenCV, dlib, LiteRT or Textual. The API (`emojitui.api`)
loads on first use of `analyze`, `Analyzer`, `stream`, `Face` or `FrameFaces`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Analyzer", "Calibration", "Face", "FrameFaces", "analyze", "stream"]

# Decoder chatter ("[mjpeg @ 0x...] overread 8" from a cut video, warnings while a camera
# reconnects) goes to the terminal the TUI draws on: quiet unless the user asks for it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

if TYPE_CHECKING:
    from emojitui.api import Analyzer, Face, FrameFaces, analyze, stream
    from emojitui.engine.calibration import Calibration


def __getattr__(name: str) -> object:
    """The API, imported when first used (PEP 562), so `import emojitui` stays light."""
    if name == "Calibration":
        from emojitui.engine import calibration

        return calibration.Calibration
    if name in __all__:
        from emojitui import api

        return getattr(api, name)
    raise AttributeError(f"module 'emojitui' has no attribute {name!r}")
