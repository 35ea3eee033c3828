"""Neutral calibration: a personal correction that makes one person's resting face read neutral.

Pure math, no files (the session layer saves and loads it). From about two seconds of a
resting face's raw probabilities we take their mean, `rest`, and compare it with what the
model gives a typical neutral face, `TYPICAL_NEUTRAL`. The correction adds, to every frame's
log-probabilities, a damped share of the offset between the two:

    corrected ∝ p * exp(damping * (log typical - log rest))

With damping 1 the resting face would read exactly like a typical neutral face; with 0.7 (the
default, measured in `docs/calibration.md` with `python -m bench.calibration`: the smallest
damping that makes 99% of resting faces read neutral) it lands most of the way there, in log
space, while a real smile or a real frown, far from rest, mostly keeps its label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emojitui.shared.errors import UserError

# For a model whose card does not carry its own `typical_neutral` (the export writes it): the
# accurate student's mean output on FER-2013 PublicTest neutral faces (607 faces, flip-averaged;
# `python -m bench.calibration`, 2026-12-04). By class name, so any model with these classes can use it.
TYPICAL_NEUTRAL: dict[str, float] = {
    "angry": 0.0953,
    "disgust": 0.0372,
    "fear": 0.0896,
    "happy": 0.111,
    "sad": 0.1562,
    "surprise": 0.054,
    "neutral": 0.4567,
}
DEFAULT_DAMPING = 0.7  # measured: docs/calibration.md
CALIBRATION_SECONDS = 2.0
MIN_FRAMES = 3
_FLOOR = 1e-4  # probabilities are clipped here before logs: no class is ever erased entirely
_MOST_OFFSET = 2 * math.log(1 / _FLOOR)  # what `derive_calibration` can make: floored logs, centred


class CalibrationError(UserError, ValueError):
    """Calibration data that cannot be used (no frames, other classes than the model's)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """A correction in log-probability space for one model's classes."""

    labels: tuple[str, ...]
    offsets: tuple[float, ...]  # added to each class's log-probability
    resting: tuple[float, ...]  # the mean raw probabilities it was made from
    frames: int
    damping: float = DEFAULT_DAMPING
    model_sha256: str = ""

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Corrected probabilities for (C,) or (N, C) input, each row summing to 1."""
        if probabilities.size == 0:
            return probabilities
        logs = np.log(np.clip(probabilities.astype(np.float64), _FLOOR, 1.0)) + np.asarray(self.offsets)
        logs -= logs.max(axis=-1, keepdims=True)
        corrected = np.exp(logs)
        return (corrected / corrected.sum(axis=-1, keepdims=True)).astype(np.float32)

    def fits(self, labels: list[str] | tuple[str, ...]) -> bool:
        return tuple(labels) == self.labels

    @property
    def resting_array(self) -> np.ndarray:
        return np.asarray(self.resting, np.float32)

    @property
    def resting_label(self) -> str:
        """What the resting face read before the correction."""
        return self.labels[int(np.argmax(self.resting))]

    def as_dict(self) -> dict:
        return {
            "labels": list(self.labels),
            "offsets": {name: round(v, 6) for name, v in zip(self.labels, self.offsets, strict=True)},
            "resting": {name: round(v, 6) for name, v in zip(self.labels, self.resting, strict=True)},
            "frames": self.frames,
            "damping": self.damping,
            "model_sha256": self.model_sha256,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """The inverse of `as_dict`; raises CalibrationError (with what is wrong) on anything else."""
        try:
            labels = tuple(str(name) for name in data["labels"])
            offsets = tuple(float(data["offsets"][name]) for name in labels)
            resting = tuple(float(data["resting"][name]) for name in labels)
            calibration = cls(
                labels, offsets, resting, int(data["frames"]), float(data["damping"]), str(data["model_sha256"])
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:  # Overflow: int(Infinity)
            raise CalibrationError(f"missing or malformed field {exc}") from None
        if not labels or not all(np.isfinite(calibration.offsets)) or not all(np.isfinite(calibration.resting)):
            raise CalibrationError("offsets must be finite numbers, one per class")
        if max(abs(v) for v in calibration.offsets) > _MOST_OFFSET or not all(0 <= v <= 1 for v in calibration.resting):
            raise CalibrationError(
                f"offsets must lie within +-{_MOST_OFFSET:.1f}, resting probabilities within 0..1 (as `c` writes them)"
            )
        return calibration


def typical_neutral(labels: list[str] | tuple[str, ...], measured: dict[str, float] | None = None) -> np.ndarray:
    """The model's own typical neutral output (`measured`, from its card) or else `TYPICAL_NEUTRAL`,
    in `labels` order (a class it does not know gets the floor)."""
    known = measured or TYPICAL_NEUTRAL
    target = np.array([max(known.get(name, _FLOOR), _FLOOR) for name in labels], np.float64)
    return target / target.sum()


def derive_calibration(
    resting_probabilities: np.ndarray,
    labels: list[str] | tuple[str, ...],
    damping: float = DEFAULT_DAMPING,
    target: np.ndarray | None = None,
    model_sha256: str = "",
) -> Calibration:
    """The correction from (N, C) raw probabilities of a resting face (N >= 1)."""
    rows = np.asarray(resting_probabilities, np.float64).reshape(-1, len(labels))
    if len(rows) == 0:
        raise CalibrationError("no frames of a face to calibrate on")
    if "neutral" not in labels:
        raise CalibrationError("the model has no neutral class to calibrate towards")
    if not 0.0 <= damping <= 1.0:
        raise CalibrationError("damping must be between 0 and 1")
    rest = np.clip(rows.mean(axis=0), _FLOOR, 1.0)
    goal = np.clip(typical_neutral(labels) if target is None else np.asarray(target, np.float64), _FLOOR, 1.0)
    offsets = damping * (np.log(goal) - np.log(rest))
    offsets -= offsets.mean()  # only differences matter; centred, they read more easily in the file
    return Calibration(
        tuple(labels),
        tuple(float(v) for v in offsets),
        tuple(float(v) for v in rows.mean(axis=0)),
        len(rows),
        damping,
        model_sha256,
    )
