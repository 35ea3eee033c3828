"""What decides a model's quality, in one place: the recipe, copied into the run folder and the card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from trainer.augment import AugmentConfig
from trainer.run_folder import RunError, read_json


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
        """The JSON form written to recipe.json and the card (lists, not tuples)."""
        recipe = asdict(self)
        recipe["stages"] = [list(s) for s in self.stages]
        recipe["full_resolution"] = list(self.full_resolution)
        recipe["teachers"] = list(self.teachers)
        return recipe

    @classmethod
    def from_dict(cls, raw: dict, where: str = "recipe") -> Recipe:
        """A recipe from its JSON form (as `as_dict` writes it); a RunError when it is not one."""
        try:
            raw = dict(raw)
            raw["stages"] = tuple(tuple(s) for s in raw["stages"])
            raw["full_resolution"] = tuple(raw.get("full_resolution") or (0, 0))
            raw["teachers"] = tuple(raw.get("teachers") or ())
            aug = dict(raw.pop("augment"))
            aug["erase_area"] = tuple(aug["erase_area"])
            return cls(**raw, augment=AugmentConfig(**aug))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(
                f"{where} is not a recipe this trainer can read ({exc!r}): delete the run or fix it"
            ) from None

    @classmethod
    def with_overrides(cls, path: Path) -> Recipe:
        """The defaults with the fields in a JSON file replaced (`augment` merged key by key)."""
        return cls().replaced(read_json(path, f"fix the JSON in {path}"), str(path))

    def replaced(self, overrides: dict, where: str = "recipe") -> Recipe:
        """A copy with some fields replaced (`augment` merged key by key); unknown or ill-typed fields are an error."""
        raw, overrides = self.as_dict(), dict(overrides)
        augment = overrides.get("augment", {})
        if not isinstance(augment, dict):
            raise RunError(f"{where}: augment should be an object of augmentation fields, not {augment!r}")
        unknown = sorted(set(overrides) - set(raw)) + sorted(set(augment) - set(raw["augment"]))
        if unknown:
            raise RunError(f"{where}: unknown recipe fields {', '.join(unknown)}")
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
    if not ok:
        raise RunError(f"{where}: {name} should be {wanted}, not {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_pair(value: object, item) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(item(v) for v in value)


def _is_paths(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(t, str) for t in value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_FIELD_SHAPES = {
    "stages": (
        "a list of [filters, convolutions] pairs",
        lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(_is_pair(s, _is_count) for s in v),
    ),
    "full_resolution": ("[filters, convolutions]", lambda v: _is_pair(v, _is_count)),
    "erase_area": ("[smallest, largest] fractions", lambda v: _is_pair(v, _is_number)),
    "teachers": (
        "a list of .tflite paths",
        lambda v: isinstance(v, list | tuple) and all(isinstance(t, str) for t in v),
    ),
    "init_from": ("an object", lambda v: isinstance(v, dict)),
}
