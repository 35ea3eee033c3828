"""The processing thread: newest frame -> session -> a bounded-rate update for the screen.

It never waits on the UI: updates are posted at most `ui_hz` times a second (a queued one is
replaced by a newer one), and capture runs on its own thread, so neither a slow terminal nor
slow inference builds latency. The session keeps the history and timelines; the rate meter is
a pure part, testable without the thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from textual.message import Message

from emojitui.session.session import Session, SessionFrame
from emojitui.sources.capture import LatestFrameCapture
from emojitui.ui.messages import FrameUpdate, ProcessingFailed, SourceEnded


class RateMeter:
    """Frames per second over a sliding window of recent frame times."""

    def __init__(self, window: int = 30) -> None:
        self._times: deque[float] = deque(maxlen=window)

    def tick(self, now: float) -> float:
        self._times.append(now)
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class ProcessingThread(threading.Thread):
    """Pulls frames from `capture`, runs them through `session`, posts `FrameUpdate`s through `post`."""

    def __init__(
        self, session: Session, capture: LatestFrameCapture, post: Callable[[Message], object], ui_hz: float = 10.0
    ) -> None:
        super().__init__(name="emojitui-processing", daemon=True)
        self.session, self.capture, self.post = session, capture, post
        self.interval = 1.0 / ui_hz
        self.paused = threading.Event()
        self._stopping = threading.Event()
        self.rate = RateMeter()
        self.latency_ms = 0.0  # moving average: detection frames and tracking frames mixed

    def run(self) -> None:
        last_post = 0.0
        # A still is processed once, not at the source's frame rate: again when it is mirrored or the
        # calibration changes (made, cleared), and on every repeat while a calibration needs frames.
        shown_still: tuple[int, bool, str] | None = None
        try:
            while not self._stopping.is_set():
                if self.paused.is_set():
                    self._stopping.wait(0.05)
                    continue
                frame = self.capture.latest(timeout=0.25)
                if frame is None:
                    if self.capture.ended:
                        self.post(SourceEnded())
                        return
                    continue
                if frame.still is not None:
                    still = (frame.still, frame.mirrored, self.session.calibration_state)
                    if still == shown_still and not self.session.calibrating:
                        self.session.shown_again(frame)
                        continue
                    shown_still = still
                result = self.session.process(frame)
                fps = self.rate.tick(time.monotonic())
                self.latency_ms += 0.1 * (result.stages_ms["total"] - self.latency_ms)
                now = time.monotonic()
                # a still's frame may be the last for a long time: it is always shown
                if now - last_post >= self.interval or result.events or result.note or frame.still is not None:
                    last_post = now
                    self.post(self._update(result, fps))
        except Exception as exc:
            self.post(ProcessingFailed(f"processing stopped: {type(exc).__name__}: {exc}"))

    @property
    def last_result(self) -> SessionFrame | None:
        """The newest processed frame."""
        return self.session.last

    def _update(self, result: SessionFrame, fps: float) -> FrameUpdate:
        return FrameUpdate(
            image=result.frame.image,
            faces=result.faces,
            summary=self.session.current_summary(),
            events=self.session.recent_events(12),
            timelines=self.session.timelines.snapshot(),
            fps=fps,
            latency_ms=self.latency_ms,
            calibration=self.session.calibration_state,
            note=result.note,
        )

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=2.0)
