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
