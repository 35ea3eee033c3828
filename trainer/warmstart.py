"""Fine-tune from a shipped int8 `.tflite`: rebuild a trainable Keras model of the same shape from its weights.

The export folds each batch norm into its convolution, so the file holds (kernel, bias) pairs.
They are dequantised into a model of the same architecture and batch norm is re-inflated from
data: for every convolution, the mean and variance of its output on training images become the
moving statistics, and gamma and beta are chosen so the layer passes `conv + bias` through
unchanged. The rebuilt model then matches the file at inference and, because the statistics are
the data's own, also in training mode, so a new learning-rate cycle starts from the shipped
model's accuracy instead of from scratch (hours on a 2-core CPU).

Layers are matched by name and must have the same shapes: a file of another network is an
error (the factory trains every network from scratch; fine-tuning keeps the shape).
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.model_card import ModelCardError, card_path_for, read_card

STAT_IMAGES = 4096


class WarmStartError(RuntimeError):
    """The file cannot seed this architecture; the message says why."""


# TFLite names a weight tensor after its Keras layer: ".../conv2_1_1/convolution" is conv2_1.
WEIGHT_NAME = re.compile(r"/(stem|conv\d+_\d+|logits)_\d+/(?:convolution|MatMul)$")


def folded_weights(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Layer name -> (float kernel in Keras layout, float bias) for each CONV_2D and FULLY_CONNECTED."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise WarmStartError(f"{path} is not a TFLite model: {exc}") from None
    interpreter.allocate_tensors()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    found = {}
    for op in interpreter._get_ops_details():  # the public API does not expose the graph
        if op["op_name"] not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        weight = details[op["inputs"][1]]
        name = WEIGHT_NAME.search(weight["name"])
        if name is None:
            raise WarmStartError(f"{path}: cannot tell which layer {weight['name']!r} belongs to")
        kernel = _dequantised(interpreter, weight)
        bias = _dequantised(interpreter, details[op["inputs"][2]])
        # TFLite keeps (out, kh, kw, in) and (out, in); Keras wants (kh, kw, in, out) and (in, out).
        kernel = kernel.transpose(1, 2, 3, 0) if op["op_name"] == "CONV_2D" else kernel.T
        found[name.group(1)] = (kernel, bias)
    if "logits" in found:  # train on the logits as trained: the export adds its offsets again
        kernel, bias = found["logits"]
        found["logits"] = (kernel, bias - exported_offsets(path))
    return found


def exported_offsets(path: Path) -> np.ndarray:
    """The `logit_offsets` the file's export added to its logits (from its card's recipe), in class order."""
    try:
        offsets = read_card(card_path_for(path)).recipe.get("logit_offsets") or {}
    except ModelCardError:
        offsets = {}  # a file without a readable card: nothing is known to have been added
    return np.array([float(offsets.get(name, 0.0)) for name in CLASS_NAMES], dtype=np.float32)


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


def load_into(model: keras.Model, source: Path | dict[str, tuple[np.ndarray, np.ndarray]], images: np.ndarray) -> None:
    """Set `model`'s weights from an int8 file (or folded weights), re-inflating batch norm on `images`.

    Any difference in architecture is an error, as is a network with depthwise convolutions
    (fine-tune those from their run's `.keras` instead).
    """
    weights = folded_weights(source) if isinstance(source, Path) else dict(source)
    if any(isinstance(layer, keras.layers.DepthwiseConv2D) for layer in model.layers):
        raise WarmStartError("a separable network fine-tunes from its run's .keras file, not from a .tflite")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    mismatch = WarmStartError(
        f"{source if isinstance(source, Path) else 'the source'} does not match the recipe's architecture: "
        f"layers {_shapes(weights)}, expected {_shapes({layer.name: (layer.kernel, None) for layer in convs + dense})}"
    )
    norms, biases = [], []
    for conv in convs:
        kernel, bias = weights.pop(conv.name, (None, None))
        if kernel is None or tuple(kernel.shape) != tuple(conv.kernel.shape):
            raise mismatch
        conv.kernel.assign(kernel)
        norm = _batch_norm_after(model, conv)
        # Pass-through first (x + bias), so the statistics below see the source's own activations.
        norm.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.ones_like(bias) - norm.epsilon])
        norms.append(norm)
        biases.append(bias)
    for layer in dense:
        kernel, bias = weights.pop(layer.name, (None, None))
        if kernel is None or tuple(kernel.shape) != tuple(layer.kernel.shape):
            raise mismatch
        layer.set_weights([kernel, bias])
    if weights:
        raise mismatch
    probe = keras.Model(model.input, [conv.output for conv in convs])
    sample = images[: min(len(images), STAT_IMAGES)][..., None].astype(np.float32)
    outputs = probe.predict(sample, batch_size=256, verbose=0)
    for norm, output, bias in zip(norms, outputs, biases, strict=True):
        output = np.asarray(output, dtype=np.float32)  # bfloat16 from a mixed-precision model: sum in float32
        mean = output.mean(axis=(0, 1, 2))
        var = output.var(axis=(0, 1, 2))
        norm.set_weights([np.sqrt(var + norm.epsilon), mean + bias, mean, var])


def _shapes(weights: dict) -> list[str]:
    return [f"{name}{tuple(kernel.shape)}" for name, (kernel, _) in weights.items()]


def _batch_norm_after(model: keras.Model, conv: keras.layers.Layer) -> keras.layers.BatchNormalization:
    index = model.layers.index(conv)
    follower = model.layers[index + 1]
    if not isinstance(follower, keras.layers.BatchNormalization):
        raise WarmStartError(f"layer {conv.name} is not followed by batch norm")
    return follower
