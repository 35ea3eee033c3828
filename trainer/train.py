"""The training run: recipe, checkpoints every epoch, `--resume`, early stopping, CSV log.

Everything that decides the model's quality is in `Recipe`, visible in one place and copied
into the model card. The run folder holds `last.keras` (with optimizer state, for resume),
`best.keras` (best PublicTest accuracy), `state.json`, `log.csv` and `recipe.json`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from emojitui.shared.atomic import write_bytes_atomic, write_text_atomic
from emojitui.shared.emotions import CLASS_NAMES
from trainer.augment import AugmentConfig, TrainingBatches, balanced_class_weights, one_hot
from trainer.data import Dataset
from trainer.model import build_model, multiply_adds


@dataclass
class Recipe:
    """Hyper-parameters of one run; the defaults are the shipped model's recipe."""

    epochs: int = 34
    batch_size: int = 128
    peak_lr: float = 0.05
    warmup_epochs: int = 3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    dropout: float = 0.4
    stem: int = 32
    stages: tuple[tuple[int, int], ...] = ((48, 1), (96, 2), (192, 2))
    full_resolution: tuple[int, int] = (0, 0)  # (filters, convolutions) at 48x48 before the stem
    patience: int = 20
    seed: int = 1234
    jit_compile: bool = False  # measured: no faster on the 2-core CPU, and slower to start
    # bfloat16 compute, float32 weights and logits. Host-dependent (README, Training): on 2026-12-01
    # an epoch of the shipped network took 67-83 s instead of 104-147 s. Export converts a float32 copy.
    mixed_precision: bool = False
    # Distillation: .tflite teachers whose flip-averaged mean probabilities on each training image
    # replace `distill_weight` of its target. Independently trained models disagree on a fifth of
    # the faces, so their average is a stronger teacher than any one of them.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.5
    # Pixels the teacher's views are also shifted by (left, right, up, down; 0 = none): measured on
    # PublicTest, shipped cycle 6 reads 69.4% flip-averaged and 70.0% with 2-pixel shifts as well.
    teacher_shift: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    init_from: dict = field(default_factory=dict)  # what a warm restart began from: lineage for the card

    def as_dict(self) -> dict:
        recipe = asdict(self)
        recipe["stages"] = [list(s) for s in self.stages]
        recipe["full_resolution"] = list(self.full_resolution)
        recipe["teachers"] = list(self.teachers)
        return recipe

    @classmethod
    def from_dict(cls, raw: dict) -> Recipe:
        raw = dict(raw)
        raw["stages"] = tuple(tuple(s) for s in raw["stages"])
        raw["full_resolution"] = tuple(raw.get("full_resolution") or (0, 0))
        raw["teachers"] = tuple(raw.get("teachers") or ())
        aug = dict(raw.pop("augment"))
        aug["erase_area"] = tuple(aug["erase_area"])
        return cls(**raw, augment=AugmentConfig(**aug))

    @classmethod
    def with_overrides(cls, path: Path) -> Recipe:
        """The defaults with the fields in a JSON file replaced (`augment` merged key by key)."""
        return cls().replaced(read_json(path), str(path))

    def replaced(self, overrides: dict, where: str = "recipe") -> Recipe:
        """A copy with some fields replaced (`augment` merged key by key); unknown fields are an error."""
        raw, overrides = self.as_dict(), dict(overrides)
        unknown = sorted(set(overrides) - set(raw)) + sorted(set(overrides.get("augment", {})) - set(raw["augment"]))
        if unknown:
            raise RunError(f"{where}: unknown recipe fields {', '.join(unknown)}")
        raw["augment"] |= overrides.pop("augment", {})
        return Recipe.from_dict(raw | overrides)


# A restart's `teachers` entry that means "the cycle before this one, exported to int8": self-distillation.
PREVIOUS_CYCLE = "previous-cycle"
# A restart's `teachers` entry "cycle-<n>": the chain's n-th cycle (1 = the first), exported to int8.
CYCLE_PREFIX = "cycle-"
# A restart's key (not a recipe field) that makes it start from fresh weights instead of the previous
# cycle's best: a student trained from scratch by earlier cycles is less alike to them.
FROM_SCRATCH = "from_scratch"


# Warm restarts after the first cycle (SGDR-style): each a new learning-rate cycle from the previous
# cycle's best weights, replacing the fields it names of the cycle before it. Chosen on PublicTest:
# lighter regularisation (+1.3 points), a deeper network grown from it (+1.4), sensor-noise
# augmentation (-0.7 on clean PublicTest, +3.1 under webcam-like noise, and no drift to "sad"),
# a wider network grown from that with half the weight decay (+1.1, and +0.5 under noise), then a
# deeper one (+0.8 with batch norm recomputed at export, +0.4 under noise and less drift to sad).
RESTARTS: tuple[dict, ...] = (
    {
        "epochs": 16,
        "peak_lr": 0.02,
        "warmup_epochs": 1,
        "weight_decay": 0.0002,
        "class_weight_power": 0.25,
        "dropout": 0.3,
        "patience": 16,
        "augment": {"erase_probability": 0.25},
    },
    {"epochs": 20, "patience": 20, "stages": [[48, 1], [96, 3], [192, 3]]},
    {"epochs": 16, "patience": 16, "peak_lr": 0.015, "augment": {"noise": 10.0}},
    {"epochs": 28, "patience": 28, "weight_decay": 0.0001, "stages": [[64, 1], [128, 3], [224, 3]]},
    {"epochs": 30, "patience": 30, "stages": [[64, 2], [128, 4], [224, 3]]},
    # Self-distillation: cycle 6's 10-view predictions teach it, then the result teaches itself
    # (68.7% and 68.4% int8 PublicTest, neither above cycle 6, but as teachers with it: 70.3%).
    {"epochs": 30, "patience": 30, "teachers": [PREVIOUS_CYCLE], "teacher_shift": 2, "distill_weight": 0.5},
    {"epochs": 26, "patience": 26, "teachers": [PREVIOUS_CYCLE], "distill_weight": 0.8},
    # A fresh network of cycle 6's shape taught by cycles 6-8 for 95 epochs in bfloat16 (shipped).
    {
        FROM_SCRATCH: True,
        "epochs": 95,
        "patience": 1000,
        "peak_lr": 0.05,
        "warmup_epochs": 3,
        "weight_decay": 0.00025,
        "seed": 2026,
        "mixed_precision": True,
        "teachers": ["cycle-6", "cycle-7", "cycle-8"],
        "distill_weight": 0.7,
        "augment": {"erase_probability": 0.3},
    },
)


class RunFolder:
    """Paths of one run's files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = root / "last.keras"
        self.best = root / "best.keras"
        self.state = root / "state.json"
        self.log = root / "log.csv"
        self.recipe = root / "recipe.json"

    def read_state(self) -> dict:
        return read_json(self.state) if self.state.is_file() else {}


def chain_folders(root: Path, restarts: int) -> list[RunFolder]:
    """Cycle 1 lives in `root`, restart k in `root/restart<k>`."""
    return [RunFolder(root)] + [RunFolder(root / f"restart{k}") for k in range(1, restarts + 1)]


def final_folder(root: Path) -> RunFolder:
    """The chain's last cycle that has a model: what `export` ships."""
    done = [run for run in chain_folders(root, len(RESTARTS)) if run.best.is_file()]
    return done[-1] if done else RunFolder(root)


def train_chain(
    dataset: Dataset,
    recipe: Recipe,
    root: Path,
    resume: bool,
    restarts: tuple[dict, ...] = RESTARTS,
    say=print,
    epochs_given: bool = False,
    init_from: Path | None = None,
) -> RunFolder:
    """Cycle 1 (from scratch or `init_from`), then each restart from the previous cycle's best.

    A restart's fields replace those of the cycle before it. With `resume`, finished cycles are
    skipped and an interrupted one continues.
    """
    runs = chain_folders(root, len(restarts))
    train(dataset, recipe, runs[0], resume, say, epochs_given, init_from)
    cycle = recipe
    for index, (run, overrides) in enumerate(zip(runs[1:], restarts, strict=True), start=1):
        overrides = dict(overrides)
        start = None if overrides.pop(FROM_SCRATCH, False) else runs[index - 1].best
        say(f"restart {index} of {len(restarts)}: a new learning-rate cycle from {start or 'fresh weights'}")
        if "teachers" in overrides:
            where = f"restart {index}"
            sources = [_teacher_source(name, runs[:index], where) for name in overrides["teachers"]]
            overrides["teachers"] = [
                str(_cycle_teacher(dataset, source, run, say)) if source else name
                for name, source in zip(overrides["teachers"], sources, strict=True)
            ]
        cycle = cycle.replaced(overrides, f"restart {index}")
        train(dataset, cycle, run, resume, say, init_from=start)
    return runs[-1]


def _teacher_source(name: str, earlier: list[RunFolder], where: str) -> RunFolder | None:
    """The earlier cycle a teacher entry names (`previous-cycle`, `cycle-<n>`), or None for a file path."""
    if name == PREVIOUS_CYCLE:
        return earlier[-1]
    if not name.startswith(CYCLE_PREFIX):
        return None
    number = name.removeprefix(CYCLE_PREFIX)
    if not number.isdigit() or not 1 <= int(number) <= len(earlier):
        raise RunError(f"{where}: teacher {name} is not an earlier cycle (cycle-1 to cycle-{len(earlier)})")
    return earlier[int(number) - 1]


def _cycle_teacher(dataset: Dataset, source: RunFolder, run: RunFolder, say=print) -> Path:
    """An earlier cycle exported and verified as `models` would get it, in `<that cycle>/teacher/`, once."""
    teacher = source.root / "teacher" / "emotion.tflite"
    if teacher.is_file() or (run.root / "teacher_targets.npy").is_file():
        return teacher
    from trainer.export import export_and_report  # the export imports this module

    say(f"exporting {source.best} as a teacher")
    if export_and_report(dataset, source, teacher.parent, tolerance_points=0.5) != 0:
        raise RunError(f"cannot export {source.best} as a teacher")
    return teacher


class RunError(RuntimeError):
    """A run folder that cannot be used as asked; the message says what to do."""


def train(
    dataset: Dataset,
    recipe: Recipe,
    run: RunFolder,
    resume: bool,
    say=print,
    epochs_given: bool = False,
    init_from: Path | None = None,
) -> None:
    """Train (or continue) a run; `run.best` then holds the best model by PublicTest accuracy.

    A new run never overwrites an existing one: that takes `resume` (continue it) or deleting
    the folder (`--fresh`). A resumed run keeps its own recipe, since the learning-rate
    schedule was built from it.
    """
    keras.utils.set_random_seed(recipe.seed)
    run.root.mkdir(parents=True, exist_ok=True)
    state = read_json(run.state) if run.state.is_file() else {}
    if state and not resume:
        raise RunError(f"{run.root} holds a run (epoch {state.get('epoch')}): pass --resume to continue or --fresh")
    if resume and not run.last.is_file():
        say(f"no checkpoint in {run.root}: starting a new run")
        state = {}
    if state:
        saved = Recipe.from_dict(read_json(run.recipe))
        if epochs_given and recipe.epochs != saved.epochs:
            raise RunError(f"{run.root} was started for {saved.epochs} epochs; its schedule is fixed (use --fresh)")
        recipe = saved
        model = keras.models.load_model(run.last)
        say(f"resuming {run.root} after epoch {state['epoch']} (best val {state['best_val']:.4f})")
    else:
        for stale in (run.last, run.best, run.state, run.log):
            stale.unlink(missing_ok=True)
        recipe.init_from = describe_origin(init_from) if init_from is not None else {}
        write_text_atomic(run.recipe, json.dumps(recipe.as_dict(), indent=2) + "\n")
        model = compiled_model(recipe, steps_per_epoch=len(dataset["train"]) // recipe.batch_size)
        if init_from is not None:
            grown = _load_weights(model, init_from, dataset["train"].images, recipe.seed)
            say(f"starting from the weights of {init_from} (a new learning-rate cycle)")
            if grown:
                say(f"new or widened layers, computing the source's function: {', '.join(grown)}")
        state = {"epoch": 0, "best_val": 0.0, "best_epoch": 0, "wait": 0}
    if state["epoch"] >= recipe.epochs or state["wait"] >= recipe.patience:
        say("run already finished")
        return

    train_split, val = dataset["train"], dataset["val"]
    weights = balanced_class_weights(train_split.labels, len(CLASS_NAMES), recipe.class_weight_power)
    batches = TrainingBatches(
        train_split.images,
        train_split.labels,
        recipe.batch_size,
        weights,
        recipe.augment,
        recipe.seed,
        recipe.label_smoothing,
        teacher_targets(recipe.teachers, train_split.images, run, say, recipe.teacher_shift)
        if recipe.teachers
        else None,
        recipe.distill_weight,
        workers=1,
        use_multiprocessing=False,
    )
    batches.epoch = state["epoch"]
    batches.order = batches._shuffled()
    val_x = val.images[..., None].astype(np.float32)
    val_y = one_hot(val.labels, len(CLASS_NAMES))
    say(
        f"training {multiply_adds(model) / 1e6:.1f}M multiply-adds, {model.count_params():,} parameters, "
        f"{len(train_split):,} train / {len(val):,} val images, up to {recipe.epochs} epochs"
    )
    progress = EpochRecorder(run, state, recipe, say)
    model.fit(
        batches,
        validation_data=(val_x, val_y),
        validation_batch_size=512,
        epochs=recipe.epochs,
        initial_epoch=state["epoch"],
        callbacks=[progress],
        verbose=0,
    )


def teacher_targets(
    teachers: tuple[str, ...], images: np.ndarray, run: RunFolder, say=print, shift: int = 0
) -> np.ndarray:
    """Mean probabilities of the teacher files over each image's views, kept in the run folder for --resume.

    The views are the image and its mirror, and with `shift` each of those moved by that many
    pixels in four directions: test-time averaging makes a stronger teacher than a single pass.
    """
    from trainer.litert_runner import TFLiteClassifier

    cache = run.root / "teacher_targets.npy"
    if cache.is_file():
        targets = np.load(cache)
        if targets.shape[0] == len(images):
            return targets
    missing = [t for t in teachers if not Path(t).is_file()]
    if missing:
        raise RunError(f"teacher model not found: {', '.join(missing)}")
    views = teacher_views(images, shift)
    say(f"teacher targets from {len(teachers)} model(s), each averaged over {len(views)} views of every image")
    total = np.zeros((len(images), len(CLASS_NAMES)), np.float64)
    for teacher in teachers:
        model = TFLiteClassifier(Path(teacher))
        for view in views:
            total += model.probabilities(view)
    targets = (total / (len(views) * len(teachers))).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, targets)
    write_bytes_atomic(cache, buffer.getvalue())
    return targets


def teacher_views(images: np.ndarray, shift: int) -> list[np.ndarray]:
    """The images and their mirrors, and with `shift` > 0 each moved left, right, up and down (edges reflected)."""
    views = [images, images[:, :, ::-1]]
    if shift <= 0:
        return views
    pad = np.pad(images, ((0, 0), (shift, shift), (shift, shift)), mode="reflect")
    height, width = images.shape[1:]
    moved = []
    for dy, dx in ((0, -shift), (0, shift), (-shift, 0), (shift, 0)):
        # the view's pixel (y, x) is the image's (y + dy, x + dx)
        moved.append(pad[:, shift + dy : shift + dy + height, shift + dx : shift + dx + width])
    moved += [view[:, :, ::-1] for view in moved]
    return views + moved  # slices of one padded copy: the classifier converts each face anyway


def _load_weights(model: keras.Model, checkpoint: Path, images: np.ndarray, seed: int) -> list[str]:
    """Warm start from a `.keras` run model or a shipped int8 `.tflite`; returns the layers grown or widened.

    The same architecture copies weights exactly; a deeper or wider one starts from the source's
    function (new convolutions as identities, wider layers as repeated filters).
    """
    from trainer.warmstart import WarmStartError, folded_keras_weights, load_into

    shuffled = images[np.random.default_rng(seed).permutation(len(images))]
    try:
        if checkpoint.suffix == ".tflite":
            return load_into(model, checkpoint, shuffled)
        source = keras.models.load_model(checkpoint)
        if [w.shape for w in source.weights] == [w.shape for w in model.weights]:
            model.set_weights(source.get_weights())
            return []
        return load_into(model, folded_keras_weights(source), shuffled)
    except (OSError, ValueError, WarmStartError) as exc:
        raise RunError(f"cannot start from {checkpoint}: {exc}") from None


def describe_origin(checkpoint: Path) -> dict:
    """The lineage of a warm start: the file, and the card or recipe it was made with, when beside it."""
    origin: dict = {"file": checkpoint.name}
    card, recipe = checkpoint.with_suffix(".json"), checkpoint.parent / "recipe.json"
    if checkpoint.suffix == ".tflite" and card.is_file():
        raw = read_json(card)
        test = raw.get("metrics", {}).get("test_int8", {})
        origin |= {"created": raw.get("created"), "test_int8_accuracy": test.get("accuracy")}
        origin["recipe"] = raw.get("recipe")
    elif recipe.is_file():
        origin["recipe"] = read_json(recipe)
    return origin


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable ({exc}): delete the run folder or pass --fresh") from None


def recipe_model(recipe: Recipe) -> keras.Model:
    """The recipe's network, uncompiled, in bfloat16 compute when the recipe asks for it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if recipe.mixed_precision else "float32")
    try:
        return build_model(
            recipe.stages,
            dropout=recipe.dropout,
            stem=recipe.stem,
            weight_decay=recipe.weight_decay,
            seed=recipe.seed,
            full_resolution=recipe.full_resolution,
        )
    finally:
        keras.config.set_dtype_policy(previous)


def float32_model(recipe: Recipe, checkpoint: Path) -> keras.Model:
    """A checkpoint as a float32 network: what the int8 converter and float evaluation need."""
    if not recipe.mixed_precision:
        return keras.models.load_model(checkpoint)
    model = recipe_model(dataclasses.replace(recipe, mixed_precision=False))
    model.load_weights(checkpoint)  # the weights are float32 in either policy
    return model


def compiled_model(recipe: Recipe, steps_per_epoch: int) -> keras.Model:
    """The recipe's network with its optimizer, schedule and loss, ready to fit."""
    model = recipe_model(recipe)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.peak_lr / 100,
        decay_steps=max(1, (recipe.epochs - recipe.warmup_epochs) * steps_per_epoch),
        warmup_target=recipe.peak_lr,
        warmup_steps=recipe.warmup_epochs * steps_per_epoch,
        alpha=0.0,
    )
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=recipe.momentum, nesterov=True),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
        jit_compile=recipe.jit_compile,
    )
    return model


class EpochRecorder(keras.callbacks.Callback):
    """After each epoch: checkpoint, keep the best, append the CSV log, print one line."""

    FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")

    def __init__(self, run: RunFolder, state: dict, recipe: Recipe, say) -> None:
        super().__init__()
        self.run, self.state, self.recipe, self.say = run, state, recipe, say
        self.started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        seconds = time.monotonic() - self.started
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {
            "epoch": epoch + 1,
            "loss": logs.get("loss"),
            "accuracy": logs.get("accuracy"),
            "val_loss": logs.get("val_loss"),
            "val_accuracy": logs.get("val_accuracy"),
            "lr": lr,
            "seconds": round(seconds, 1),
        }
        val = float(row["val_accuracy"])
        improved = val > self.state["best_val"]
        if improved:
            self.state.update(best_val=val, best_epoch=epoch + 1, wait=0)
            _save_atomic(self.model, self.run.best)
        else:
            self.state["wait"] += 1
        _save_atomic(self.model, self.run.last)
        self.state["epoch"] = epoch + 1
        self._append_log(row)
        write_text_atomic(self.run.state, json.dumps(self.state, indent=2) + "\n")
        remaining = (self.recipe.epochs - epoch - 1) * seconds / 60
        self.say(
            f"epoch {epoch + 1:3d}/{self.recipe.epochs}  loss {row['loss']:.3f}  acc {row['accuracy']:.3f}  "
            f"val_acc {val:.4f}{' *' if improved else '  '}  lr {lr:.4f}  {seconds:.0f}s  ~{remaining:.0f} min left",
        )
        if self.state["wait"] >= self.recipe.patience:
            self.say(f"early stop: no val improvement for {self.recipe.patience} epochs")
            self.model.stop_training = True

    def _append_log(self, row: dict) -> None:
        new = not self.run.log.is_file()
        with self.run.log.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()
            os.fsync(handle.fileno())


def _save_atomic(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)
