"""The one LiteRT runtime: load a .tflite classifier, quantise, invoke, dequantise, time.

Used by the app's expression classifier, the trainer's evaluation and export checks and the
benchmarks, so the interpreter is set up and the tensors are (de)quantised in one place.
NumPy only at import; LiteRT (`ai_edge_litert`) is imported when a model is loaded, and OpenCV
only by `probabilities` when images need resizing to the model's input.

    model = LiteRTModel(path, threads=1)      # LiteRTError (a ValueError) when it cannot be used
    model.input_shape                         # (batch, height, width, channels) as built
    model.input_dtype, model.classes          # e.g. numpy.int8, 7
    model.run(x)                              # (N, H, W[, C]) model-unit values -> (N, classes) float32
    model.probabilities(images, pixels="raw") # (N, H, W) uint8 grey -> (N, classes) probabilities
    model.median_latency_ms(repeats=200)      # one face per invoke, median milliseconds

`run` quantises with the input tensor's own scale and zero point (so int8, uint8 and float
models all work), resizes the batch dimension to N when the model allows it and otherwise runs
in chunks of its fixed batch, padding the last; outputs are dequantised to float32.
`probabilities` applies the pixel scaling a model was trained with (`PIXEL_SCALES`: raw 0..255,
unit 0..1, signed -1..1), repeats grey into as many channels as the model takes, and returns
probabilities: the outputs as they are when they already are some (clipped and renormalised),
else their softmax (a model that ends in logits).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from emojitui.shared.native import quiet_native_stderr

PIXEL_SCALES = {"raw": (1.0, 0.0), "unit": (1 / 255.0, 0.0), "signed": (1 / 127.5, -1.0)}


class LiteRTError(ValueError):
    """A model file LiteRT cannot load or run as a one-input, one-output image classifier."""


class LiteRTUnavailable(LiteRTError):
    """The LiteRT package itself does not import (not installed, or no wheel for this machine)."""


class LiteRTModel:
    """A loaded .tflite classifier; see the module docstring for the API."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = Path(path)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise LiteRTUnavailable(first_line(exc)) from None
        try:
            with quiet_native_stderr():
                self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise LiteRTError(
                f"model file {self.path} is not a usable TFLite model ({first_line(exc)}): pass a whole .tflite file"
            ) from None
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise LiteRTError(f"model file {self.path} must have one input and one output")
        self._input, self._output = inputs[0], outputs[0]
        shape = self._input["shape"]
        if len(shape) != 4 or shape[3] not in (1, 3):
            raise LiteRTError(
                f"model file {self.path}: its input is {shape.tolist()}, not [batch, height, width, 1 or 3]"
            )
        self.input_shape: tuple[int, int, int, int] = tuple(int(v) for v in shape)  # type: ignore[assignment]
        self.input_dtype = np.dtype(self._input["dtype"])
        self.classes = int(self._output["shape"][-1])
        self._batch = self.input_shape[0]
        self._in_scale, self._in_zero = self._input["quantization"]
        self._out_scale, self._out_zero = self._output["quantization"]
        self.batches = self._resize_batch(2)  # a model built for batch 1 still works, in chunks of its batch

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height), OpenCV's order."""
        return self.input_shape[2], self.input_shape[1]

    @property
    def channels(self) -> int:
        return self.input_shape[3]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W) or (N, H, W, C) values in the model's units -> (N, classes) dequantised float32."""
        count = len(batch)
        if count == 0:
            return np.zeros((0, self.classes), np.float32)
        if not self.batches and count != self._batch:  # fixed batch: in chunks of it, the last padded
            chunks = []
            for start in range(0, count, self._batch):
                part = batch[start : start + self._batch]
                padded = np.concatenate([part, np.repeat(part[-1:], self._batch - len(part), axis=0)])
                chunks.append(self.run(padded)[: len(part)])
            return np.concatenate(chunks)
        if count != self._batch:
            self._resize_batch(count)
        x = batch.reshape(count, *self.input_shape[1:])
        self._interpreter.set_tensor(self._input["index"], self._quantise(x))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        if self._output["dtype"] in (np.int8, np.uint8) and self._out_scale:
            return (raw.astype(np.float32) - self._out_zero) * self._out_scale
        return raw.astype(np.float32)

    def probabilities(self, images: np.ndarray, pixels: str = "raw") -> np.ndarray:
        """(N, H, W) uint8 grey images (resized when not the model's size) -> (N, classes) probabilities."""
        if pixels not in PIXEL_SCALES:
            raise LiteRTError(f"pixel scaling {pixels!r} is not one of {', '.join(PIXEL_SCALES)}")
        if len(images) and images.shape[1:3] != self.input_shape[1:3]:
            import cv2

            images = np.stack([cv2.resize(i, self.input_size, interpolation=cv2.INTER_AREA) for i in images])
        scale, offset = PIXEL_SCALES[pixels]
        x = images if (scale, offset) == (1.0, 0.0) else images.astype(np.float32) * scale + offset
        if self.channels != 1:
            x = np.repeat(x[..., None], self.channels, axis=-1)
        return to_probabilities(self.run(x))

    def median_latency_ms(self, repeats: int = 200, batch: int = 1, seed: int = 0) -> float:
        """Median milliseconds of one `run` over `batch` random faces (after one warm-up run)."""
        faces = np.random.default_rng(seed).integers(0, 256, (batch, *self.input_shape[1:]), dtype=np.uint8)
        self.run(faces)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.run(faces)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    def _resize_batch(self, count: int) -> bool:
        """Resize the input to `count`; False (and the old size kept) when the model cannot batch."""
        rest = list(self.input_shape[1:])
        try:
            with quiet_native_stderr():
                self._interpreter.resize_tensor_input(self._input["index"], [count, *rest])
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError):
            self._interpreter.resize_tensor_input(self._input["index"], [self._batch, *rest])
            self._interpreter.allocate_tensors()
            return False
        self._batch = count
        return True

    def _quantise(self, x: np.ndarray) -> np.ndarray:
        dtype = self.input_dtype
        if dtype == np.uint8 and self._in_scale == 1.0 and self._in_zero == 0:
            return x.astype(np.uint8, copy=False)
        values = x.astype(np.float32)
        if dtype in (np.int8, np.uint8):
            info = np.iinfo(dtype)
            return np.clip(np.round(values / self._in_scale + self._in_zero), info.min, info.max).astype(dtype)
        return values.astype(dtype)


def to_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Rows that already are probabilities (up to quantisation), renormalised; otherwise a softmax."""
    if len(outputs) == 0:
        return outputs
    if (outputs < -0.05).any() or not (np.abs(outputs.sum(axis=1) - 1.0) <= 0.05).all():  # NaN: a softmax too
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    probs = np.clip(outputs, 0.0, None)
    return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-6)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
