"""`python -m trainer {train,export,evaluate,all}`: the trainer's command line.

`all` (what `just train` runs) trains or resumes, exports the int8 TFLite file, verifies it in
LiteRT, evaluates it on PrivateTest and writes the model card and report.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a command runs, so `--help` needs no OpenCV, Keras or TensorFlow
    from trainer.data import Dataset
    from trainer.recipe import Recipe

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RUN = REPO / "runs" / "emotion"
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

    def run_options(p: argparse.ArgumentParser) -> None:
        data_options(p)
        p.add_argument(
            "--out", type=Path, default=DEFAULT_RUN, help="run folder: checkpoints, log (default %(default)s)"
        )
        p.add_argument(
            "--restarts",
            type=_count,
            help="warm-restart cycles after the first (default: all in the recipe; 0 trains cycle 1 only)",
        )
        p.add_argument(
            "--limit", type=_count, default=0, help="use at most this many images per class and split (smoke runs)"
        )

    def train_options(p: argparse.ArgumentParser) -> None:
        run_options(p)
        p.add_argument("--epochs", type=_positive, help="number of epochs (default from the recipe)")
        p.add_argument("--batch-size", type=_positive, help="batch size (default from the recipe)")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
        p.add_argument("--fresh", action="store_true", help="delete the run in --out and start over")
        p.add_argument(
            "--init-from",
            type=Path,
            help="start a new run from this .keras model's or int8 .tflite file's weights (warm restart)",
        )
        p.add_argument(
            "--recipe",
            type=Path,
            help='JSON file of recipe fields that replace the defaults, e.g. {"epochs": 60, "peak_lr": 0.02}',
        )

    def export_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--models",
            type=Path,
            default=DEFAULT_MODELS,
            help="where emotion.tflite and its card go (default %(default)s)",
        )
        p.add_argument(
            "--tolerance", type=float, default=0.5, help="allowed int8 vs float PublicTest accuracy drop, points"
        )

    train_options(sub.add_parser("train", help="train or resume a run"))
    export = sub.add_parser(
        "export", help="export a run's last finished cycle to int8 TFLite, verify it, evaluate, write the card"
    )
    run_options(export)
    export_options(export)
    everything = sub.add_parser("all", help="train (or resume), then export, verify, evaluate and report")
    train_options(everything)
    export_options(everything)
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
    return parser


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
    from trainer.data import DataError

    try:
        return _run(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # ExportError and friends: a loud one-line failure
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a disk full or a folder not writable, while writing the run or the model
        print(f"error: {exc.strerror or exc}: {exc.filename or ''} (check the path and free space)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run again with --resume to continue", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "evaluate":
        from trainer.evaluate import evaluate_command

        if not args.model.is_file():  # before minutes of decoding a dataset that was never downloaded
            print(f"error: model {args.model} not found: pass --model PATH to a .tflite file", file=sys.stderr)
            return 2
        return evaluate_command(args.model, _dataset(args), args.split, args.out, args.pixels)
    from trainer.chain import RESTARTS, final_folder, train_chain

    restarts = RESTARTS if args.restarts is None else RESTARTS[: args.restarts]
    if args.command == "export":
        dataset, shipped = _dataset(args), final_folder(args.out, len(restarts))
    else:
        recipe = _recipe(args.recipe, args.init_from)  # a bad file fails before decoding
        if args.epochs:
            recipe.epochs = args.epochs
        if args.batch_size:
            recipe.batch_size = args.batch_size
        dataset = _dataset(args)
        if args.fresh and args.out.is_dir():
            shutil.rmtree(args.out)
        shipped = train_chain(
            dataset,
            recipe,
            args.out,
            resume=args.resume and not args.fresh,
            restarts=restarts,
            epochs_given=bool(args.epochs),
            init_from=args.init_from,
        )
    if args.command in ("export", "all"):
        from trainer.export import export_and_report

        return export_and_report(dataset, shipped, args.models, args.tolerance)
    return 0


# The recipe fields that fix a network's shape: a warm start takes them from its source unless told otherwise.
ARCHITECTURE_FIELDS = ("stem", "stages", "full_resolution")


def _recipe(recipe_file: Path | None, init_from: Path | None) -> Recipe:
    """The default recipe with `--recipe`'s fields, on top of the network shape `--init-from` was trained with
    (its model card, or its run's recipe.json), so `--init-from models/emotion.tflite` continues that network."""
    from trainer.recipe import Recipe
    from trainer.run_folder import read_json

    given = read_json(recipe_file, f"fix the JSON in {recipe_file}") if recipe_file else {}
    inherited = {name: value for name, value in _source_recipe(init_from).items() if name in ARCHITECTURE_FIELDS}
    return Recipe().replaced(inherited | given, str(recipe_file or init_from or "recipe"))


def _source_recipe(init_from: Path | None) -> dict:
    """The recipe a warm start's source recorded: the card beside a .tflite, recipe.json beside a .keras; {} if none."""
    from emojitui.shared.model_card import ModelCardError, card_path_for, read_card
    from trainer.run_folder import RunError, read_json

    if init_from is None:
        return {}
    try:
        if init_from.suffix == ".tflite":
            return dict(read_card(card_path_for(init_from)).recipe)
        return read_json(init_from.parent / "recipe.json")
    except (ModelCardError, RunError):  # no record: the recipe's own shape, checked against the weights later
        return {}


def _dataset(args: argparse.Namespace) -> Dataset:
    """The dataset the options name, cut to `--limit` images per class, with what was skipped said."""
    from trainer.data import limit_per_class, load_dataset, resolve_data_dir

    dataset = load_dataset(resolve_data_dir(args.data), args.cache)
    if getattr(args, "limit", 0):
        dataset = limit_per_class(dataset, args.limit)
    if dataset.skipped:
        print(f"skipped while loading: {dict(dataset.skipped)}")
    return dataset
