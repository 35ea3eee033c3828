"""Capture on its own thread, always handing over the newest frame.

Stale frames are dropped, never queued, so slow processing cannot build latency. A live
camera that stops delivering is reported and reopened with back-off while the app runs on;
the end of a file is a clean finish. Files and stills are paced at their own frame rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import cv2

from emojitui.sources.base import Frame, FrameSource

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 8.0
RESYNC_S = 0.5  # a paced file this far behind the clock restarts its pacing instead of racing


class LatestFrameCapture(threading.Thread):
    """Reads `source` continuously; `latest()` returns the newest frame not yet taken."""

    def __init__(
        self,
        source: FrameSource,
        mirror: bool = False,
        pace: bool = True,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name="emojitui-capture", daemon=True)
        self.source, self.mirror, self.pace = source, mirror, pace
        self.on_status = on_status or (lambda message: None)
        self.finished = threading.Event()
        self.dropped = 0
        self.delivered = 0
        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._fresh = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True

    def run(self) -> None:
        clock_offset: float | None = None  # wall clock minus media time, for pacing files
        try:
            while not self._stopping.is_set():
                if self._paused.is_set():
                    self._stopping.wait(0.05)
                    continue
                frame = self.source.read()
                if frame is None:
                    if self.source.live and self._reconnect():
                        continue
                    break
                if self.mirror:
                    frame.image, frame.mirrored = cv2.flip(frame.image, 1), True
                if self.pace and not self.source.live:
                    delay = (clock_offset or 0.0) + frame.time - time.monotonic()
                    if clock_offset is None or delay < -RESYNC_S:
                        # First frame, or far behind (after a pause): play on from now, no fast-forward.
                        clock_offset, delay = time.monotonic() - frame.time, 0.0
                    if delay > 0 and self._stopping.wait(delay):
                        break
                with self._fresh:
                    if not self._taken:
                        self.dropped += 1
                    self._frame, self._taken = frame, False
                    self._fresh.notify_all()
        except Exception as exc:  # a failing driver ends the source, never the app
            self.on_status(f"{self.source.name} failed: {type(exc).__name__}: {exc}")
        finally:
            self.finished.set()
            with self._fresh:
                self._fresh.notify_all()
            self.source.close()  # here, so the source is never closed under a read in progress

    def _reconnect(self) -> bool:
        """Reopen a failed camera with exponential back-off until it works or we stop."""
        delay = BACKOFF_START_S
        while not self._stopping.is_set():
            self.on_status(f"{self.source.name} lost: reconnecting in {delay:.1f}s")
            if self._stopping.wait(delay):
                return False
            if self.source.reopen():
                self.on_status(f"{self.source.name} reconnected")
                return True
            delay = min(delay * 2, BACKOFF_MAX_S)
        return False

    def latest(self, timeout: float = 1.0) -> Frame | None:
        """The newest frame not yet taken; waits up to `timeout`; None at the end or timeout."""
        deadline = time.monotonic() + timeout
        with self._fresh:
            while self._taken:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.finished.is_set() and self._taken):
                    return None
                self._fresh.wait(remaining)
            self._taken = True
            self.delivered += 1
            return self._frame

    @property
    def ended(self) -> bool:
        """The source has finished and its last frame has been taken."""
        return self.finished.is_set() and self._taken

    def set_paused(self, paused: bool) -> None:
        (self._paused.set if paused else self._paused.clear)()

    def toggle_mirror(self) -> bool:
        self.mirror = not self.mirror
        return self.mirror

    def stop(self) -> None:
        """Ask the thread to finish; it closes the source itself (or here, if never started)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=2.0)
        elif self.ident is None:
            self.source.close()
