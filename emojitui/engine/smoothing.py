"""Temporal smoothing: steady labels on a steady face, real changes within half a second.

Probabilities go through an exponential moving average with a time constant (so behaviour
does not depend on the frame rate), and the shown label only switches when another class
leads the current one by `margin` for `dwell` seconds. Defaults are justified by
`tests/test_smoothing.py` on a real sequence: no flicker, a step change shown in < 0.5 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SmoothingConfig:
    time_constant: float = 0.15  # seconds for the EMA to cover 63% of a step
    margin: float = 0.10  # lead (in probability) another class needs over the shown one
    dwell: float = 0.10  # seconds that lead must hold before the label switches


class LabelSmoother:
    """Smoothing state for one face."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.config = config
        self.probabilities: np.ndarray | None = None
        self.label_index: int = -1
        self._last_time: float | None = None
        self._challenger: int = -1
        self._challenger_since: float = 0.0

    def restart(self) -> None:
        """Forget the average: the readings' scale changed (a calibration made or cleared), so the
        next frame is taken as it is and its label shown at once (a still gets no second frame)."""
        self.probabilities, self._challenger = None, -1

    def update(self, probabilities: np.ndarray, now: float) -> tuple[np.ndarray, int, bool]:
        """Fold in one frame's probabilities; returns (smoothed, shown label index, changed)."""
        if self.probabilities is None or self._last_time is None:
            shown = self.label_index
            self.probabilities = probabilities.astype(np.float32).copy()
            self.label_index = int(np.argmax(probabilities))
            self._last_time = now
            return self.probabilities, self.label_index, self.label_index != shown
        dt = max(0.0, now - self._last_time)
        self._last_time = now
        tau = self.config.time_constant
        alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-dt / tau)
        self.probabilities += alpha * (probabilities - self.probabilities)
        leader = int(np.argmax(self.probabilities))
        if leader == self.label_index:
            self._challenger = -1
            return self.probabilities, self.label_index, False
        lead = self.probabilities[leader] - self.probabilities[self.label_index]
        if lead < self.config.margin:
            self._challenger = -1
            return self.probabilities, self.label_index, False
        if leader != self._challenger:
            self._challenger, self._challenger_since = leader, now
        if now - self._challenger_since >= self.config.dwell:
            self.label_index, self._challenger = leader, -1
            return self.probabilities, self.label_index, True
        return self.probabilities, self.label_index, False
