"""`models/README.md`: the model card as a page a person reads, with the plots."""

from __future__ import annotations

from emojitui.shared.emotions import DEFAULT_EMOJI
from emojitui.shared.model_card import ModelCard


def _noise_row(metrics: dict) -> str:
    if "val_camera_noise_int8_accuracy" not in metrics:
        return ""
    return (
        f"| PublicTest under webcam-like noise (2 px shifts, 10% gain, noise 6), int8 | "
        f"{metrics['val_camera_noise_int8_accuracy'] * 100:.2f}% "
        f"({metrics['val_camera_noise_predicted_sad']} predicted sad, {metrics['val_sad_images']} are) |\n"
    )


def _pooled_stages(recipe: dict) -> str:
    """`64x2 -> 128x4`: filters x convolutions of each stage that ends in a max-pool."""
    return " -> ".join(f"{filters}x{convs}" for filters, convs in recipe["stages"])


def _stages(recipe: dict) -> str:
    """The pooled stages, after `32x2 at 48x48, ` when there is a full-resolution stage."""
    filters, convs = recipe.get("full_resolution") or (0, 0)
    return f"{filters}x{convs} at 48x48, {_pooled_stages(recipe)}" if convs else _pooled_stages(recipe)


def _network(recipe: dict) -> str:
    """The network's shape in words, for the Recipe section."""
    filters, convs = recipe.get("full_resolution") or (0, 0)
    front = f"a full-resolution stage ({filters} filters x {convs} 3x3 convolutions, no pool), " if convs else ""
    stem = f"a strided 3x3 stem ({recipe['stem']} filters), " if recipe["stem"] else ""
    return f"VGG-style: {front}{stem}stages {_pooled_stages(recipe)}"


def _batch_norm(data: dict) -> str:
    """Whether the export recomputed batch norm on clean faces (cards before 2026-11-25 do not say)."""
    outcome = data.get("batch_norm_statistics")
    return f"- Batch norm statistics {outcome}.\n" if outcome else ""


def _distillation(recipe: dict) -> str:
    """How the targets were made when the run distilled from teacher files (cards before 2026-12-01 do not say)."""
    teachers = recipe.get("teachers") or []
    if not teachers:
        return ""
    shift = recipe.get("teacher_shift", 0)
    views = f"10 views (the face and its mirror, each also shifted {shift} px four ways)" if shift else "2 views"
    names = ", ".join(f"`{t}`" for t in teachers)
    return (
        f"- Distilled: each training target is {recipe['distill_weight']} of the mean probabilities of "
        f"{names} over {views}, plus {1 - recipe['distill_weight']:g} of the smoothed label.\n"
    )


def _lineage(recipe: dict) -> str:
    """The cycles this model went through, newest first, when it was a warm restart."""
    cycles, origin = [], recipe.get("init_from") or {}
    while origin.get("recipe"):
        earlier = origin["recipe"]
        accuracy = origin.get("test_int8_accuracy")
        made = f", shipped {origin['created']} at {accuracy * 100:.1f}%" if accuracy is not None else ""
        cycles.append(
            f"  - from {origin['file']}{made}: stages {_stages(earlier)}, {earlier['epochs']} epochs, "
            f"peak lr {earlier['peak_lr']}, "
            f"L2 {earlier['weight_decay']}, class-weight power {earlier['class_weight_power']}, "
            f"dropout {earlier['dropout']}, erasing {earlier['augment']['erase_probability']}"
            + (f", distilled from {len(earlier['teachers'])} teacher(s)" if earlier.get("teachers") else "")
            + (", itself a warm restart" if earlier.get("init_from") else ", from scratch")
        )
        origin = earlier.get("init_from") or {}
    if not cycles and origin.get("file"):
        return f"- Started from the weights of {origin['file']} (no card or recipe beside it to say how it was made).\n"
    if not cycles:
        return "- Trained from scratch in one cycle.\n"
    return (
        "- A warm restart (a new learning-rate cycle from earlier weights); the cycles before it, newest first:\n"
        + ("\n".join(cycles) + "\n")
    )


def model_readme(card: ModelCard) -> str:
    metrics, recipe, data = card.metrics, card.recipe, card.data
    test = metrics["test_int8"]
    rows = "\n".join(
        f"| {DEFAULT_EMOJI[name].main} {name} | {row['precision']:.3f} | {row['recall']:.3f} "
        f"| {row['f1']:.3f} | {row['support']} |"
        for name, row in test["per_class"].items()
    )
    val_int8, val_float = metrics["val_int8_accuracy"] * 100, metrics["val_float_accuracy"] * 100
    return f"""# The emojitui expression model

`emotion.tflite` is a full-integer int8 TFLite classifier of the 7 FER-2013 expressions;
`emotion.json` is its machine-readable card (the app reads the labels and input spec from it).
Exported by the trainer ({card.created}); `just train` trains its recipe anew (see Reproduce).

## Results on FER-2013 PrivateTest ({test["images"]} images, int8 file, single crop)

| metric | value |
|---|---|
| accuracy | **{test["accuracy"] * 100:.2f}%** |
| macro-F1 | {test["macro_f1"] * 100:.2f}% |
| float model accuracy (same split) | {metrics["test_float_accuracy"] * 100:.2f}% |
| PublicTest accuracy (selection split), int8 / float | {val_int8:.2f}% / {val_float:.2f}% |
{_noise_row(metrics)}| file size | {metrics["file_bytes"] / 1024:.0f} KiB |
| compute | {metrics["multiply_adds"] / 1e6:.1f}M multiply-adds, {metrics["parameters"]:,} parameters |
| median latency, 1 thread, XNNPACK (export machine) | {metrics["latency_ms_median_1_thread"]:.2f} ms per face |

For scale (published PrivateTest figures): human about 65%, 2013 challenge winner 71.2%, best
single CNNs 72.7-74.4%. The `fer` package's mini-Xception claims 66% on a random split.

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

![confusion matrix](confusion_matrix.png)

![training curves](training_curves.png)

## Input and output

- Input: `{card.input.height}x{card.input.width}x{card.input.channels}` uint8, raw grey pixels 0..255
  (normalisation is inside the model), a face crop widened to FER-2013's framing.
- Output: 7 probabilities (uint8, scale 1/256) in this order: {", ".join(card.labels)}.

## Recipe

- Network: {_network(recipe)}
  (filters x 3x3 convolutions, each with batch norm and ReLU, then 2x2 max-pool), global average
  pool, dropout {recipe["dropout"]}, dense.
- {recipe["epochs"]} epochs ({recipe["epochs_run"]} run, best PublicTest at epoch {recipe["best_epoch"]}),
  batch {recipe["batch_size"]}, SGD with Nesterov momentum {recipe["momentum"]},
  {recipe["warmup_epochs"]} warm-up epochs to a peak learning rate of {recipe["peak_lr"]} then cosine decay,
  L2 {recipe["weight_decay"]},
  label smoothing {recipe["label_smoothing"]}, class weights (median/count)^{recipe["class_weight_power"]},
  seed {recipe["seed"]}.
- Augmentation: {", ".join(f"{k} {v}" for k, v in recipe["augment"].items())}.
{_distillation(recipe)}{_lineage(recipe)}{_batch_norm(data)}- Quantisation: post-training full-integer int8 with
  {data["calibration_images"]} training images as the representative set; checked in LiteRT/XNNPACK
  against the float model on PublicTest.

## Data

{data["source"]}; {data["split_rule"]}. {data["train_images"]:,} training, {data["val_images"]:,}
PublicTest and {data["test_images"]:,} PrivateTest images; images skipped while loading:
{data["skipped"] or "none"}. Model selection used PublicTest only; PrivateTest was read once per export.

## Reproduce

    just train                 # the default chain: cycle 1, then the warm restarts in trainer/chain.py RESTARTS;
                               # export, verify, evaluate, write this page (again: continues an interrupted run)
    .venv/bin/python -m trainer evaluate --model models/emotion.tflite   # any compatible .tflite

Teacher files named above under `runs/` belong to the machine that trained this model and are not
in the repository; the default chain exports its own teachers from its earlier cycles.
"""
