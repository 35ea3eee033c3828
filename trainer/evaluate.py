"""Evaluate a .tflite classifier on a split: metrics, terminal report, confusion-matrix PNG.

Works on any compatible model (a grey face in, 7 scores out), so peers can be measured with
the same code: labels come from the model card beside the file, else FER-2013 code order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.litert import LiteRTModel
from emojitui.shared.model_card import card_path_for, read_card
from emojitui.shared.output import error_line, terminal_safe
from trainer.data import Dataset, Split
from trainer.metrics import classification_report, format_report

CHUNK = 256  # faces per invoke: most of batching's gain, a few MB of activations


def model_labels(model: Path) -> list[str]:
    """Output order of a model: from its card when it has one (a broken card is a ModelCardError,
    as in the app), else FER-2013 code order."""
    card = card_path_for(model)
    return read_card(card).labels if card.is_file() else list(CLASS_NAMES)


def model_probabilities(model: Path, images: np.ndarray, pixels: str = "raw") -> np.ndarray:
    """(N, outputs) probabilities of a .tflite file for (N, H, W) uint8 faces, in the file's own output order.

    In chunks, so a whole training split never becomes one tensor of activations.
    """
    return chunked_probabilities(LiteRTModel(model), images, pixels)


def chunked_probabilities(runner: LiteRTModel, images: np.ndarray, pixels: str = "raw") -> np.ndarray:
    """`runner.probabilities` over `images` in chunks of CHUNK faces."""
    chunks = [runner.probabilities(images[i : i + CHUNK], pixels) for i in range(0, len(images), CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((0, runner.classes), np.float32)


def typical_neutral_output(model: Path, val: Split) -> dict[str, float]:
    """The model's mean output on the split's neutral faces, each as seen and mirrored (as the app
    classifies), by class: its card's `typical_neutral`, where neutral calibration aims a resting face."""
    faces = np.ascontiguousarray(val.images[val.labels == CLASS_NAMES.index("neutral")])
    if not len(faces):
        return {}  # the card then goes without; the app falls back to TYPICAL_NEUTRAL
    runner = LiteRTModel(model)
    both = chunked_probabilities(runner, faces) + chunked_probabilities(runner, np.ascontiguousarray(faces[:, :, ::-1]))
    mean = both.mean(axis=0) / 2
    return {name: round(float(mean[index]), 4) for index, name in enumerate(model_labels(model))}


def evaluate_model(model: Path, split: Split, pixels: str = "raw") -> dict:
    """Accuracy, macro-F1, per-class P/R/F1 and confusion, in CLASS_NAMES order."""
    return classification_report(split.labels, predicted_classes(model, split, pixels), list(CLASS_NAMES))


def predicted_classes(model: Path, split: Split, pixels: str = "raw") -> np.ndarray:
    """The model's top class for each face of the split, as a CLASS_NAMES index whatever its output order."""
    labels = model_labels(model)
    probabilities = model_probabilities(model, split.images, pixels)
    if probabilities.shape[1] != len(labels) or sorted(labels) != sorted(CLASS_NAMES):
        named = ", ".join(labels)
        raise ValueError(
            f"its {probabilities.shape[1]} outputs do not fit the labels {named} (its card's, or FER-2013's "
            f"without one): pass a model of the 7 FER-2013 classes with the card exported beside it"
        )
    order = np.array([CLASS_NAMES.index(label) for label in labels])
    return order[probabilities.argmax(axis=1)]


def evaluate_command(model: Path, dataset: Dataset, split_name: str, out: Path | None, pixels: str = "raw") -> int:
    """`python -m trainer evaluate`: the report in the terminal, and with `out` as JSON and PNG."""
    if not model.is_file():
        error_line(f"error: model {model} not found: pass --model PATH to a .tflite file")
        return 2
    if out is not None and out.exists() and not out.is_dir():
        error_line(f"error: --out {out} is a file: pass a folder for the report")
        return 2
    if not card_path_for(model).is_file():
        print(terminal_safe(f"note: no model card beside {model}: assuming FER-2013 label order and --pixels {pixels}"))
    try:
        report = evaluate_model(model, dataset[split_name], pixels)
    except (ValueError, RuntimeError) as exc:
        error_line(f"error: {model} is not a usable TFLite classifier: {exc}")
        return 2
    print(terminal_safe(f"{model} on {split_name} ({dataset.split_rule})"))
    print(format_report(report, list(CLASS_NAMES)))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / f"report_{split_name}.json", json.dumps(report, indent=2) + "\n")
        from trainer.plots import plot_confusion

        plot_confusion(report, list(CLASS_NAMES), out / f"confusion_{split_name}.png", title=model.name)
        print(terminal_safe(f"wrote {out / f'report_{split_name}.json'} and {out / f'confusion_{split_name}.png'}"))
    return 0
