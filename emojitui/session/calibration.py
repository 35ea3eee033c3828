"""Neutral calibration as the user makes and keeps it: a countdown and two seconds of one face
(`CalibrationRun`), and the saved file, one per model (`CalibrationStore`).

The math is `emojitui.engine.calibration`. Files live in `$EMOJITUI_DATA_DIR/calibration`
(`~/.local/share/emojitui/calibration`), named after the model file's SHA-256, so a calibration
made with one model is never applied to another; written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from emojitui.engine.calibration import (
    CALIBRATION_SECONDS,
    MIN_FRAMES,
    Calibration,
    CalibrationError,
    derive_calibration,
)
from emojitui.engine.engine import FaceResult
from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.errors import UserError

COUNTDOWN_SECONDS = 3.0


def model_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CalibrationStore:
    """Where the calibration for one model file lives."""

    def __init__(self, folder: Path, model_path: Path) -> None:
        self.sha256 = model_sha256(model_path)
        self.path = folder / f"{model_path.stem}-{self.sha256[:16]}.json"

    def load(self) -> Calibration | None:
        """The saved calibration, None when there is none; a UserError when the file is unusable."""
        return load_calibration(self.path, self.sha256) if self.path.exists() else None

    def save(self, calibration: Calibration) -> Path:
        save_calibration(self.path, calibration)
        return self.path

    def clear(self) -> bool:
        """Delete the saved calibration; True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise UserError(f"cannot remove {self.path} ({exc.strerror or exc}): remove it by hand") from None
        return True


def save_calibration(path: Path, calibration: Calibration) -> None:
    write_text_atomic(path, json.dumps(calibration.as_dict(), indent=2) + "\n")


def load_calibration(path: Path, model_sha256: str = "") -> Calibration:
    """Read a calibration file; any problem is one UserError line that says what to do."""
    hint = "delete it, or press C in the app, then calibrate again"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"calibration file {path} not found") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad UTF-8 or JSON, a 5,000-digit number
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise UserError(f"calibration file {path} cannot be read ({reason}): {hint}") from None
    if not isinstance(data, dict):
        raise UserError(f"calibration file {path} is not a calibration: {hint}")
    try:
        calibration = Calibration.from_dict(data)
    except CalibrationError as exc:
        raise UserError(f"calibration file {path} is corrupt ({exc}): {hint}") from None
    if model_sha256 and calibration.model_sha256 and calibration.model_sha256 != model_sha256:
        raise UserError(f"calibration file {path} was made for another model: {hint}")
    return calibration


class CalibrationRun:
    """A countdown ("relax your face: 3, 2, 1"), then `seconds` of one face's raw probabilities.

    Fed every processed frame with its time; `state` is "countdown", "collecting", "done" or
    "failed" (the face left the view), and `message` says it for a screen or a terminal.
    """

    def __init__(
        self,
        face: int,
        labels: list[str],
        countdown: float = COUNTDOWN_SECONDS,
        seconds: float = CALIBRATION_SECONDS,
        damping: float | None = None,
        model_sha256: str = "",
        target: np.ndarray | None = None,
    ) -> None:
        self.face, self.labels, self.target = face, labels, target
        self.countdown, self.seconds = countdown, seconds
        self.damping, self.model_sha256 = damping, model_sha256
        self.state = "countdown"
        self.message = f"relax your face: {math.ceil(countdown)}" if countdown > 0 else "relax your face"
        self.calibration: Calibration | None = None
        self._started: float | None = None
        self._samples: list = []

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def feed(self, faces: list[FaceResult], now: float) -> None:
        if self.finished:
            return
        face = next((f for f in faces if f.id == self.face), None)
        if face is None:
            self.state, self.message = "failed", "calibration stopped: the face left the view; try again"
            return
        if self._started is None:
            self._started = now
        elapsed = now - self._started
        if elapsed < self.countdown:
            self.message = f"relax your face: {math.ceil(self.countdown - elapsed)}"
            return
        self.state, self.message = "collecting", "calibrating: keep still"
        self._samples.append(face.raw_probabilities)
        if elapsed >= self.countdown + self.seconds and len(self._samples) >= MIN_FRAMES:
            options = {} if self.damping is None else {"damping": self.damping}
            self.calibration = derive_calibration(
                self._samples, self.labels, target=self.target, model_sha256=self.model_sha256, **options
            )
            self.state = "done"
            self.message = (
                f"calibrated on {len(self._samples)} frames (resting face read {self.calibration.resting_label})"
            )
