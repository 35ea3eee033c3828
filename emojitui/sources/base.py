"""What every frame source shares: the `Frame`, the `FrameSource` protocol and the errors.

Every source yields `Frame`s with a time in seconds: media time for files (so smoothing is
reproducible however fast frames are processed), monotonic time for live cameras. Opening a
source checks it delivers a first frame, so bad input fails before the app starts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from emojitui.shared.errors import UserError


class SourceError(UserError):
    """A source that cannot be opened or read."""


class CameraUnavailable(SourceError):
    """No camera at that index (the app may fall back to the demo)."""


def shown(name: str) -> str:
    """A name as an error shows it: as typed when printable, else quoted with escapes (one line)."""
    return name if name.isprintable() else repr(name)


def path_exists(path: Path, name: str) -> bool:
    """`path.exists()`, with a name the system refuses (NUL byte, too long) as a SourceError."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SourceError(f"{shown(name)}: not a usable path ({reason}): check the path and its permissions") from None


def missing_path(path: Path, name: str, what: str) -> SourceError:
    """The error for a path that does not exist: a dangling or looping symlink is named as such."""
    with contextlib.suppress(OSError, ValueError):
        if path.is_symlink():
            return SourceError(f"{shown(name)}: a symbolic link that leads nowhere (a loop, or a missing target)")
    return SourceError(f"{shown(name)}: {what}")


@dataclass(slots=True)
class Frame:
    image: np.ndarray  # BGR uint8
    time: float
    index: int
    mirrored: bool = False  # flipped left-right on the way in (`m`, --mirror)
    still: int | None = None  # which still this shows (counts up as a folder moves on); None for video and cameras


class FrameSource(Protocol):
    name: str
    live: bool  # frames come in real time (a camera, the live demo); a camera may fail transiently
    fps: float

    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended (or a live one failed)."""

    def reopen(self) -> bool:
        """Try to reopen after a failure; True when frames flow again."""

    def close(self) -> None: ...
