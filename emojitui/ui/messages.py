"""Messages from the processing thread to the app, each a small dataclass-like Message."""

from __future__ import annotations

import numpy as np
from textual.message import Message

from emojitui.engine.engine import FaceResult
from emojitui.session.history import EmotionEvent, SessionSummary


class FrameUpdate(Message):
    """The newest processed frame and session state; a newer one replaces a queued one."""

    def __init__(
        self,
        image: np.ndarray | None,
        faces: list[FaceResult],
        summary: SessionSummary,
        events: list[EmotionEvent],
        timelines: dict[int, list[str]],
        fps: float,
        latency_ms: float,
        calibration: str = "",
        note: str = "",
    ) -> None:
        super().__init__()
        self.image, self.faces, self.summary, self.events = image, faces, summary, events
        self.timelines, self.fps, self.latency_ms = timelines, fps, latency_ms
        self.calibration = calibration  # the session's calibration state for the status bar ("" for none)
        self.note = note  # a calibration that just finished or failed

    def can_replace(self, message: Message) -> bool:
        """Textual drops this update for a newer one queued behind it, unless it carries a note (shown once)."""
        return isinstance(message, FrameUpdate) and not self.note


class SourceStatus(Message):
    """Something to tell the user about the source (camera lost, reconnected)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SourceEnded(Message):
    """The video or folder has finished; the app stays open with the last results."""


class ProcessingFailed(Message):
    """The processing thread hit an error; shown in the app, which stays up."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
