"""The Python API: faces and their expressions from an image, a video, a folder or a camera.

    import emojitui

    for face in emojitui.analyze("photo.jpg"):          # or a BGR numpy array
        print(face.label, face.emoji, face.confidence, face.box)

    analyzer = emojitui.Analyzer()                      # keeps the model loaded
    for frame in analyzer.stream("clip.mp4"):           # smoothed over time, as the app shows
        print(frame.index, [f.label for f in frame.faces])

`emojitui --image` and `emojitui render` run through this module, so the command line and
your code give the same answers. No Textual, Rich or TensorFlow is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from emojitui.engine.calibration import Calibration, derive_calibration
from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.emoji_table import load_emoji_table
from emojitui.engine.engine import Engine, FaceResult
from emojitui.engine.settings import EngineConfig
from emojitui.engine.smoothing import SmoothingConfig
from emojitui.session.calibration import CalibrationStore, load_calibration
from emojitui.session.session import Session, SessionFrame
from emojitui.shared import locations
from emojitui.shared.errors import UserError
from emojitui.sources import FrameSource, open_source, read_image, to_bgr

if TYPE_CHECKING:
    from emojitui.shared.emotions import EmojiChoice

CalibrationSpec = Calibration | Literal["saved"] | str | os.PathLike | None
SourceSpec = FrameSource | str | int | os.PathLike


@dataclass(frozen=True, slots=True)
class Face:
    """One face: where it is and what it shows."""

    box: tuple[int, int, int, int]  # x, y, width, height in pixels of the image
    label: str  # the class shown: angry, disgust, fear, happy, sad, surprise or neutral
    emoji: str
    confidence: float  # the probability of `label`
    probabilities: dict[str, float]  # every class, by name
    id: int = 1  # stable across a stream's frames while the face stays in view
    calibrated: bool = False  # a neutral calibration was applied

    @classmethod
    def from_result(cls, result: FaceResult, labels: list[str]) -> Face:
        x, y, w, h = result.box.as_ints()
        probabilities = {name: float(p) for name, p in zip(labels, result.probabilities, strict=True)}
        return cls(
            (x, y, w, h), result.label, result.emoji, result.confidence, probabilities, result.id, result.calibrated
        )

    def as_json(self) -> dict:
        """What `emojitui --image --json` prints for a face."""
        return {
            "box": list(self.box),
            "label": self.label,
            "emoji": self.emoji,
            "confidence": round(self.confidence, 4),
            "probabilities": {name: round(p, 4) for name, p in self.probabilities.items()},
        }


@dataclass(frozen=True, slots=True)
class FrameFaces:
    """One frame of a stream and its faces."""

    index: int
    time: float  # seconds: media time for files, monotonic time for cameras
    faces: list[Face]
    image: np.ndarray = field(repr=False, compare=False)  # the frame (BGR), as classified


class Analyzer:
    """The model and the detector, loaded once for many images or streams.

    `model`: a .tflite file with its .json card (default: the shipped model). `calibration`: a
    `Calibration`, a calibration file, "saved" (yours for this model, made by `emojitui
    calibrate` or `c` in the app; none if there is none) or None.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        calibration: CalibrationSpec = None,
        threads: int = 1,
        flip_average: bool = True,
        detect_width: int = 400,
        detect_every: int = 3,
        smooth_time: float = 0.15,
        smooth_margin: float = 0.10,
        emoji: dict[str, EmojiChoice] | None = None,
    ) -> None:
        path = Path(model) if model is not None else locations.default_model_path()
        classifier = ExpressionClassifier(path, threads=threads, flip_average=flip_average)
        config = EngineConfig(
            detect_width=detect_width,
            detect_every=detect_every,
            smoothing=SmoothingConfig(time_constant=smooth_time, margin=smooth_margin),
        )
        self._setup(
            Engine(
                classifier,
                config,
                emoji or load_emoji_table(locations.config_path(), required=locations.config_named()),
            )
        )
        self.set_calibration(calibration)

    @classmethod
    def from_engine(cls, engine: Engine) -> Analyzer:
        """Around an engine already built (the command line builds one from its options)."""
        analyzer = cls.__new__(cls)
        analyzer._setup(engine)
        return analyzer

    def _setup(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def labels(self) -> list[str]:
        return self.engine.labels

    @property
    def calibration(self) -> Calibration | None:
        return self.engine.calibration

    def set_calibration(self, calibration: CalibrationSpec) -> None:
        """Apply a calibration to every face from now on (None: none)."""
        self.engine.set_calibration(resolve_calibration(calibration, self.engine.classifier.path))

    def calibrate(self, images: list[np.ndarray | str | os.PathLike]) -> Calibration:
        """A neutral calibration from photos (or frames) of one person's relaxed face: the largest
        face of each. Pass it to `set_calibration`, `Analyzer(calibration=...)` or `analyze`."""
        resting = []
        for image in images:
            faces = self.analyze_results(image)
            if faces:
                resting.append(max(faces, key=lambda f: f.box.w * f.box.h).raw_probabilities)
        if not resting:
            raise UserError("no face found in the images to calibrate on")
        return derive_calibration(np.stack(resting), self.labels, target=self.engine.classifier.neutral_target)

    def analyze(self, image: np.ndarray | str | os.PathLike) -> list[Face]:
        """Every face in one image (a BGR or grey array, or an image file), largest detector effort."""
        return [Face.from_result(r, self.labels) for r in self.analyze_results(image)]

    def analyze_results(self, image: np.ndarray | str | os.PathLike) -> list[FaceResult]:
        """`analyze` as the engine's own results (what snapshots draw)."""
        pixels = read_image(Path(image)) if not isinstance(image, np.ndarray) else to_bgr(image)
        return self.engine.classify_still(pixels)

    def stream(self, source: SourceSpec, *, mirror: bool | None = None) -> Iterator[FrameFaces]:
        """Each frame's faces, smoothed over time. The source is opened now (a bad one raises here)
        and closed when the loop ends, breaks or raises."""
        return self._faces(self.session_frames(source, mirror=mirror))

    def _faces(self, steps: Generator[SessionFrame]) -> Generator[FrameFaces]:
        try:
            for step in steps:
                faces = [Face.from_result(r, self.labels) for r in step.faces]
                yield FrameFaces(step.frame.index, step.frame.time, faces, step.frame.image)
        finally:
            steps.close()

    def session_frames(self, source: SourceSpec, *, mirror: bool | None = None) -> Generator[SessionFrame]:
        """`stream` as the session's frames (what `emojitui render` draws), with a fresh tracker and
        smoothing. The source is opened now (a bad one raises here) and closed when the loop ends."""
        opened = source if _is_source(source) else open_source(str(source), live_stills=False, demo_live=False)
        engine = Engine(self.engine.classifier, self.engine.config, self.engine.emoji)
        engine.set_calibration(self.engine.calibration, self.engine.calibrated_face)
        session = Session(engine, live=opened.live)
        flip = getattr(opened, "is_camera", False) if mirror is None else mirror
        return _run(opened, session, flip)


def _run(source: FrameSource, session: Session, mirror: bool) -> Generator[SessionFrame]:
    try:
        while (frame := source.read()) is not None:
            if mirror:
                frame.image, frame.mirrored = frame.image[:, ::-1].copy(), True
            yield session.process(frame)
    finally:
        source.close()
        session.close()


def _is_source(source: object) -> bool:
    return hasattr(source, "read") and hasattr(source, "close") and not isinstance(source, str | os.PathLike)


def resolve_calibration(spec: CalibrationSpec, model_path: Path) -> Calibration | None:
    """A Calibration from what the API and the command line accept (see `Analyzer`)."""
    if spec is None or isinstance(spec, Calibration):
        return spec
    if spec == "saved":
        return CalibrationStore(locations.calibration_dir(), model_path).load()
    return load_calibration(Path(spec))


_default: Analyzer | None = None


def analyze(image: np.ndarray | str | os.PathLike, *, calibration: CalibrationSpec = None) -> list[Face]:
    """Every face in one image, with the shipped model (loaded once and kept)."""
    global _default
    if _default is None:
        _default = Analyzer()
    if calibration is None:
        _default.set_calibration(None)
        return _default.analyze(image)
    analyzer = Analyzer.from_engine(Engine(_default.engine.classifier, _default.engine.config, _default.engine.emoji))
    analyzer.set_calibration(calibration)
    return analyzer.analyze(image)


def stream(
    source: SourceSpec, *, calibration: CalibrationSpec = None, mirror: bool | None = None
) -> Iterator[FrameFaces]:
    """Each frame's faces from a video, a folder, a camera (an index) or a FrameSource, smoothed;
    the source is closed when the loop ends, breaks or raises."""
    return Analyzer(calibration=calibration).stream(source, mirror=mirror)
