"""What every frame source shares: the `Frame`, the `FrameSource` protocol and the errors.

Every source yields `Frame`s with a time in seconds: media time for files (so smoothing is
reproducible however fast frames are processed), monotonic time for live cameras. Opening a
source checks it delivers a first frame, so bad input fails before the app starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from emojitui.shared.errors import UserError


class SourceError(UserError):
    """A source that cannot be opened or read."""


class CameraUnavailable(SourceError):
    """No camera at that index (the app may fall back to the demo)."""


@dataclass(slots=True)
class Frame:
    image: np.ndarray  # BGR uint8
    time: float
    index: int
    mirrored: bool = False  # flipped left-right on the way in (`m`, --mirror)


class FrameSource(Protocol):
    name: str
    live: bool  # frames come in real time (a camera, the live demo); a camera may fail transiently
    fps: float

    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended (or a live one failed)."""

    def reopen(self) -> bool:
        """Try to reopen after a failure; True when frames flow again."""

    def close(self) -> None: ...
