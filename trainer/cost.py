"""`python -m trainer cost RECIPE...`: a recipe's network measured before training it.

Multiply-adds, parameters and the int8 file's median single-face latency in LiteRT (one thread,
XNNPACK), from untrained weights calibrated on noise: latency depends on the shapes, not on what
was learnt, so a shape can be chosen for a CPU in a minute instead of after hours of training.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from trainer.recipe import Recipe


def measure(recipe: Recipe, repeats: int = 300) -> dict:
    """MACs, parameters, int8 bytes and median latency (ms) of the recipe's network."""
    from trainer.export import convert_to_int8, median_latency_ms
    from trainer.model import multiply_adds
    from trainer.train import recipe_model

    model = recipe_model(dataclasses.replace(recipe, mixed_precision=False))  # float32, as export converts

    calibration = np.random.default_rng(0).integers(0, 256, (64, 48, 48)).astype(np.uint8)
    tflite = convert_to_int8(model, calibration)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "candidate.tflite"
        path.write_bytes(tflite)
        latency = median_latency_ms(path, repeats)
    return {
        "multiply_adds": multiply_adds(model),
        "parameters": int(model.count_params()),
        "file_bytes": len(tflite),
        "latency_ms_median_1_thread": round(latency, 3),
    }


def cost_command(names: list[str]) -> int:
    for name in names:
        figures = measure(Recipe.named(name))
        print(
            f"{name}: {figures['multiply_adds'] / 1e6:.1f}M multiply-adds, {figures['parameters']:,} parameters, "
            f"{figures['file_bytes'] / 1024:.0f} KiB int8, {figures['latency_ms_median_1_thread']:.3f} ms a face"
        )
    return 0
