"""`python -m trainer {factory,train,export,evaluate,cost}`: the trainer's command line.

`factory` (what `just train` runs) makes the shipped models in steps: teachers, the accurate
student, the fast student, export (trainer/factory.py). `train` and `export` run one recipe by
hand (experiments), `evaluate` measures any compatible .tflite, `cost` a recipe's network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from emojitui.shared.output import error_line

if TYPE_CHECKING:  # imported when a command runs, so `--help` needs no OpenCV, Keras or TensorFlow
    from trainer.data import Dataset
    from trainer.recipe import Recipe

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = REPO / "runs" / "factory"
DEFAULT_MODELS = REPO / "models"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emojitui"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data", help="FER-2013 folder (train/, test/) or fer2013.csv; default $EMOJITUI_FER2013 or ../shared"
        )
        p.add_argument(
            "--cache", type=Path, default=DEFAULT_CACHE, help="where decoded arrays are cached (default %(default)s)"
        )
        p.add_argument(
            "--limit", type=_count, default=0, help="use at most this many images per class and split (smoke runs)"
        )

    def budget_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--budget",
            type=_minutes,
            help="minutes for each training run: its epochs are fitted to it from a measured epoch time, "
            "and it stops (best epoch kept) when they run out (default: the recipe's budget_minutes)",
        )

    def export_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--models", type=Path, default=DEFAULT_MODELS, help="where the .tflite files go (default %(default)s)"
        )
        p.add_argument(
            "--tolerance", type=float, default=0.5, help="allowed int8 vs float PublicTest accuracy drop, points"
        )

    factory = sub.add_parser("factory", help="teachers -> accurate student -> fast student -> export (just train)")
    data_options(factory)
    export_options(factory)
    budget_option(factory)
    factory.add_argument("--step", choices=STEP_NAMES, help="run one step only (default: all, in order)")
    factory.add_argument("--fresh", action="store_true", help="redo the step(s) even where their output exists")
    factory.add_argument("--teachers", type=_positive, default=4, help="how many teachers (default %(default)s)")
    factory.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="run folders (default %(default)s)")
    factory.add_argument(
        "--recipes", type=Path, help="folder of teacher/student/student-fast.json (default the trainer's)"
    )
    factory.add_argument(
        "--pack",
        type=Path,
        metavar="FOLDER",
        help="train nothing: write each student step's recipe and its teachers' targets into FOLDER/<step>/, "
        "for a run on a machine without LiteRT (trainer/offline_gpu.sh; just gpu-pack)",
    )

    train = sub.add_parser("train", help="train or resume one run of a recipe (experiments)")
    data_options(train)
    budget_option(train)
    train.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, log")
    train.add_argument("--recipe", default="teacher", help="teacher, student, student-fast or a .json file")
    train.add_argument("--epochs", type=_positive, help="the most epochs (default from the recipe)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--fresh", action="store_true", help="delete the run in --out and start over")
    train.add_argument(
        "--init-from", type=Path, help="fine-tune: start from this .keras or int8 .tflite file of the same network"
    )

    export = sub.add_parser("export", help="export one run to int8 TFLite, verify it, evaluate, write the card")
    data_options(export)
    export_options(export)
    export.add_argument("--out", type=Path, required=True, help="the run folder to export")
    export.add_argument(
        "--name", default="emotion", help="file name in --models, without .tflite (default %(default)s)"
    )
    export.add_argument("--tier", default="accurate", choices=("accurate", "fast", "teacher"))

    evaluate = sub.add_parser("evaluate", help="evaluate any compatible .tflite on PrivateTest")
    data_options(evaluate)
    evaluate.add_argument("--model", type=Path, default=DEFAULT_MODELS / "emotion.tflite")
    evaluate.add_argument("--out", type=Path, help="folder for the confusion matrix PNG and JSON report")
    evaluate.add_argument("--split", default="test", choices=("train", "val", "test"))
    evaluate.add_argument(
        "--pixels",
        default="raw",
        choices=("raw", "unit", "signed"),
        help="what a float-input model expects: 0..255, 0..1 or -1..1 (default raw; int8 models carry their own)",
    )

    compare = sub.add_parser(
        "compare", help="a candidate .tflite against a shipped one on PublicTest and wild-dev, beyond their noise?"
    )
    data_options(compare)
    compare.add_argument("candidate", type=Path, help="the .tflite file to judge (its card beside it)")
    compare.add_argument(
        "--against",
        type=Path,
        default=DEFAULT_MODELS / "emotion.tflite",
        help="the model to beat (default %(default)s)",
    )
    compare.add_argument(
        "--resamples", type=_positive, default=2000, help="paired bootstrap draws (default %(default)s)"
    )

    cost = sub.add_parser("cost", help="a recipe's network before training: multiply-adds, parameters, int8 latency")
    cost.add_argument("recipes", nargs="+", help="teacher, student, student-fast or .json files")
    return parser


STEP_NAMES = ("teachers", "student", "fast", "export")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a number of minutes") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of minutes above 0")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not at least 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from emojitui.shared.model_card import ModelCardError
    from trainer.data import DataError

    try:
        if args.command not in ("evaluate", "compare"):  # the commands that load Keras, hence TensorFlow
            from emojitui.shared.native import quiet_native_stderr

            with quiet_native_stderr():  # its start-up lines (oneDNN, CPU features), before any message of ours
                import keras  # noqa: F401
        return _run(args)
    except (DataError, ModelCardError) as exc:  # ModelCardError: a teacher's or model's card
        error_line(f"error: {exc}")
        return 2
    except RuntimeError as exc:  # ExportError and friends: a loud one-line failure
        error_line(f"error: {exc}")
        return 1
    except OSError as exc:  # a disk full or a folder not writable, while writing the run or the model
        reason = f"{exc.strerror or exc}: {exc.filename or ''} (check the path and free space)"
        error_line(f"error: {reason}")
        return 1
    except KeyboardInterrupt:
        print("interrupted: run again with --resume to continue", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "evaluate":
        from trainer.evaluate import evaluate_command

        if not args.model.is_file():  # before minutes of decoding a dataset that was never downloaded
            error_line(f"error: model {args.model} not found: pass --model PATH to a .tflite file")
            return 2
        return evaluate_command(args.model, _dataset(args), args.split, args.out, args.pixels)
    if args.command == "compare":
        from trainer.compare import compare_command
        from trainer.data import load_wild_dev

        missing = next((m for m in (args.candidate, args.against) if not m.is_file()), None)
        if missing is not None:  # before decoding the dataset
            error_line(f"error: model {missing} not found: pass the path of a .tflite file")
            return 2
        return compare_command(args.candidate, args.against, _dataset(args), load_wild_dev(), args.resamples)
    if args.command == "cost":
        from trainer.cost import cost_command

        return cost_command(args.recipes)
    if args.command == "factory":
        from trainer.data import load_wild_dev
        from trainer.factory import STEPS, STUDENTS, Factory
        from trainer.recipe import RECIPES

        packed = tuple(step for step in STUDENTS if args.step in (None, step))
        if args.pack is not None and not packed:  # before minutes of decoding
            print(f"error: --pack writes the student steps ({', '.join(STUDENTS)}), not {args.step}", file=sys.stderr)
            return 2
        factory = Factory(
            _dataset(args),
            wild_dev=load_wild_dev(),
            runs=args.runs,
            models=args.models,
            recipes=args.recipes or RECIPES,
            teachers=args.teachers,
            budget_minutes=args.budget,
            fresh=args.fresh,
            tolerance_points=args.tolerance,
        )
        if args.pack is not None:
            factory.pack_students(args.pack, packed)
            return 0
        factory.run((args.step,) if args.step else STEPS)
        return 0
    from trainer.run_folder import RunFolder

    if args.command == "export":
        from trainer.data import load_wild_dev
        from trainer.export import export_and_report

        dataset, wild = _dataset(args), load_wild_dev()
        return export_and_report(dataset, RunFolder(args.out), args.models, args.tolerance, args.name, args.tier, wild)
    from trainer.train import train

    recipe = _recipe(args)  # a bad file fails before decoding
    dataset = _dataset(args)
    if args.fresh and args.out.is_dir():
        shutil.rmtree(args.out)
    elif args.resume and (stopped := RunFolder(args.out).reopen_after_budget()) is not None:
        print(f"{args.out} was stopped by its budget after epoch {stopped}: going on")
    train(
        dataset,
        recipe,
        RunFolder(args.out),
        resume=args.resume and not args.fresh,
        epochs_given=bool(args.epochs),
        init_from=args.init_from,
        name=args.out.name,
    )
    return 0


def _recipe(args: argparse.Namespace) -> Recipe:
    """The named recipe with `--epochs` and `--budget` applied."""
    import dataclasses

    from trainer.recipe import Recipe

    recipe = Recipe.named(args.recipe)
    if args.epochs:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    if args.budget:
        recipe = dataclasses.replace(recipe, budget_minutes=args.budget)
    return recipe


def _dataset(args: argparse.Namespace) -> Dataset:
    """The dataset the options name, cut to `--limit` images per class, with what was skipped said."""
    from trainer.data import limit_per_class, load_dataset, resolve_data_dir

    dataset = load_dataset(resolve_data_dir(args.data), args.cache)
    if getattr(args, "limit", 0):
        dataset = limit_per_class(dataset, args.limit)
    if dataset.skipped:
        print(f"skipped while loading: {dict(dataset.skipped)}")
    return dataset
