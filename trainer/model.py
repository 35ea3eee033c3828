"""The expression classifier: a compact VGG-style CNN sized for a single CPU core.

Plain 3x3 convolutions, batch norm and max-pooling quantise cleanly to int8 and run fast in
XNNPACK; most of the compute sits at 12x12 and 6x6 where it buys the most accuracy. The model
takes raw 0..255 grey pixels and normalises inside, so the TFLite input is the raw crop.
The `separable` network swaps each 3x3 convolution after the stem for a depthwise 3x3 and a
pointwise 1x1: the fast tier, for CPUs whose int8 convolutions have no dot-product instructions.
Backend-neutral Keras (`keras.layers`) so the same code trains on TensorFlow or JAX.
"""

from __future__ import annotations

import keras
from keras import layers

from emojitui.shared.emotions import CLASS_NAMES

# (filters, convolutions) per stage; each stage ends in a 2x2 max-pool.
DEFAULT_STAGES: tuple[tuple[int, int], ...] = ((32, 1), (64, 1), (128, 2), (256, 2))


def build_model(
    stages: tuple[tuple[int, int], ...] = DEFAULT_STAGES,
    size: int = 48,
    dropout: float = 0.4,
    stem: int = 0,
    weight_decay: float = 0.0,
    seed: int = 1234,
    network: str = "vgg",
) -> keras.Model:
    """Build the classifier; outputs logits for CLASS_NAMES (softmax is added at export)."""
    regulariser = keras.regularizers.L2(weight_decay) if weight_decay else None
    block = _separable_bn_relu if network == "separable" else _conv_bn_relu
    inputs = keras.Input((size, size, 1), name="face")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(inputs)
    if stem:
        # A strided stem: full-resolution feature maps cost most of the training time on a
        # CPU (memory-bound BN/ReLU/pool) for little accuracy at 48x48.
        x = layers.Conv2D(
            stem,
            3,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=keras.initializers.HeNormal(seed=seed),
            name="stem",
        )(x)
        x = layers.BatchNormalization(name="bn_stem")(x)
        x = layers.ReLU(name="relu_stem")(x)
    for stage, (filters, convs) in enumerate(stages, start=1):
        for index in range(1, convs + 1):
            x = block(x, filters, f"{stage}_{index}", seed + 10 * stage + index, regulariser)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(
        len(CLASS_NAMES),
        kernel_regularizer=regulariser,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        dtype="float32",  # logits and loss stay float32 when the rest computes in bfloat16
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name="emotion")


def _conv_bn_relu(x, filters: int, suffix: str, seed: int, regulariser, size: int = 3) -> keras.KerasTensor:
    """A same-padded square convolution, batch norm and ReLU: `conv<suffix>`, `bn<suffix>`, `relu<suffix>`."""
    x = layers.Conv2D(
        filters,
        size,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=seed),
        kernel_regularizer=regulariser,
        name=f"conv{suffix}",
    )(x)
    x = layers.BatchNormalization(name=f"bn{suffix}")(x)
    return layers.ReLU(name=f"relu{suffix}")(x)


def _separable_bn_relu(x, filters: int, suffix: str, seed: int, regulariser) -> keras.KerasTensor:
    """A depthwise 3x3 (`dw<suffix>`) and a pointwise 1x1 (`conv<suffix>`), each with batch norm and ReLU."""
    x = layers.DepthwiseConv2D(
        3,
        padding="same",
        use_bias=False,
        depthwise_initializer=keras.initializers.HeNormal(seed=seed + 5000),
        name=f"dw{suffix}",
    )(x)
    x = layers.BatchNormalization(name=f"bn_dw{suffix}")(x)
    x = layers.ReLU(name=f"relu_dw{suffix}")(x)
    return _conv_bn_relu(x, filters, suffix, seed, regulariser, size=1)


def multiply_adds(model: keras.Model) -> int:
    """Multiply-accumulates per image for the conv and dense layers (what dominates latency)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):  # a subclass of Conv2D in some Keras versions
            _, h, w, channels = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * channels * kh * kw
        elif isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
