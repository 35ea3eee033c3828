"""The `Session`: one run of the engine over a source, as the user sees and keeps it.

It owns the engine and the history: `process(frame)` runs the engine, records the label changes
the engine returns as history events, and samples each face's label into a timeline; `close()`
writes the summary, once, however many times it is called (the TUI's quit, an unmount, a
signal, headless `finally`). Both the TUI and headless `stream` drive a Session.

    session = Session(engine, history, live=source.live)
    step = session.process(frame)      # SessionFrame: .result (FrameResult), .events, .faces, .frame
    session.current_summary()          # SessionSummary up to the last frame
    session.recent_events(12)          # the newest EmotionEvents
    session.timelines.snapshot()       # {face id: [label per second, oldest first]}
    summary = session.close()          # idempotent; `session.summary` afterwards
    session.start_calibration(face_id)  # `c`: countdown, 2 s of that face, then applied and saved
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from emojitui.engine.engine import Engine, FaceResult, FrameResult
from emojitui.session.calibration import CalibrationRun, CalibrationStore
from emojitui.session.history import EmotionEvent, SessionHistory, SessionSummary
from emojitui.sources.base import Frame

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


@dataclass(slots=True)
class SessionFrame:
    """One processed frame: the engine's result and the history events it caused."""

    result: FrameResult
    events: list[EmotionEvent]
    note: str = ""  # a calibration that just finished or failed: worth telling the user now

    @property
    def frame(self) -> Frame:
        return self.result.frame

    @property
    def faces(self) -> list[FaceResult]:
        return self.result.faces

    @property
    def stages_ms(self) -> dict[str, float]:
        return self.result.stages_ms


class Session:
    """The engine, the history and the timelines of one run; thread-safe `process` and `close`."""

    def __init__(
        self,
        engine: Engine,
        history: SessionHistory | None = None,
        *,
        live: bool = False,
        calibration_store: CalibrationStore | None = None,
    ) -> None:
        self.engine = engine
        self.calibration_store = calibration_store  # None: calibrations are not saved
        self.calibration_run: CalibrationRun | None = None
        self.calibration_not_saved = ""  # why the last calibration could not be saved, if it could not
        self._calibration_for_all = True
        self.history = history if history is not None else SessionHistory(None, 0.0)
        self.live = live  # live sources close at the wall clock, files at their last frame's time
        self.timelines = Timelines()
        self.last: SessionFrame | None = None
        self.summary: SessionSummary | None = None
        self._last_time = self.history.started
        self._lock = threading.Lock()  # never close the history under a record() in progress

    @property
    def labels(self) -> list[str]:
        return self.engine.labels

    def emoji_table(self) -> dict[str, str]:
        """Each class's main emoji."""
        return {name: choice.main for name, choice in self.engine.emoji.items()}

    @property
    def problem(self) -> str:
        """Why the history stopped being saved (disk full...), or ""."""
        return self.history.problem

    @property
    def closed(self) -> bool:
        return self.summary is not None

    def process(self, frame: Frame, force_detect: bool = False) -> SessionFrame:
        """Run the engine on `frame` and record what changed."""
        with self._lock:
            result = self.engine.process(frame, force_detect)
            now = frame.time
            for face in result.departed:
                self.history.face_left(now, face)
            events = [self.history.record(now, c.face, c.label, c.emoji, c.confidence) for c in result.changes]
            self.timelines.add(result)
            self._last_time = now
            self.last = SessionFrame(result, events, self._calibration_step(result))
            return self.last

    def shown_again(self, frame: Frame) -> None:
        """A still's repeat, not processed again: its time counts all the same (the summary's length
        and each emotion's seconds; a photo looked at for a minute is a minute, not 0 s)."""
        with self._lock:
            if self.summary is None:
                self._last_time = max(self._last_time, frame.time)

    # --- neutral calibration ----------------------------------------------------------------

    def start_calibration(self, face: int, *, all_faces: bool = True, countdown: float | None = None) -> None:
        """Calibrate on face `face` from the next frames; applied to every face, or only to it."""
        store = self.calibration_store
        options = {} if countdown is None else {"countdown": countdown}
        with self._lock:
            self.calibration_run = CalibrationRun(
                face,
                self.labels,
                model_sha256=store.sha256 if store else "",
                target=self.engine.classifier.neutral_target,
                **options,
            )
            self._calibration_for_all = all_faces

    def clear_calibration(self) -> bool:
        """Stop applying the calibration and delete the saved one; True when there was one."""
        with self._lock:
            self.calibration_run = None
            had = self.engine.calibration is not None
            self.engine.set_calibration(None)
            if self.calibration_store is not None:
                had = self.calibration_store.clear() or had
            return had

    @property
    def calibrating(self) -> bool:
        """A calibration is counting down or collecting: it needs frames, a still's repeats too."""
        run = self.calibration_run
        return run is not None and not run.finished

    @property
    def calibration_state(self) -> str:
        """For a status bar: the countdown, "calibrating", "CALIBRATED" (with the face when only one), or ""."""
        run = self.calibration_run
        if run is not None and not run.finished:
            return run.message
        if self.engine.calibration is None:
            return ""
        face = self.engine.calibrated_face
        return "CALIBRATED" if face is None else f"CALIBRATED #{face}"

    def _calibration_step(self, result: FrameResult) -> str:
        run = self.calibration_run
        if run is None or run.finished:
            return ""
        run.feed(result.faces, result.frame.time)
        if run.state == "failed":
            return run.message
        if run.state != "done" or run.calibration is None:
            return ""
        self.engine.set_calibration(run.calibration, None if self._calibration_for_all else run.face)
        if self.calibration_store is None:
            return run.message
        try:
            path = self.calibration_store.save(run.calibration)
        except OSError as exc:
            self.calibration_not_saved = f"{exc.strerror or exc}"
            return f"{run.message}; not saved ({self.calibration_not_saved})"
        return f"{run.message}; saved to {path}"

    def current_summary(self) -> SessionSummary:
        return self.history.summary(self._last_time)

    def recent_events(self, count: int) -> list[EmotionEvent]:
        return list(self.history.events[-count:])

    def close(self, now: float | None = None) -> SessionSummary:
        """Write the summary and close the history file; later calls return the same summary."""
        with self._lock:
            if self.summary is None:
                if now is None:
                    now = time.monotonic() if self.live else self._last_time
                self.engine.close()  # joins the detection thread
                self.summary = self.history.close(now)
            return self.summary
