"""What decides a model's quality, in one place: the recipe, copied into the run folder and the card.

The factory's recipes are JSON files in `trainer/recipes/` (teacher, student, student-fast);
`Recipe()`'s defaults are the teacher recipe, and a file names the fields it changes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emojitui.shared.emotions import CLASS_NAMES
from trainer.augment import AugmentConfig
from trainer.run_folder import RunError, read_json

RECIPES = Path(__file__).with_name("recipes")
NETWORKS = ("vgg", "separable")


@dataclass
class Recipe:
    """Hyper-parameters of one run; the defaults are the teacher recipe (`recipes/teacher.json`)."""

    epochs: int = 95  # the most epochs; `budget_minutes` may fit fewer into the time
    batch_size: int = 128
    peak_lr: float = 0.05
    warmup_epochs: int = 3
    momentum: float = 0.9
    weight_decay: float = 0.00025
    label_smoothing: float = 0.1
    class_weight_power: float = 0.25
    dropout: float = 0.3
    # "vgg": 3x3 convolutions; "separable": each 3x3 convolution after the stem is a depthwise 3x3
    # and a pointwise 1x1, a third to a ninth of the multiply-adds (for CPUs without dot products).
    network: str = "vgg"
    stem: int = 32
    stages: tuple[tuple[int, int], ...] = ((64, 2), (128, 4), (224, 3))
    patience: int = 1000
    seed: int = 101
    jit_compile: bool = False  # TensorFlow's: no faster on the 2-core CPU, slower to start; JAX always compiles
    # bfloat16 compute, float32 weights and logits (export converts a float32 copy): true, false, or
    # "auto": bfloat16 where the CPU has AMX-BF16 (1.7-2.2x a step, measured), float32 elsewhere
    # (AVX512_BF16 alone: at most 1.2x; the GPU's runs are float32). A new run writes what it chose.
    mixed_precision: bool | str = "auto"
    # Wall-clock minutes for the run: the epoch count is fitted to it from a measured epoch time,
    # so the cosine schedule ends inside it, and training stops (best epoch kept) when it runs out.
    budget_minutes: float = 150.0
    # Distillation: .tflite teachers whose mean probabilities over each training image's views
    # replace `distill_weight` of its target. Independently trained models disagree on a fifth of
    # the faces, so their average is a stronger teacher than any one of them.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.7
    # Pixels the teacher's views are also shifted by (left, right, up, down; 0 = the face and its
    # mirror only): 2-pixel shifts read 0.6 points higher on PublicTest than flip averaging alone.
    teacher_shift: int = 2
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(erase_probability=0.3, noise=10.0))
    init_from: dict = field(default_factory=dict)  # a fine-tuning run's starting file: lineage for the card
    # Added to the exported model's logits, class name -> offset (natural log; -0.1 scales that
    # class's odds by 0.9), never used in training: a prior correction chosen on PublicTest, for the
    # drift of webcam-like noise towards "sad" that the student inherits from FER-2013.
    logit_offsets: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The JSON form written to recipe.json and the card (lists, not tuples)."""
        recipe = asdict(self)
        recipe["stages"] = [list(s) for s in self.stages]
        recipe["teachers"] = list(self.teachers)
        return recipe

    @classmethod
    def from_dict(cls, raw: dict, where: str = "recipe") -> Recipe:
        """A recipe from its JSON form (as `as_dict` writes it); a RunError when it is not one."""
        try:
            raw = dict(raw)
            raw["stages"] = tuple(tuple(s) for s in raw["stages"])
            raw["teachers"] = tuple(raw.get("teachers") or ())
            aug = dict(raw.pop("augment"))
            aug["erase_area"] = tuple(aug["erase_area"])
            return cls(**raw, augment=AugmentConfig(**aug))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(
                f"{where} is not a recipe this trainer can read ({exc!r}): delete the run or fix it"
            ) from None

    @classmethod
    def named(cls, name: str, folder: Path = RECIPES) -> Recipe:
        """`teacher`, `student` or `student-fast` from the recipes folder (or any JSON file path)."""
        path = Path(name) if name.endswith(".json") else folder / f"{name}.json"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in folder.glob("*.json")))
            raise RunError(f"no recipe {path}: pass one of {known} or a .json file")
        return cls.with_overrides(path)

    @classmethod
    def with_overrides(cls, path: Path) -> Recipe:
        """The defaults with the fields in a JSON file replaced (`augment` merged key by key)."""
        return cls().replaced(read_json(path, f"fix the JSON in {path}"), str(path))

    def replaced(self, overrides: dict, where: str = "recipe") -> Recipe:
        """A copy with some fields replaced (`augment` merged key by key); unknown or ill-typed fields are an error."""
        raw, overrides = self.as_dict(), dict(overrides)
        overrides.pop("about", None)  # a recipe file's own note for its readers
        augment = overrides.get("augment", {})
        if not isinstance(augment, dict):
            raise RunError(f"{where}: augment should be an object of augmentation fields, not {augment!r}")
        unknown = sorted(set(overrides) - set(raw)) + sorted(set(augment) - set(raw["augment"]))
        if unknown:
            raise RunError(
                f"{where}: unknown recipe fields {', '.join(unknown)} (the fields: `Recipe` in trainer/recipe.py)"
            )
        for name, value in overrides.items():
            if name != "augment":
                _check_field(name, value, raw[name], where)
        for name, value in augment.items():
            _check_field(name, value, raw["augment"][name], where)
        raw["augment"] |= overrides.pop("augment", {})
        return Recipe.from_dict(raw | overrides, where)


def _check_field(name: str, value: object, default: object, where: str) -> None:
    """A RunError unless `value` has the JSON type of the field's default: typos fail here, not an hour in."""
    expected = _FIELD_SHAPES.get(name)
    if expected is not None:
        wanted, ok = expected[0], expected[1](value)
    elif isinstance(default, bool):
        wanted, ok = "true or false", isinstance(value, bool)
    elif isinstance(default, int):
        wanted, ok = "a whole number", isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        wanted, ok = "a number", _is_number(value)
    else:
        wanted, ok = f"a {type(default).__name__}", isinstance(value, type(default))
    if ok and name in ("epochs", "batch_size", "patience"):
        wanted, ok = "a whole number of at least 1", value >= 1
    if ok and name == "budget_minutes":
        wanted, ok = "a number of minutes above 0", value > 0
    if not ok:
        raise RunError(f"{where}: {name} should be {wanted}, not {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_pair(value: object, item) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(item(v) for v in value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_finite(value: object) -> bool:
    return _is_number(value) and math.isfinite(value)


_FIELD_SHAPES = {
    "stages": (
        "a list of [filters, convolutions] pairs",
        lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(_is_pair(s, _is_count) for s in v),
    ),
    "network": (f"one of {', '.join(NETWORKS)}", lambda v: v in NETWORKS),
    "erase_area": ("[smallest, largest] fractions", lambda v: _is_pair(v, _is_number)),
    "teachers": (
        "a list of .tflite paths",
        lambda v: isinstance(v, list | tuple) and all(isinstance(t, str) for t in v),
    ),
    "init_from": ("an object", lambda v: isinstance(v, dict)),
    "mixed_precision": ('true, false or "auto"', lambda v: isinstance(v, bool) or v == "auto"),
    "logit_offsets": (
        f"an object of class names ({', '.join(CLASS_NAMES)}) to finite numbers",
        lambda v: (
            isinstance(v, dict) and all(k in CLASS_NAMES and _is_number(o) and math.isfinite(o) for k, o in v.items())
        ),
    ),
}


def cycles(card_recipe: dict) -> list[tuple[int, int]]:
    """(epochs run, epochs planned) of each run behind a model, first first: from its card's
    recipe, the run itself and each run it was fine-tuned from (`init_from`), and theirs."""
    runs = []
    while card_recipe:
        planned = int(card_recipe.get("epochs", 0))
        runs.insert(0, (int(card_recipe.get("epochs_run", planned)), planned))
        card_recipe = card_recipe.get("init_from", {}).get("recipe") or {}
    return runs


def epochs_in_all(card_recipe: dict) -> int:
    """Epochs behind a model: those of every run in its lineage."""
    return sum(run for run, _ in cycles(card_recipe))
