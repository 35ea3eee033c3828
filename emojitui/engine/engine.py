"""The engine: frame -> faces -> expression probabilities -> smoothed labels -> label changes.

No UI and no history here: the session (`emojitui.session`) drives `Engine.process` for the
TUI and headless streams, records the changes it returns, and the benchmark drives it bare. Per
frame it does the least it can: one grey conversion, detection only every `detect_every`
frames, one classifier call for all faces, and no logging.

What a detection searches (`emojitui.engine.faces.Scan`): the whole frame when no face is
tracked, when `full_scan_seconds` of media time have passed since the last full scan, and on a
forced detection; otherwise only around the tracked faces, at the scale they need, for a
fraction of the cost. So a face in an empty scene is found within one detection period, and a
face that joins others within `full_scan_seconds` and one detection period (at the next
detection if it appears beside them).

Where detection runs is `EngineConfig.detection`:
- "inline": on the frame that needs it (the library default; tests and single frames).
- "thread": on its own thread (`emojitui.engine.detection`), for live sources. No frame waits:
  each is classified with the latest tracked boxes, a new detection starts when the detector is
  free and `detect_every` frames have passed, and its boxes are applied when they arrive.
- "pipelined": the same thread for files read as fast as they go. Frame k's detection runs
  while frames k+1.. are classified and is applied at frame k + `detect_every`, waiting for it
  only if it is not done, so the output does not depend on timing.
In both thread modes the first frame (and a forced detection) is detected inline, so a face in
view at the start is there from frame 0; `close()` joins the thread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from emojitui.engine.calibration import Calibration, CalibrationError
from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.detection import DetectionThread
from emojitui.engine.faces import Box, FaceDetector, FaceTracker, Scan, crop_face
from emojitui.engine.settings import EngineConfig
from emojitui.engine.smoothing import LabelSmoother
from emojitui.shared.emotions import DEFAULT_EMOJI, EmojiChoice
from emojitui.sources.base import Frame

DETECTION_MODES = ("inline", "thread", "pipelined")


@dataclass(slots=True)
class FaceResult:
    id: int
    box: Box
    probabilities: np.ndarray  # smoothed (and calibrated, when a calibration applies), in `labels` order
    raw_probabilities: np.ndarray  # this frame's model output: unsmoothed, uncalibrated
    label: str
    emoji: str
    confidence: float  # smoothed probability of `label`
    calibrated: bool = False

    def as_json(self, labels: list[str]) -> dict:
        return {
            "id": self.id,
            "box": self.box.as_ints(),
            "label": self.label,
            "emoji": self.emoji,
            "confidence": round(self.confidence, 4),
            "probabilities": {name: round(float(p), 4) for name, p in zip(labels, self.probabilities, strict=True)},
        }


@dataclass(frozen=True, slots=True)
class LabelChange:
    """A face's shown label changed this frame (or the face appeared)."""

    face: int
    label: str
    emoji: str
    confidence: float


@dataclass(slots=True)
class FrameResult:
    frame: Frame
    faces: list[FaceResult]
    changes: list[LabelChange]  # for the session to record; the engine keeps no history
    departed: list[int]  # ids of faces that left the view this frame
    stages_ms: dict[str, float]


class Engine:
    """Holds the detector, tracker, classifier and per-face smoothers; returns each frame's changes."""

    def __init__(
        self,
        classifier: ExpressionClassifier,
        config: EngineConfig | None = None,
        emoji: dict[str, EmojiChoice] | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.classifier = classifier
        self.detector = FaceDetector(self.config.detect_width)
        self.tracker = FaceTracker()
        self.emoji = emoji or dict(DEFAULT_EMOJI)
        self._smoothers: dict[int, LabelSmoother] = {}
        self._last_views: dict[int, dict[str, np.ndarray]] = {}  # each face's outputs by view, the frame before
        self._frames = 0
        self._last_detection = 0
        self._full_scan_at = -math.inf  # media time of the last full scan
        self._still_detector: FaceDetector | None = None
        self._mirrored = False
        self._still: int | None = None
        self._calibration: tuple[Calibration, int | None] | None = None  # one attribute: swapped atomically
        if self.config.detection not in DETECTION_MODES:
            raise ValueError(f"detection must be one of {DETECTION_MODES}, not {self.config.detection!r}")
        self._worker: DetectionThread | None = None
        self._submitted = 0  # frame index of the last frame handed to the detection thread
        self._started = False  # a first (inline) detection has run
        self.model_choice = None  # the tier choice (emojitui.engine.tiers.TierChoice) when the CLI made one

    @property
    def labels(self) -> list[str]:
        return self.classifier.labels

    def emoji_for(self, label: str) -> str:
        return self.emoji[label].main

    @property
    def calibration(self) -> Calibration | None:
        return self._calibration[0] if self._calibration else None

    @property
    def calibrated_face(self) -> int | None:
        """The face id the calibration applies to; None: every face."""
        return self._calibration[1] if self._calibration else None

    def set_calibration(self, calibration: Calibration | None, face: int | None = None) -> None:
        """Apply `calibration` to face `face` (None: every face) from the next frame on, whose label then
        shows at once (its smoothing starts again); None clears it."""
        if calibration is not None and not calibration.fits(self.labels):
            raise CalibrationError(
                f"the calibration is for classes {list(calibration.labels)}, the model has {self.labels}"
            )
        before = self._calibration
        self._calibration = (calibration, face) if calibration is not None else None
        for state in (before, self._calibration):
            if state is not None:
                for track, smoother in self._smoothers.items():
                    if state[1] in (None, track):
                        smoother.restart()

    def _calibrate(self, face: int, probabilities: np.ndarray) -> tuple[np.ndarray, bool]:
        state = self._calibration
        if state is None or (state[1] is not None and state[1] != face):
            return probabilities, False
        return state[0].apply(probabilities), True

    def process(self, frame: Frame, force_detect: bool = False) -> FrameResult:
        started = time.perf_counter()
        grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        if frame.mirrored != self._mirrored:  # `m` pressed: the same faces, on the other side
            self.tracker.mirror(grey.shape[1])
            self._mirrored = frame.mirrored
            if self._worker is not None:
                self._worker.discard()  # a detection in flight saw the unflipped picture
        left_with_still: list[int] = []
        if frame.still is not None and frame.still != self._still:  # another photo: other people
            left_with_still = self._new_scene()
            force_detect = True  # detected inline, at once: nothing in flight belongs to this photo
        self._still = frame.still
        if self.config.detection != "inline" and self._started and not force_detect:
            tracks, detect = self._track_with_thread(grey, frame.time)
        else:
            detect = force_detect or not self._started or self._frames % max(1, self.config.detect_every) == 0
            if detect:
                scan = self._scan(grey, frame.time, force_detect)
                if scan.full:
                    self._full_scan_at = frame.time
                boxes = self.detector.detect(grey, scan)
                tracks = self.tracker.update(boxes, self._frames - self._last_detection)
                self._last_detection = self._submitted = self._frames
                self._started = True
            else:
                tracks = self.tracker.predict()
        detected = time.perf_counter()
        size = self.classifier.input_size
        crops = (
            np.stack(
                [
                    crop_face(grey, t.box.fer_crop_box(self.config.crop_scale, self.config.crop_shift_up), size)
                    for t in tracks
                ]
            )
            if tracks
            else np.zeros((0, size[1], size[0]), np.uint8)
        )
        probabilities = self._classify(frame, tracks, crops)
        classified = time.perf_counter()
        faces, changes, departed = self._smooth(tracks, probabilities, frame.time)
        departed = left_with_still + departed
        self._frames += 1
        finished = time.perf_counter()
        return FrameResult(
            frame,
            faces,
            changes,
            departed,
            {
                "detect": (detected - started) * 1000,
                "classify": (classified - detected) * 1000,
                "smooth": (finished - classified) * 1000,
                "total": (finished - started) * 1000,
                "detected": float(detect),
            },
        )

    def _classify(self, frame: Frame, tracks, crops: np.ndarray) -> np.ndarray:
        """Mirror averaging at one model pass a face a video frame: a frame classifies each face in
        one view (seen, then mirrored on the next frame) and averages it with the face's other view
        from the frame before, so every frame's output is a two-view mean, one view a frame late,
        at any frame rate (docs/model-history.md has the measure). A face's first frame gets both
        views; stills and `--no-flip-average` run as the classifier is set, one invoke."""
        classify = self.classifier.classify
        if not self.classifier.flip_average or frame.still is not None:
            self._last_views.clear()
            return classify(crops)
        last = self._last_views
        if any(t.id not in last for t in tracks):  # a new face: both views now, each kept for the next frame
            views = {"seen": classify(crops, "seen"), "mirrored": classify(crops, "mirrored")}
            outputs = (views["seen"] + views["mirrored"]) / 2
        else:
            view, other = ("mirrored", "seen") if self._frames % 2 else ("seen", "mirrored")
            views = {view: classify(crops, view)}
            outputs = (views[view] + np.array([last[t.id][other] for t in tracks])) / 2 if tracks else views[view]
        self._last_views = {t.id: {name: out[i] for name, out in views.items()} for i, t in enumerate(tracks)}
        return outputs

    def _new_scene(self) -> list[int]:
        """Nothing carries over to a new still: no tracked box, no smoothing state. Returns the
        faces of the previous still, which left with it."""
        self.tracker.reset()
        if self._worker is not None:
            self._worker.discard()  # a detection in flight saw the previous photo
        left = list(self._smoothers)
        self._smoothers.clear()
        self._last_views.clear()
        return left

    def _scan(self, grey: np.ndarray, now: float, full: bool = False) -> Scan:
        """The whole frame when asked, when nothing is tracked or a full scan is due; else around the tracks."""
        height, width = grey.shape[:2]
        boxes = [track.box for track in self.tracker.tracks]
        if full or not boxes or not 0 <= now - self._full_scan_at < self.config.full_scan_seconds:
            return self.detector.full_scan(width, height)
        return self.detector.around(boxes, width, height)

    def _track_with_thread(self, grey: np.ndarray, now: float):
        """Tracks for this frame from the detection thread's latest boxes; hands it this frame when due."""
        if self._worker is None:
            self._worker = DetectionThread(self.detector)
            self._worker.start()
        due = self._frames - self._submitted >= max(1, self.config.detect_every)
        pipelined = self.config.detection == "pipelined"  # wait at the due frame, never before: deterministic
        done = (self._worker.wait() if due else None) if pipelined else self._worker.take()
        if done is not None:
            index, boxes = done
            tracks = self.tracker.update(boxes, index - self._last_detection)
            self._last_detection = index
        else:
            tracks = self.tracker.predict()
        if due:
            scan = self._scan(grey, now)
            if self._worker.submit(self._frames, grey, scan):
                self._submitted = self._frames
                if scan.full:
                    self._full_scan_at = now
        return tracks, done is not None

    @property
    def detection_thread(self) -> DetectionThread | None:
        """The detection thread, once the first threaded frame started it."""
        return self._worker

    def close(self) -> None:
        """Stop and join the detection thread (when there is one); the engine can start a new one later."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def _smooth(self, tracks, probabilities, now: float) -> tuple[list[FaceResult], list[LabelChange], list[int]]:
        faces, changes = [], []
        live_ids = {t.id for t in tracks}
        departed = [i for i in self._smoothers if i not in live_ids]
        for gone in departed:
            del self._smoothers[gone]
        for track, probs in zip(tracks, probabilities, strict=True):
            smoother = self._smoothers.setdefault(track.id, LabelSmoother(self.config.smoothing))
            corrected, calibrated = self._calibrate(track.id, probs)
            smoothed, index, changed = smoother.update(corrected, now)
            label = self.labels[index]
            face = FaceResult(
                track.id,
                track.box,
                smoothed.copy(),
                probs,
                label,
                self.emoji_for(label),
                float(smoothed[index]),
                calibrated,
            )
            faces.append(face)
            if changed:
                changes.append(LabelChange(track.id, label, face.emoji, face.confidence))
        return faces, changes, departed

    def classify_still(self, image: np.ndarray) -> list[FaceResult]:
        """One image on its own: detect at full quality, no smoothing history."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if self._still_detector is None:
            # Stills have no frame budget: a larger detection size also finds small faces.
            self._still_detector = FaceDetector(max(800, self.config.detect_width), upsample=1)
        boxes = self._still_detector.detect(grey)
        if not boxes:
            return []
        size = self.classifier.input_size
        crops = np.stack(
            [crop_face(grey, b.fer_crop_box(self.config.crop_scale, self.config.crop_shift_up), size) for b in boxes]
        )
        results = []
        for number, (box, raw) in enumerate(zip(boxes, self.classifier.classify(crops), strict=True), start=1):
            probs, calibrated = self._calibrate(number, raw)
            index = int(np.argmax(probs))
            label = self.labels[index]
            results.append(
                FaceResult(number, box, probs, raw, label, self.emoji_for(label), float(probs[index]), calibrated)
            )
        return results
