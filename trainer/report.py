"""`models/README.md`: the shipped models' cards as a page a person reads, with the plots."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.emotions import DEFAULT_EMOJI
from emojitui.shared.model_card import ModelCard, ModelCardError, read_card
from trainer.recipe import cycles, epochs_in_all

SHIPPED = (("emotion", "accurate"), ("emotion-fast", "fast"))


def write_models_page(models: Path) -> None:
    """The page for every shipped card in `models` (and the teachers under `models/teachers`)."""
    cards = []
    for name, _ in SHIPPED:
        try:
            cards.append(read_card(models / f"{name}.json"))
        except ModelCardError:
            continue
    teachers = []
    for path in sorted((models / "teachers").glob("teacher-*.json")):
        try:
            teachers.append(read_card(path))
        except ModelCardError:
            continue
    folder = models / "teachers"
    committed = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.tflite")}
    page = models_page(cards, teachers, _ensemble(folder, committed), committed if folder.is_dir() else None)
    write_text_atomic(models / "README.md", page)


def _ensemble(folder: Path, committed: dict[str, str]) -> dict | None:
    """The teachers' ensemble report (`trainer.factory`), if it is there and of the teacher files
    there now (`committed`: each file's name and sha256)."""
    try:
        ensemble = json.loads((folder / "ensemble.json").read_text())
        current = all(committed.get(t["file"]) == t["sha256"] for t in ensemble["key"]["teachers"])
        _ensemble_line(ensemble)  # all it shows is there
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ensemble if current else None


def models_page(
    cards: list[ModelCard],
    teachers: list[ModelCard],
    ensemble: dict | None = None,
    committed: dict[str, str] | None = None,
) -> str:
    """The page; `committed` (teacher file name -> sha256) marks a student made from teachers since replaced."""
    summary = "\n".join(
        f"| `{c.name}.tflite` | {c.tier or 'accurate'} | **{c.metrics['test_int8']['accuracy'] * 100:.2f}%** "
        f"| {c.metrics['test_int8']['macro_f1'] * 100:.2f}% | {c.metrics['val_int8_accuracy'] * 100:.2f}% "
        f"| {c.metrics['multiply_adds'] / 1e6:.1f}M | {c.metrics['file_bytes'] / 1024:.0f} KiB "
        f"| {c.metrics['latency_ms_median_1_thread']:.2f} ms |"
        for c in cards
    )
    return f"""# The emojitui expression models

Full-integer int8 TFLite classifiers of the 7 FER-2013 expressions, each with a machine-readable
card beside it (the app reads the labels and input spec from it). The model factory makes them
(`just train`, `trainer/README.md`): teachers trained from scratch, then students distilled
from the teachers' ensemble.

| file | tier | PrivateTest int8 | macro-F1 | PublicTest int8 | compute | size | latency (1 thread, export machine) |
|---|---|---|---|---|---|---|---|
{summary}

For scale (published PrivateTest figures): human about 65%, 2013 challenge winner 71.2%, best
single CNNs 72.7-74.4%. The `fer` package's mini-Xception claims 66% on a random split.
PrivateTest was read once per export; models were chosen on PublicTest.
{_teachers_section(teachers, ensemble)}
{"".join(model_section(card, committed) for card in cards)}"""


def _cycles(recipe: dict) -> str:
    """`93: 45 of 45 + 48 of 53`: a teacher's epochs in all and in each learning-rate cycle."""
    return f"{epochs_in_all(recipe)}: " + " + ".join(f"{run} of {planned}" for run, planned in cycles(recipe))


def _teachers_section(teachers: list[ModelCard], ensemble: dict | None) -> str:
    if not teachers:
        return ""
    rows = "\n".join(
        f"| `teachers/{t.name}.tflite` | {t.metrics['val_int8_accuracy'] * 100:.2f}% | {_wild(t)} "
        f"| {t.recipe.get('seed')} | {_cycles(t.recipe)} "
        f"| {t.metrics['multiply_adds'] / 1e6:.1f}M |"
        for t in teachers
    )
    return f"""
## Teachers

| file | PublicTest int8 | wild-dev balanced | seed | epochs (each cycle's run of planned) | compute |
|---|---|---|---|---|---|
{rows}
{_ensemble_line(ensemble)}"""


def _ensemble_line(ensemble: dict | None) -> str:
    """What the students learn from: the teachers' mean over each face's views, on PublicTest and wild-dev."""
    if not ensemble:
        return ""
    names = ", ".join(t["file"] for t in ensemble["key"]["teachers"])
    val, wild = ensemble["val_int8"], ensemble.get("wild_dev_int8")
    wild_text = f", wild-dev balanced {wild['balanced_accuracy'] * 100:.2f}%" if wild else ""
    return (
        f"\nTogether ({names}; the mean of each over {ensemble['views']} views of a face, as the students' "
        f"targets are made): PublicTest {val['accuracy'] * 100:.2f}%, macro-F1 {val['macro_f1']:.3f}{wild_text}.\n"
    )


def _wild(card: ModelCard) -> str:
    wild = card.metrics.get("wild_dev_int8")
    return f"{wild['balanced_accuracy'] * 100:.2f}%" if wild else "not measured"


def model_section(card: ModelCard, committed: dict[str, str] | None = None) -> str:
    """One shipped model: results, per-class table, plots, input/output and recipe."""
    metrics, recipe, data = card.metrics, card.recipe, card.data
    test = metrics["test_int8"]
    rows = "\n".join(
        f"| {DEFAULT_EMOJI[name].main} {name} | {row['precision']:.3f} | {row['recall']:.3f} "
        f"| {row['f1']:.3f} | {row['support']} |"
        for name, row in test["per_class"].items()
    )
    val_int8, val_float = metrics["val_int8_accuracy"] * 100, metrics["val_float_accuracy"] * 100
    made = (
        "made by the factory"
        if card.tier
        else "made before the factory, by the last cycle of the old chain (`docs/model-history.md`)"
    )
    return f"""
## `{card.name}.tflite` ({card.tier or "accurate"} tier; exported {card.created}; {made})

| metric | value |
|---|---|
| PrivateTest accuracy, int8 ({test["images"]} images, single crop) | **{test["accuracy"] * 100:.2f}%** |
| macro-F1 | {test["macro_f1"] * 100:.2f}% |
| float model accuracy (same split) | {metrics["test_float_accuracy"] * 100:.2f}% |
| PublicTest accuracy (selection split), int8 / float | {val_int8:.2f}% / {val_float:.2f}% |
{_noise_row(metrics)}{_wild_row(metrics)}| file size | {metrics["file_bytes"] / 1024:.0f} KiB |
| compute | {metrics["multiply_adds"] / 1e6:.1f}M multiply-adds, {metrics["parameters"]:,} parameters |
| median latency, 1 thread, XNNPACK (export machine) | {metrics["latency_ms_median_1_thread"]:.2f} ms per face |

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

![confusion matrix]({card.name}-confusion.png)

![training curves]({card.name}-curves.png)

- Input: `{card.input.height}x{card.input.width}x{card.input.channels}` uint8, raw grey pixels 0..255
  (normalisation is inside the model), a face crop widened to FER-2013's framing.
- Output: 7 probabilities (uint8, scale 1/256) in this order: {", ".join(card.labels)}.
- Network: {_network(recipe)}, global average pool, dropout {recipe["dropout"]}, dense.
- {recipe["epochs"]} epochs ({recipe.get("epochs_run")} run, best PublicTest at epoch {recipe.get("best_epoch")}),
  batch {recipe["batch_size"]}, SGD with Nesterov momentum {recipe["momentum"]},
  {recipe["warmup_epochs"]} warm-up epochs to a peak learning rate of {recipe["peak_lr"]} then cosine decay,
  L2 {recipe["weight_decay"]}, label smoothing {recipe["label_smoothing"]},
  class weights (median/count)^{recipe["class_weight_power"]}, seed {recipe["seed"]}.
- Augmentation: {", ".join(f"{k} {v}" for k, v in recipe["augment"].items())}.
{_distillation(card, committed)}{_batch_norm(data)}- Quantisation: post-training full-integer int8 with
  {data["calibration_images"]} training images as the representative set; checked in LiteRT/XNNPACK
  against the float model on PublicTest.
- Data: {data["source"]}; {data["split_rule"]}. {data["train_images"]:,} training,
  {data["val_images"]:,} PublicTest and {data["test_images"]:,} PrivateTest images; skipped while
  loading: {data["skipped"] or "none"}.
"""


def _noise_row(metrics: dict) -> str:
    if "val_camera_noise_int8_accuracy" not in metrics:
        return ""
    return (
        f"| PublicTest under webcam-like noise (2 px shifts, 10% gain, noise 6), int8 | "
        f"{metrics['val_camera_noise_int8_accuracy'] * 100:.2f}% "
        f"({metrics['val_camera_noise_predicted_sad']} predicted sad, {metrics['val_sad_images']} are) |\n"
    )


def _wild_row(metrics: dict) -> str:
    wild = metrics.get("wild_dev_int8")
    if not wild:
        return ""
    shares = ", ".join(
        f"{name} {wild['predicted'][name]} predicted / {wild['labelled'][name]} labelled" for name in ("sad", "neutral")
    )
    return (
        f"| wild-dev ({wild['images']} in-the-wild crops, noisy labels): balanced accuracy, int8 | "
        f"{wild['balanced_accuracy'] * 100:.2f}% ({shares}) |\n"
    )


def _network(recipe: dict) -> str:
    """The network's shape in words."""
    stages = " -> ".join(f"{filters}x{convs}" for filters, convs in recipe["stages"])
    stem = f"a strided 3x3 stem ({recipe['stem']} filters), " if recipe["stem"] else ""
    if recipe.get("network") == "separable":
        kind = "depthwise-separable (each block a depthwise 3x3 and a pointwise 1x1, each with batch norm and ReLU)"
    else:
        kind = "VGG-style (3x3 convolutions, each with batch norm and ReLU)"
    return f"{kind}: {stem}stages {stages} (filters x blocks, each stage ending in a 2x2 max-pool)"


def _batch_norm(data: dict) -> str:
    outcome = data.get("batch_norm_statistics")
    return f"- Batch norm statistics {outcome}.\n" if outcome else ""


def _distillation(card: ModelCard, committed: dict[str, str] | None = None) -> str:
    """How the targets were made when the run distilled from teacher files, and whether those
    files are still the committed teachers (`just train` remakes a student whose are not)."""
    recipe = card.recipe
    teachers = card.teachers or [{"file": t} for t in recipe.get("teachers") or []]
    if not teachers:
        return "- Trained from scratch on the labels alone.\n"
    shift = recipe.get("teacher_shift", 0)
    views = f"10 views (the face and its mirror, each also shifted {shift} px four ways)" if shift else "2 views"
    names = ", ".join(f"`{Path(t['file']).name}`" for t in teachers)
    used = {Path(t["file"]).name: t.get("sha256", "") for t in teachers}
    changes = []
    if committed is not None:
        changes += [f"`{name}` replaced or removed" for name, sha in used.items() if sha and committed.get(name) != sha]
        changes += [f"`{name}` added" for name in sorted(committed) if name.startswith("teacher-") and name not in used]
    since = (
        f" Made from earlier teachers (since then: {', '.join(changes)}): `just train` makes it again from the"
        " committed ones.\n"
        if changes
        else "\n"
    )
    return (
        f"- Trained from scratch, distilled: each training target is {recipe['distill_weight']} of the mean "
        f"probabilities of {names} over {views}, plus {1 - recipe['distill_weight']:g} of the smoothed label.{since}"
    )
