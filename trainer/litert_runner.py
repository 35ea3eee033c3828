"""Run a .tflite classifier over arrays of 48x48 faces with LiteRT (XNNPACK on).

The trainer's own small runner: the app has a per-frame classifier, but the trainer may not
import the app beyond `emojitui.shared`, and batch evaluation is a different job.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PIXEL_SCALES = {"raw": (1.0, 0.0), "unit": (1 / 255.0, 0.0), "signed": (1 / 127.5, -1.0)}


class TFLiteClassifier:
    """Loads a model once; `probabilities(images)` maps (N, H, W) uint8 to (N, classes)."""

    def __init__(self, path: Path, pixels: str = "raw", threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        shape = self.input["shape"]
        if len(shape) != 4 or shape[3] not in (1, 3):
            raise ValueError(f"its input is {list(shape)}, not [1, height, width, 1 or 3] (an image)")
        _, self.height, self.width, self.channels = shape
        self.scale, self.offset = PIXEL_SCALES[pixels]

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        if image.shape[:2] != (self.height, self.width):
            image = cv2.resize(image, (int(self.width), int(self.height)), interpolation=cv2.INTER_AREA)
        x = image.astype(np.float32) * self.scale + self.offset
        x = np.repeat(x[..., None], self.channels, axis=-1)
        dtype = self.input["dtype"]
        if dtype in (np.int8, np.uint8):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
        return x.astype(dtype)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        out = []
        for image in images:
            self.interpreter.set_tensor(self.input["index"], self._prepare(image)[None])
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.output["index"])[0]
            if self.output["dtype"] in (np.int8, np.uint8):
                scale, zero = self.output["quantization"]
                raw = (raw.astype(np.float32) - zero) * scale
            out.append(raw.astype(np.float32))
        probs = np.stack(out)
        if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=0.05):
            probs = _softmax(probs)
        return probs


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
