"""Warm start from a shipped int8 `.tflite`: rebuild a trainable Keras model from its weights.

The export folds each batch norm into its convolution, so the file holds (kernel, bias) pairs.
They are dequantised into a model of the same architecture and batch norm is re-inflated from
data: for every convolution, the mean and variance of its output on training images become the
moving statistics, and gamma and beta are chosen so the layer passes `conv + bias` through
unchanged. The rebuilt model then matches the file at inference and, because the statistics are
the data's own, also in training mode, so a new learning-rate cycle starts from the shipped
model's accuracy instead of from scratch (hours on a 2-core CPU).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

STAT_IMAGES = 4096


class WarmStartError(RuntimeError):
    """The file cannot seed this architecture; the message says why."""


def folded_weights(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(op, float kernel in Keras layout, float bias) for each CONV_2D and FULLY_CONNECTED, in order."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise WarmStartError(f"{path} is not a TFLite model: {exc}") from None
    interpreter.allocate_tensors()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the public API does not expose the graph
        if op["op_name"] not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        kernel = _dequantised(interpreter, details[op["inputs"][1]])
        bias = _dequantised(interpreter, details[op["inputs"][2]])
        # TFLite keeps (out, kh, kw, in) and (out, in); Keras wants (kh, kw, in, out) and (in, out).
        kernel = kernel.transpose(1, 2, 3, 0) if op["op_name"] == "CONV_2D" else kernel.T
        found.append((op["op_name"], kernel, bias))
    return found


def _dequantised(interpreter, detail: dict) -> np.ndarray:
    values = interpreter.get_tensor(detail["index"]).astype(np.float32)
    quant = detail["quantization_parameters"]
    scales = np.asarray(quant["scales"], np.float32)
    if scales.size == 0:
        return values
    zeros = np.asarray(quant["zero_points"], np.float32)
    axis = quant["quantized_dimension"]
    shape = [1] * values.ndim
    if scales.size > 1:
        shape[axis] = scales.size
    return (values - zeros.reshape(shape)) * scales.reshape(shape)


def load_into(model: keras.Model, path: Path, images: np.ndarray) -> None:
    """Set `model`'s weights from the int8 file at `path`, re-inflating batch norm on `images`."""
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    weights = folded_weights(path)
    wanted = [layer.kernel.shape for layer in convs + dense]
    given = [kernel.shape for _, kernel, _ in weights]
    if [tuple(s) for s in wanted] != [tuple(s) for s in given]:
        raise WarmStartError(f"{path} does not match the recipe's architecture: layers {given}, expected {wanted}")
    norms = [_batch_norm_after(model, conv) for conv in convs]
    for conv, norm, (_, kernel, bias) in zip(convs, norms, weights, strict=False):
        conv.kernel.assign(kernel)
        # Pass-through first (x + bias), so the statistics below see the file's own activations.
        norm.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.ones_like(bias) - norm.epsilon])
    _, kernel, bias = weights[-1]
    dense[0].set_weights([kernel, bias])
    probe = keras.Model(model.input, [conv.output for conv in convs])
    sample = images[: min(len(images), STAT_IMAGES)][..., None].astype(np.float32)
    outputs = probe.predict(sample, batch_size=256, verbose=0)
    for norm, output, (_, _, bias) in zip(norms, outputs, weights, strict=False):
        mean = output.mean(axis=(0, 1, 2))
        var = output.var(axis=(0, 1, 2))
        norm.set_weights([np.sqrt(var + norm.epsilon), mean + bias, mean, var])


def _batch_norm_after(model: keras.Model, conv: keras.layers.Layer) -> keras.layers.BatchNormalization:
    index = model.layers.index(conv)
    follower = model.layers[index + 1]
    if not isinstance(follower, keras.layers.BatchNormalization):
        raise WarmStartError(f"layer {conv.name} is not followed by batch norm")
    return follower
