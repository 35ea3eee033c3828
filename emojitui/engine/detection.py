"""Face detection off the frame path: dlib HOG on its own thread, one frame at a time.

The engine hands the thread a grey frame when it is idle (`submit`) and picks up finished
detections when they are there (`take`), never waiting for one in live use: every frame is
classified with the latest tracked boxes. dlib releases the GIL while it detects, so on two or
more cores detection uses a spare core; on one core it costs what inline detection did.
A detector exception is kept and raised by the next `take` or `wait` in the engine's thread as a
`DetectionFailed`, so it surfaces as an error instead of a thread that silently died.

    worker = DetectionThread(FaceDetector(400)); worker.start()
    worker.submit(frame_index, grey, scan)  # False while a detection is in flight (scan None: full)
    worker.take()                           # (frame_index, boxes) once, or None
    worker.wait(timeout)                    # block for the one in flight (files: deterministic results)
    worker.stop()                           # joins the thread
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque

import numpy as np

from emojitui.engine.faces import Box, FaceDetector, Scan
from emojitui.shared.errors import UserError


class DetectionFailed(UserError):
    """The face detector raised on its thread; the message names the exception."""

    exit_code = 1


class DetectionThread(threading.Thread):
    """Runs `detector.detect` on submitted frames, one at a time, newest result kept."""

    def __init__(self, detector: FaceDetector) -> None:
        super().__init__(name="emojitui-detection", daemon=True)
        self.detector = detector
        self._condition = threading.Condition()
        self._job: tuple[int, int, np.ndarray, Scan | None] | None = None  # (generation, frame index, grey, scan)
        self._done: tuple[int, int, list[Box]] | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._stopping = False
        self.generation = 0  # bumped by `discard`: results of older jobs are dropped
        self.detections = 0
        self._times_ms: deque[float] = deque(maxlen=200)  # recent detections' CPU time on this thread

    @property
    def busy(self) -> bool:
        """A frame is queued or being detected."""
        with self._condition:
            return self._busy or self._job is not None

    def submit(self, index: int, grey: np.ndarray, scan: Scan | None = None) -> bool:
        """Queue `grey` (frame `index`; searched as `scan` says) unless a detection is already queued or running."""
        with self._condition:
            self._raise_error()
            if self._busy or self._job is not None or self._stopping:
                return False
            self._job = (self.generation, index, grey, scan)
            self._condition.notify_all()
            return True

    def take(self) -> tuple[int, list[Box]] | None:
        """The finished detection (frame index, boxes), once; None when there is none new."""
        with self._condition:
            self._raise_error()
            return self._pop()

    def wait(self, timeout: float = 10.0) -> tuple[int, list[Box]] | None:
        """Block until the detection in flight finishes (or fails, or `timeout` passes)."""
        with self._condition:
            self._condition.wait_for(lambda: self._error or self._done or not self._pending(), timeout)
            self._raise_error()
            return self._pop()

    def discard(self) -> None:
        """A new scene: whatever is in flight belongs to the old one."""
        with self._condition:
            self.generation += 1
            self._job, self._done = None, None

    def stop(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._stopping or self._job is not None)
                if self._stopping:
                    return
                generation, index, grey, scan = self._job
                self._job, self._busy = None, True
            started = time.thread_time()  # CPU time: on a shared core, wall time would count the frame loop too
            try:
                boxes = self.detector.detect(grey, scan)
            except Exception as exc:
                with self._condition:
                    self._error, self._busy = exc, False
                    self._condition.notify_all()
                return
            self._times_ms.append((time.thread_time() - started) * 1000)
            with self._condition:
                self._busy = False
                if generation == self.generation:
                    self._done = (generation, index, boxes)
                    self.detections += 1
                self._condition.notify_all()

    def median_ms(self) -> float | None:
        """Median CPU milliseconds of the recent detections (None before the first)."""
        return statistics.median(self._times_ms) if self._times_ms else None

    def mean_ms(self) -> float | None:
        """Mean CPU milliseconds of the recent detections: full scans and re-findings mixed, what they cost together."""
        return statistics.fmean(self._times_ms) if self._times_ms else None

    def _pending(self) -> bool:
        return self._busy or self._job is not None

    def _pop(self) -> tuple[int, list[Box]] | None:
        done, self._done = self._done, None
        return None if done is None else (done[1], done[2])

    def _raise_error(self) -> None:
        if self._error is not None:
            exc = self._error
            raise DetectionFailed(f"face detection failed: {type(exc).__name__}: {exc}")
