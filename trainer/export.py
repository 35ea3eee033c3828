"""Export the best checkpoint to a full-integer int8 TFLite file, prove it, and report.

The exported file is loaded back in LiteRT with XNNPACK and must match the float model's
PublicTest accuracy within a tolerance before it replaces `models/emotion.tflite`: XNNPACK
can refuse an int8 model whose layer collapsed to a degenerate scale, and a silent accuracy
drop from a bad calibration set is worse than a loud failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import subprocess
import tempfile
from pathlib import Path

import keras
import numpy as np

from emojitui.shared.atomic import write_bytes_atomic
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.litert import LiteRTModel
from emojitui.shared.locations import PACKAGE_DIR
from emojitui.shared.model_card import InputSpec, ModelCard, ModelCardError, card_path_for, read_card, write_card
from emojitui.shared.output import error_line, terminal_safe
from trainer.batchnorm import STAT_IMAGES, recompute_batch_norm
from trainer.data import Dataset, Split
from trainer.evaluate import evaluate_model, typical_neutral_output
from trainer.metrics import classification_report, format_report
from trainer.model import multiply_adds
from trainer.noise import camera_noise
from trainer.recipe import Recipe
from trainer.run_folder import RunFolder, read_json
from trainer.train import float32_model

CALIBRATION_IMAGES = 1000


class ExportError(RuntimeError):
    """The exported file failed its check; the shipped model is left untouched."""


def _with_clean_batch_norm(model: keras.Model, train: Split, val: Split, seed: int) -> tuple[str, np.ndarray]:
    """Recompute batch norm on clean training faces; keep it only if float PublicTest gains.

    Returns what was done, for the card, and the kept model's PublicTest predictions. Choosing
    on PublicTest keeps PrivateTest unseen.
    """
    as_trained_weights = model.get_weights()
    as_trained = float_predictions(model, val.images)
    picks = np.random.default_rng(seed + 1).permutation(len(train))[:STAT_IMAGES]
    recompute_batch_norm(model, train.images[picks])
    recomputed = float_predictions(model, val.images)
    before, after = float((as_trained == val.labels).mean()), float((recomputed == val.labels).mean())
    kept = after > before
    if not kept:
        model.set_weights(as_trained_weights)
    outcome = (
        f"{'recomputed' if kept else 'as trained'}: moving statistics recomputed on {len(picks)} clean "
        f"training images gave float PublicTest {after:.4f} against {before:.4f} as trained"
    )
    print(f"batch norm {outcome}")
    return outcome, recomputed if kept else as_trained


def offset_logits(model: keras.Model, offsets: dict[str, float]) -> None:
    """Add the recipe's `logit_offsets` to the bias of the layer named "logits"."""
    unknown = sorted(set(offsets) - set(CLASS_NAMES))
    if unknown or not all(isinstance(v, int | float) and math.isfinite(v) for v in offsets.values()):
        raise ExportError(
            f"logit_offsets should map class names ({', '.join(CLASS_NAMES)}) to finite numbers, "
            f"not {offsets!r}: fix the run's recipe.json"
        )
    logits = model.get_layer("logits")
    kernel, bias = logits.get_weights()
    bias = bias + np.array([offsets.get(name, 0.0) for name in CLASS_NAMES], dtype=bias.dtype)
    logits.set_weights([kernel, bias])
    print(f"logits offset at export: {', '.join(f'{name} {value:+g}' for name, value in offsets.items())}")


def convert_to_int8(model: keras.Model, calibration: np.ndarray) -> bytes:
    """Softmax-headed model to int8 TFLite taking raw uint8 pixels (scale 1, zero point 0)."""
    import tensorflow as tf

    inputs = keras.Input(model.input_shape[1:], name="face")
    probabilities = keras.layers.Softmax(name="probabilities")(model(inputs, training=False))
    inference = keras.Model(inputs, probabilities, name="emotion")
    with tempfile.TemporaryDirectory() as saved:
        inference.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None, ..., None].astype(np.float32)] for x in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
        return converter.convert()


def float_predictions(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(images[..., None].astype(np.float32), batch_size=512, verbose=0)).argmax(axis=1)


def median_latency_ms(path: Path, repeats: int = 300) -> float:
    """Median single-face run time, one thread, XNNPACK (the figure the app lives on)."""
    return LiteRTModel(path, threads=1).median_latency_ms(repeats)


def export_and_report(
    dataset: Dataset,
    run: RunFolder,
    models: Path,
    tolerance_points: float,
    name: str = "emotion",
    tier: str = "accurate",
    wild_dev: Split | None = None,
) -> int:
    """Convert the run's best model to int8, check it in LiteRT, measure it, and write `<name>.tflite` and its card.

    A shipped tier (accurate, fast) is also read once on PrivateTest, plotted, and written into
    the models page; a teacher is measured on PublicTest only. The file is written only after its
    check passes, so a failed export leaves `models` as it was.
    """
    if not run.best.is_file():
        error_line(f"error: no trained model in {run.root}: run `python -m trainer train` first")
        return 2
    damaged = f"the run is damaged: train it again (`python -m trainer train --out {run.root} --fresh --recipe ...`)"
    recipe = Recipe.from_dict(read_json(run.recipe, damaged))
    model = float32_model(recipe, run.best)
    train, val, test = dataset["train"], dataset["val"], dataset["test"]
    batch_norm, val_predictions = _with_clean_batch_norm(model, train, val, recipe.seed)
    if recipe.logit_offsets:  # after the batch-norm choice, which they would otherwise sway
        offset_logits(model, recipe.logit_offsets)
        val_predictions = float_predictions(model, val.images)
        batch_norm += " (before the logit offsets)"
    picks = np.random.default_rng(recipe.seed).permutation(len(train))[:CALIBRATION_IMAGES]
    print(terminal_safe(f"converting {run.best} to int8 with {len(picks)} calibration images"))
    tflite = convert_to_int8(model, train.images[picks])

    names = list(CLASS_NAMES)
    float_val = classification_report(val.labels, val_predictions, names)
    shipped = tier != "teacher"
    float_test = classification_report(test.labels, float_predictions(model, test.images), names) if shipped else {}
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / "emotion.tflite"
        candidate.write_bytes(tflite)
        try:
            int8_val = evaluate_model(candidate, val)
        except (ValueError, RuntimeError) as exc:
            raise ExportError(f"the exported model does not run in LiteRT/XNNPACK: {exc}") from exc
        drop = (float_val["accuracy"] - int8_val["accuracy"]) * 100
        print(f"PublicTest accuracy: float {float_val['accuracy']:.4f}, int8 {int8_val['accuracy']:.4f}")
        if drop > tolerance_points:
            raise ExportError(f"int8 PublicTest accuracy is {drop:.2f} points below float (limit {tolerance_points})")
        int8_test = evaluate_model(candidate, test) if shipped else {}
        noisy_val = evaluate_model(candidate, Split(camera_noise(val.images), val.labels))
        wild = evaluate_model(candidate, wild_dev) if wild_dev is not None and len(wild_dev) else None
        latency = median_latency_ms(candidate)
        typical = typical_neutral_output(candidate, val)

    model_path = models / f"{name}.tflite"
    downgrade = _downgrade_warning(model_path, int8_val["accuracy"])
    write_bytes_atomic(model_path, tflite)
    sad = CLASS_NAMES.index("sad")
    state = run.read_state()
    card = ModelCard(
        labels=names,
        input=InputSpec(width=48, height=48, channels=1, pixels="raw"),
        name=name,
        tier=tier,
        teachers=[teacher_record(Path(t)) for t in recipe.teachers],
        typical_neutral=typical,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        metrics=(
            {"test_split": "PrivateTest", "test_int8": int8_test, "test_float_accuracy": float_test["accuracy"]}
            if shipped
            else {}
        )
        | {
            "val_int8_accuracy": int8_val["accuracy"],
            "val_float_accuracy": float_val["accuracy"],
            # Webcam-like noise (trainer.noise) on PublicTest: how far it drifts.
            "val_camera_noise_int8_accuracy": noisy_val["accuracy"],
            "val_camera_noise_predicted_sad": int(np.asarray(noisy_val["confusion"])[:, sad].sum()),
            "val_sad_images": int((val.labels == sad).sum()),
            "file_bytes": len(tflite),
            "multiply_adds": multiply_adds(model),
            "parameters": int(model.count_params()),
            "latency_ms_median_1_thread": round(latency, 3),
        }
        | ({"val_int8": int8_val} if not shipped else {})
        | ({"wild_dev_int8": _wild_summary(wild)} if wild else {}),
        recipe=recipe.as_dict()
        | {"teachers": [shown_path(Path(t)) for t in recipe.teachers]}
        | {"epochs_run": state.get("epoch"), "best_epoch": state.get("best_epoch"), "commit": source_commit()},
        data={
            "source": "FER-2013 (Goodfellow et al. 2013)",
            "split_rule": dataset.split_rule,
            "train_images": len(train),
            "val_images": len(val),
            "test_images": len(test),
            "train_class_counts": dict(zip(names, train.class_counts(), strict=True)),
            "skipped": dict(dataset.skipped),
            "calibration_images": len(picks),
            "batch_norm_statistics": batch_norm,
        },
    )
    write_card(card, card_path_for(model_path))
    if shipped:
        from trainer.plots import plot_confusion, plot_curves
        from trainer.report import write_models_page

        plot_confusion(int8_test, names, models / f"{name}-confusion.png", title=f"{name}: int8 PrivateTest")
        if run.log.is_file():
            plot_curves(run.log, models / f"{name}-curves.png")
        write_models_page(models)
        print(format_report(int8_test, names))
    print(terminal_safe(f"wrote {model_path} ({len(tflite) / 1024:.0f} KiB, {latency:.2f} ms/face) and its card"))
    if downgrade:
        print(downgrade)
    return 0


def _wild_summary(report: dict) -> dict:
    """What the in-the-wild development set says: balanced accuracy, and how often sad and neutral are
    predicted against how often they are the label (resting faces read as sad is the known weakness)."""
    confusion = np.asarray(report["confusion"])
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    return {
        "images": report["images"],
        "balanced_accuracy": report["balanced_accuracy"],
        "macro_f1": report["macro_f1"],
        "accuracy": report["accuracy"],
        "predicted": dict(zip(CLASS_NAMES, predicted.tolist(), strict=True)),
        "labelled": dict(zip(CLASS_NAMES, actual.tolist(), strict=True)),
    }


def source_commit() -> str | None:
    """The trainer's git commit (with `+changes` when the tree differs from it): which code made a model."""
    try:
        git = ["git", "-C", str(Path(__file__).parent)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout (an installed package)
    return commit + ("+changes" if dirty.stdout.strip() else "")


def teacher_record(path: Path) -> dict:
    """A teacher file as a card names it: where, its content hash, and what it read on PublicTest."""
    record: dict = {"file": shown_path(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with contextlib.suppress(ModelCardError):
        record["val_int8_accuracy"] = read_card(card_path_for(path)).metrics.get("val_int8_accuracy")
    return record


def shown_path(path: Path) -> str:
    """A path as a committed card shows it: relative to the checkout when inside it (the same on every
    clone), else as given."""
    try:
        return str(path.resolve().relative_to(PACKAGE_DIR.parent))
    except ValueError:
        return str(path)


def _downgrade_warning(model_path: Path, new_val_accuracy: float) -> str | None:
    """A warning when the file about to be replaced scored higher on PublicTest: a short trial run
    exported into `models/` would otherwise quietly swap out the shipped model."""
    try:
        old = read_card(card_path_for(model_path)).metrics.get("val_int8_accuracy")
    except (OSError, ModelCardError):
        return None
    if not isinstance(old, int | float) or old <= new_val_accuracy:
        return None
    return (
        f"warning: the model this replaced in {model_path.parent} read {old:.2%} int8 PublicTest, this one"
        f" {new_val_accuracy:.2%}; `git checkout -- {model_path.parent}` restores it where tracked;"
        " pass --models DIR for trials"
    )
