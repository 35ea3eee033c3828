"""The expression classifier: the int8 TFLite model run by LiteRT, all faces in one call.

Labels and the input spec come from the model card beside the file; quantisation uses the
tensors' own scale and zero point, so any compatible int8, uint8 or float model works. By default
each face is classified twice, as seen and mirrored, and the two averaged: expressions are
left-right symmetric, the model's errors on the two views are not, and the second view adds
one model pass per face (`just bench` reports both; README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emojitui.shared.errors import UserError
from emojitui.shared.model_card import ModelCard, ModelCardError, card_path_for, read_card
from emojitui.shared.native import quiet_native_stderr


class ModelError(UserError):
    """A missing, corrupt or incompatible model file."""


class ExpressionClassifier:
    """`classify(crops)` maps (N, H, W) uint8 face crops to (N, classes) probabilities."""

    def __init__(self, model_path: Path, threads: int = 1, flip_average: bool = True) -> None:
        self.path = model_path
        self.flip_average = flip_average
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
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(f"LiteRT cannot be loaded ({_first_line(exc)}): reinstall with `just setup-app`") from None
        try:
            with quiet_native_stderr():
                self._interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"model file {model_path} is not a usable TFLite model ({_first_line(exc)})") from None
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"model file {model_path} must have one input and one output")
        self._input, self._output = inputs[0], outputs[0]
        spec = self.card.input
        if spec.channels != 1:
            raise ModelError(f"model file {model_path} wants {spec.channels}-channel input; emojitui feeds grey faces")
        expected = (spec.height, spec.width, spec.channels)
        if tuple(self._input["shape"][1:]) != expected or self._output["shape"][-1] != len(self.card.labels):
            raise ModelError(
                f"model file {model_path} does not match its card: input {self._input['shape'].tolist()}, "
                f"output {self._output['shape'].tolist()}, card says {expected} and {len(self.card.labels)} labels"
            )
        self._batch = int(self._input["shape"][0])
        self._one_at_a_time = not self._resizes_to(2)  # a model built for batch 1 still works, one face per call
        self._in_scale, self._in_zero = self._input["quantization"]
        self._out_scale, self._out_zero = self._output["quantization"]

    @property
    def labels(self) -> list[str]:
        return self.card.labels

    @property
    def input_size(self) -> tuple[int, int]:
        return self.card.input.width, self.card.input.height

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """All crops (and their mirror images, with `flip_average`) in one invoke."""
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if not self.flip_average:
            return self._probabilities(crops)
        both = self._probabilities(np.concatenate([crops, crops[:, :, ::-1]]))
        return (both[: len(crops)] + both[len(crops) :]) / 2

    def _resizes_to(self, count: int) -> bool:
        """Resize the input to `count` faces; False (and the old size kept) when the model cannot batch."""
        old = self._batch
        try:
            with quiet_native_stderr():
                self._interpreter.resize_tensor_input(self._input["index"], [count, *self._input["shape"][1:]])
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError):
            self._interpreter.resize_tensor_input(self._input["index"], [old, *self._input["shape"][1:]])
            self._interpreter.allocate_tensors()
            return False
        self._batch = count
        return True

    def _probabilities(self, crops: np.ndarray) -> np.ndarray:
        """One invoke over (N, H, W) crops; the input is resized when the batch size changes."""
        count = len(crops)
        if self._one_at_a_time and count != self._batch:  # fixed batch: in chunks of it, the last padded
            chunks = []
            for start in range(0, count, self._batch):
                part = crops[start : start + self._batch]
                padded = np.concatenate([part, np.repeat(part[-1:], self._batch - len(part), axis=0)])
                chunks.append(self._probabilities(padded)[: len(part)])
            return np.concatenate(chunks)
        if count != self._batch:
            self._resizes_to(count)
        x = crops.reshape(count, *self._input["shape"][1:])
        self._interpreter.set_tensor(self._input["index"], self._quantise(x))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        if self._output["dtype"] in (np.int8, np.uint8) and self._out_scale:
            probs = (raw.astype(np.float32) - self._out_zero) * self._out_scale
        else:
            probs = raw.astype(np.float32)
        probs = np.clip(probs, 0.0, None)
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-6)

    def _quantise(self, x: np.ndarray) -> np.ndarray:
        dtype = self._input["dtype"]
        if dtype == np.uint8 and self._in_scale == 1.0 and self._in_zero == 0:
            return x.astype(np.uint8, copy=False)
        values = x.astype(np.float32)
        if dtype in (np.int8, np.uint8):
            info = np.iinfo(dtype)
            return np.clip(np.round(values / self._in_scale + self._in_zero), info.min, info.max).astype(dtype)
        return values.astype(dtype)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
