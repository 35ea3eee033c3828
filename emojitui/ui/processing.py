"""The processing thread: newest frame -> engine -> a bounded-rate update for the screen.

It never waits on the UI: updates are posted at most `ui_hz` times a second (a queued one is
replaced by a newer one), and capture runs on its own thread, so neither a slow terminal nor
slow inference builds latency. The pure parts (timelines, rates) are testable without it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from textual.message import Message

from emojitui.engine.engine import Engine, FrameResult
from emojitui.sources.capture import LatestFrameCapture
from emojitui.ui.messages import FrameUpdate, ProcessingFailed, SourceEnded

TIMELINE_STEP_S = 1.0
TIMELINE_LENGTH = 240
FORGET_AFTER_S = 30.0


class Timelines:
    """Per face, the shown label sampled every `step` seconds of source time."""

    def __init__(self, step: float = TIMELINE_STEP_S, length: int = TIMELINE_LENGTH) -> None:
        self.step = step
        self._samples: defaultdict[int, deque[str]] = defaultdict(lambda: deque(maxlen=length))
        self._next: dict[int, float] = {}

    def add(self, result: FrameResult) -> None:
        now = result.frame.time
        for face in result.faces:
            if now >= self._next.get(face.id, now):
                self._samples[face.id].append(face.label)
                self._next[face.id] = now + self.step
        for gone in [i for i, due in self._next.items() if now - due > FORGET_AFTER_S]:
            del self._next[gone], self._samples[gone]  # faces long gone: keep memory flat

    def snapshot(self) -> dict[int, list[str]]:
        return {face: list(samples) for face, samples in self._samples.items()}


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
    """Pulls frames from `capture`, runs `engine`, posts `FrameUpdate`s through `post`."""

    def __init__(
        self, engine: Engine, capture: LatestFrameCapture, post: Callable[[Message], object], ui_hz: float = 10.0
    ) -> None:
        super().__init__(name="emojitui-processing", daemon=True)
        self.engine, self.capture, self.post = engine, capture, post
        self.interval = 1.0 / ui_hz
        self.paused = threading.Event()
        self._stopping = threading.Event()
        self.timelines = Timelines()
        self.rate = RateMeter()
        self.last_result: FrameResult | None = None
        self.latency_ms = 0.0  # moving average: detection frames and tracking frames mixed
        self.lock = threading.Lock()  # held while the engine runs: snapshots read consistent state

    def run(self) -> None:
        last_post = 0.0
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
                with self.lock:
                    result = self.engine.process(frame)
                    self.last_result = result
                    self.timelines.add(result)
                fps = self.rate.tick(time.monotonic())
                self.latency_ms += 0.1 * (result.stages_ms["total"] - self.latency_ms)
                now = time.monotonic()
                if now - last_post >= self.interval or result.events:
                    last_post = now
                    self.post(self._update(result, fps))
        except Exception as exc:
            self.post(ProcessingFailed(f"processing stopped: {type(exc).__name__}: {exc}"))

    def _update(self, result: FrameResult, fps: float) -> FrameUpdate:
        history = self.engine.history
        summary = history.summary(result.frame.time) if history else None
        events = list(history.events[-12:]) if history else []
        return FrameUpdate(
            image=result.frame.image,
            faces=result.faces,
            summary=summary,
            events=events,
            timelines=self.timelines.snapshot(),
            fps=fps,
            latency_ms=self.latency_ms,
        )

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=2.0)
