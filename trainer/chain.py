"""The chain `just train` runs: cycle 1, then restarts, each a new learning-rate cycle.

Cycle 1 lives in the run folder, restart k in `restart<k>/`. A restart names only the recipe
fields it changes and starts from the previous cycle's best weights or, with `from_scratch`,
from fresh ones; its teachers can be earlier cycles, exported to int8 once.
"""

from __future__ import annotations

from pathlib import Path

from trainer.data import Dataset
from trainer.export import export_and_report
from trainer.recipe import Recipe
from trainer.run_folder import RunError, RunFolder, Say, read_json
from trainer.train import train

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


def chain_folders(root: Path, restarts: int) -> list[RunFolder]:
    """Cycle 1 lives in `root`, restart k in `root/restart<k>`."""
    return [RunFolder(root)] + [RunFolder(root / f"restart{k}") for k in range(1, restarts + 1)]


def final_folder(root: Path, restarts: int = len(RESTARTS), say: Say = print) -> RunFolder:
    """What `export` ships: the chain's last finished cycle, not a later one stopped part-way.

    With no finished cycle, the latest one with a model (its best so far); either way an
    unfinished cycle is named, so nobody ships a half-trained model without being told.
    """
    trained = [run for run in chain_folders(root, restarts) if run.best.is_file()]
    finished = [run for run in trained if run.finished()]
    chosen = finished[-1] if finished else trained[-1] if trained else RunFolder(root)
    if trained and not trained[-1].finished():
        done, planned = trained[-1].progress() or (0, 0)
        say(f"{trained[-1].root} is unfinished ({done} of {planned} epochs): exporting {chosen.root}")
    return chosen


def train_chain(
    dataset: Dataset,
    recipe: Recipe,
    root: Path,
    resume: bool,
    restarts: tuple[dict, ...] = RESTARTS,
    say: Say = print,
    epochs_given: bool = False,
    init_from: Path | None = None,
) -> RunFolder:
    """Cycle 1 (from scratch or `init_from`), then each restart from the previous cycle's best.

    A restart's fields replace those of the cycle before it. With `resume`, finished cycles are
    skipped and an interrupted one continues.
    """
    runs = chain_folders(root, len(restarts))
    train(dataset, recipe, runs[0], resume, say, epochs_given, init_from)
    cycle = Recipe.from_dict(read_json(runs[0].recipe), str(runs[0].recipe))
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
        train(dataset, cycle.replaced(overrides, f"restart {index}"), run, resume, say, init_from=start)
        cycle = Recipe.from_dict(read_json(run.recipe), str(run.recipe))  # what it ran with, even if resumed
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


def _cycle_teacher(dataset: Dataset, source: RunFolder, run: RunFolder, say: Say = print) -> Path:
    """An earlier cycle exported and verified as `models` would get it, in `<that cycle>/teacher/`, once."""
    teacher = source.root / "teacher" / "emotion.tflite"
    if teacher.is_file():
        return teacher
    say(f"exporting {source.best} as a teacher")
    if export_and_report(dataset, source, teacher.parent, tolerance_points=0.5) != 0:
        raise RunError(f"cannot export {source.best} as a teacher")
    return teacher
