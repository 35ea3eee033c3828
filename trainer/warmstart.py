"""Warm start from a shipped int8 `.tflite`: rebuild a trainable Keras model from its weights.

The export folds each batch norm into its convolution, so the file holds (kernel, bias) pairs.
They are dequantised into a model of the same architecture and batch norm is re-inflated from
data: for every convolution, the mean and variance of its output on training images become the
moving statistics, and gamma and beta are chosen so the layer passes `conv + bias` through
unchanged. The rebuilt model then matches the file at inference and, because the statistics are
the data's own, also in training mode, so a new learning-rate cycle starts from the shipped
model's accuracy instead of from scratch (hours on a 2-core CPU).

Layers are matched by name, so the target may be deeper or wider than the source (Net2Net): an
extra same-width convolution starts as an identity, and a wider layer copies some of its filters,
with the next layer's weights for each copy divided among them. A full-resolution stage put in
front of the stem starts by passing the image through (as x and -x, which survive the ReLUs) and
its other filters start with no say in the stem (`full_resolution_grown`). A `.keras` source of
another shape goes the same way, folded first.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

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
    return found


def folded_keras_weights(source: keras.Model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The same mapping from a `.keras` model: each convolution with its batch norm folded in."""
    found = {}
    for layer in source.layers:
        if isinstance(layer, keras.layers.Conv2D):
            norm = _batch_norm_after(source, layer)
            gamma, beta, mean, var = (np.asarray(w) for w in norm.get_weights())
            scale = gamma / np.sqrt(var + norm.epsilon)
            found[layer.name] = (np.asarray(layer.kernel) * scale, beta - mean * scale)
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = layer.get_weights()
            found[layer.name] = (kernel, bias)
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


def load_into(
    model: keras.Model, source: Path | dict[str, tuple[np.ndarray, np.ndarray]], images: np.ndarray
) -> list[str]:
    """Set `model`'s weights from an int8 file (or folded weights), re-inflating batch norm on `images`.

    A convolution the source lacks, with as many inputs as outputs, is added as an identity
    (Net2Net-style deepening: after a ReLU it changes nothing until training moves it), and a
    layer with more filters is widened (`widened`); their names are returned. Any other
    difference in architecture is an error.
    """
    weights = folded_weights(source) if isinstance(source, Path) else dict(source)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    front = full_resolution_grown(weights, {layer.name: layer for layer in convs})
    widened_weights = widened(weights, [(layer.name, tuple(layer.kernel.shape)) for layer in convs + dense])
    mismatch = WarmStartError(
        f"{source if isinstance(source, Path) else 'the source'} does not match the recipe's architecture: "
        f"layers {_shapes(weights)}, expected {_shapes({layer.name: (layer.kernel, None) for layer in convs + dense})}"
    )
    grown, norms, biases = [], [], []
    for conv in convs:
        kernel, bias = weights.pop(conv.name, (None, None))
        if kernel is None:
            kernel, bias = _identity(conv), np.zeros(conv.filters, np.float32)
            if kernel is None:
                raise mismatch
            grown.append(conv.name)
        if tuple(kernel.shape) != tuple(conv.kernel.shape):
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
    grown += front + widened_weights
    probe = keras.Model(model.input, [conv.output for conv in convs])
    sample = images[: min(len(images), STAT_IMAGES)][..., None].astype(np.float32)
    outputs = probe.predict(sample, batch_size=256, verbose=0)
    for norm, output, bias in zip(norms, outputs, biases, strict=True):
        mean = output.mean(axis=(0, 1, 2))
        var = output.var(axis=(0, 1, 2))
        norm.set_weights([np.sqrt(var + norm.epsilon), mean + bias, mean, var])
    return grown


def widened(
    weights: dict[str, tuple[np.ndarray, np.ndarray]], targets: list[tuple[str, tuple[int, ...]]], seed: int = 0
) -> list[str]:
    """Widen `weights` in place to the target kernel shapes (Net2WiderNet); returns the layers widened.

    `targets` lists the model's convolutions and dense layers in order. A layer with more outputs
    than its source repeats randomly chosen filters (with a little noise so the copies can part
    ways); the next layer the source has divides its weights for each repeated channel among the
    copies, so the network computes the same function. Layers the source lacks (identities to be
    grown) pass the widened channels through unchanged.
    """
    rng = np.random.default_rng(seed)
    changed, pending = [], None  # pending: the input-channel map left by the last widened layer
    for name, shape in targets:
        if name not in weights:
            continue
        kernel, bias = weights[name]
        if pending is not None and kernel.shape[-2] == len(np.unique(pending)):
            counts = np.bincount(pending)
            kernel = np.take(kernel, pending, axis=-2) / counts[pending][:, None]
        pending = None
        extra = shape[-1] - kernel.shape[-1]
        if extra > 0 and kernel.shape[:-1] == shape[:-1]:
            pending = np.concatenate([np.arange(kernel.shape[-1]), rng.integers(0, kernel.shape[-1], extra)])
            kernel, bias = np.take(kernel, pending, axis=-1), bias[pending]
            noise = rng.standard_normal(kernel[..., -extra:].shape) * kernel.std() * 0.01
            kernel[..., -extra:] += noise.astype(np.float32)
            changed.append(name)
        weights[name] = (kernel.astype(np.float32), bias.astype(np.float32))
    return changed


def full_resolution_grown(
    weights: dict[str, tuple[np.ndarray, np.ndarray]], convs: dict[str, keras.layers.Conv2D]
) -> list[str]:
    """Seed a full-resolution stage the source lacks (in place); returns the layers changed.

    The first new convolution's filters 0 and 1 become x and -x (centre taps +1 and -1), its other
    filters keep their random start; later new convolutions become identities (`load_into`). The
    stem reads x as before: k * relu(x) - k * relu(-x) = k * x, and zero weights for the rest, so the
    network computes the source's function and training decides what the new filters add.
    """
    first = convs.get("conv0_1")
    if first is None or "conv0_1" in weights or "stem" not in weights:
        return []
    if "stem" not in convs:
        raise WarmStartError("a full-resolution stage is seeded through the stem: the recipe needs stem > 0")
    kernel, bias = weights["stem"]
    inputs = convs["stem"].kernel.shape[-2]
    if kernel.shape[-2] != 1 or inputs < 2 or first.kernel.shape[-2] != 1:
        raise WarmStartError(f"a full-resolution stage needs a one-channel source stem, got {kernel.shape}")
    kh, kw = first.kernel.shape[:2]
    seeded = np.array(first.kernel, dtype=np.float32)
    seeded[..., :2] = 0.0
    seeded[kh // 2, kw // 2, 0, 0], seeded[kh // 2, kw // 2, 0, 1] = 1.0, -1.0
    weights["conv0_1"] = (seeded, np.zeros(first.filters, np.float32))
    # The source's number of stem filters: `widened` widens them afterwards if the recipe asks.
    stem = np.zeros((*kernel.shape[:2], inputs, kernel.shape[-1]), np.float32)
    stem[..., 0, :], stem[..., 1, :] = kernel[..., 0, :], -kernel[..., 0, :]
    weights["stem"] = (stem, bias)
    return ["conv0_1", "stem"]


def _identity(conv: keras.layers.Conv2D) -> np.ndarray | None:
    """An identity kernel for a same-width convolution after a ReLU, else None."""
    kh, kw, inputs, outputs = conv.kernel.shape
    if inputs != outputs or conv.strides != (1, 1) or conv.name == "stem":
        return None
    kernel = np.zeros((kh, kw, inputs, outputs), np.float32)
    kernel[kh // 2, kw // 2] = np.eye(inputs, dtype=np.float32)
    return kernel


def _shapes(weights: dict) -> list[str]:
    return [f"{name}{tuple(kernel.shape)}" for name, (kernel, _) in weights.items()]


def _batch_norm_after(model: keras.Model, conv: keras.layers.Layer) -> keras.layers.BatchNormalization:
    index = model.layers.index(conv)
    follower = model.layers[index + 1]
    if not isinstance(follower, keras.layers.BatchNormalization):
        raise WarmStartError(f"layer {conv.name} is not followed by batch norm")
    return follower
