"""The expression classifier: the int8 TFLite model run by LiteRT, all faces in one call.

Labels and the input spec come from the model card beside the file; the shared LiteRT runtime
(`emojitui.shared.litert`) quantises with the tensors' own scale and zero point, so any
compatible int8, uint8 or float model works. By default
each face is classified as seen and mirrored, and the two averaged: expressions are
left-right symmetric, the model's errors on the two views are not. A still gets both views in
one invoke; a video's frames alternate them and the engine averages each with the frame
before's other view, so mirror averaging costs one model pass a face a frame (`just bench` reports both; README).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emojitui.engine.calibration import typical_neutral
from emojitui.shared.errors import UserError
from emojitui.shared.litert import LiteRTError, LiteRTModel, LiteRTUnavailable
from emojitui.shared.model_card import ModelCard, ModelCardError, card_path_for, read_card

VIEWS = ("both", "seen", "mirrored")


class ModelError(UserError):
    """A missing, corrupt or incompatible model file."""


class ExpressionClassifier:
    """`classify(crops)` maps (N, H, W) uint8 face crops to (N, classes) probabilities."""

    def __init__(self, model_path: Path, threads: int = 1, flip_average: bool = True) -> None:
        self.path = model_path
        self.flip_average = flip_average
        if model_path.is_dir():
            raise ModelError(f"model file {model_path} is a folder: pass the .tflite file inside it")
        if model_path.is_file() and not os.access(model_path, os.R_OK):
            raise ModelError(f"model file {model_path} cannot be read (permission denied): check its permissions")
        if not model_path.is_file():
            raise ModelError(
                f"model file {model_path} not found: pass --model PATH or set EMOJITUI_MODEL"
                " (in a checkout, `git checkout -- models/` restores the shipped one)"
            )
        try:
            self.card: ModelCard = read_card(card_path_for(model_path))
        except ModelCardError as exc:
            raise ModelError(f"{exc}") from None
        try:
            self.model = LiteRTModel(model_path, threads=threads)
        except LiteRTUnavailable as exc:
            raise ModelError(f"LiteRT cannot be loaded ({exc}): reinstall with `just setup-app`") from None
        except LiteRTError as exc:
            raise ModelError(str(exc)) from None
        spec = self.card.input
        if spec.channels != 1:
            raise ModelError(
                f"model file {model_path} wants {spec.channels}-channel input; emojitui feeds grey faces: "
                "pass a model with one input channel (`just train` makes them)"
            )
        expected = (spec.height, spec.width, spec.channels)
        if self.model.input_shape[1:] != expected or self.model.classes != len(self.card.labels):
            raise ModelError(
                f"model file {model_path} does not match its card: input {list(self.model.input_shape)}, "
                f"output {self.model.classes} classes, card says {expected} and {len(self.card.labels)} labels: "
                "pass the card exported with this model"
            )

    @property
    def labels(self) -> list[str]:
        return self.card.labels

    @property
    def neutral_target(self) -> np.ndarray:
        """What calibration pulls a resting face towards: this model's typical neutral output."""
        return typical_neutral(self.labels, self.card.typical_neutral)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.card.input.width, self.card.input.height

    def classify(self, crops: np.ndarray, view: str = "both") -> np.ndarray:
        """All crops in one invoke: with `flip_average`, each as seen and mirrored, averaged
        (`view` "both"), or in one view only ("seen" or "mirrored"; the engine alternates them
        over a video's frames and averages each with the other view of the frame before);
        without it, as seen."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        pixels = self.card.input.pixels
        if not self.flip_average or view == "seen":
            return self.model.probabilities(crops, pixels)
        if view == "mirrored":
            return self.model.probabilities(crops[:, :, ::-1], pixels)
        both = self.model.probabilities(np.concatenate([crops, crops[:, :, ::-1]]), pixels)
        return (both[: len(crops)] + both[len(crops) :]) / 2
