"""The model card: the JSON file beside each `.tflite` that says how to use and trust it.

Shared by the trainer (which writes it) and the app (which reads labels and the input spec
from it). Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.emotions import check_class_name

CARD_FORMAT_VERSION = 1


class ModelCardError(ValueError):
    """A model card that is missing, unreadable or does not describe a usable model."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What the model expects: a `height` x `width` crop; `pixels: raw` means 0..255 values."""

    width: int = 48
    height: int = 48
    channels: int = 1
    pixels: str = "raw"


@dataclass(slots=True)
class ModelCard:
    """Labels in output order, the input spec, and free-form metrics/recipe/data provenance."""

    labels: list[str]
    input: InputSpec = field(default_factory=InputSpec)
    name: str = "emotion"
    format_version: int = CARD_FORMAT_VERSION
    created: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    tier: str = ""  # "accurate", "fast" or "teacher": what the factory made it for
    teachers: list[dict[str, Any]] = field(default_factory=list)  # the files it was distilled from, by content
    # its mean output on FER-2013 PublicTest neutral faces, flip-averaged, by class: what neutral
    # calibration pulls a resting face towards (each model has its own; the export measures it)
    typical_neutral: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, raw: Any) -> ModelCard:
        """The one parse-and-validate point: any JSON value gives a card or a one-line ModelCardError."""
        raw = _object(raw, "the card", _CARD_KEYS)
        labels = raw.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
            raise ModelCardError(f"model card labels must be a non-empty list of class names, got {_short(labels)}")
        try:
            labels = [check_class_name(label) for label in labels]
        except ValueError as exc:
            raise ModelCardError(f"model card is not valid: {_short(str(exc), 120)}") from None
        if len(set(labels)) != len(labels):
            raise ModelCardError("model card labels must be a non-empty list of distinct classes")
        spec_raw = _object(raw.get("input", {}), "input", set(InputSpec.__dataclass_fields__))
        spec = InputSpec(
            **{name: _typed(spec_raw, name, type(getattr(InputSpec(), name)), f"input.{name}") for name in spec_raw}
        )
        if spec.channels not in (1, 3) or not (0 < spec.width <= 4096 and 0 < spec.height <= 4096):
            raise ModelCardError(f"model card input spec is not usable: {spec}")
        if spec.pixels != "raw":
            raise ModelCardError(f"model card pixels must be 'raw', got {_short(spec.pixels)}")
        version = _typed(raw, "format_version", int, default=CARD_FORMAT_VERSION)
        if not 1 <= version <= CARD_FORMAT_VERSION:
            raise ModelCardError(
                f"model card format_version {version} is not one this emojitui reads (1 to {CARD_FORMAT_VERSION})"
            )
        return cls(
            labels=labels,
            input=spec,
            name=_typed(raw, "name", str, default="emotion"),
            format_version=version,
            created=_typed(raw, "created", str, default=""),
            metrics=_typed(raw, "metrics", dict, default={}),
            recipe=_typed(raw, "recipe", dict, default={}),
            data=_typed(raw, "data", dict, default={}),
            tier=_typed(raw, "tier", str, default=""),
            teachers=_teachers(raw),
            typical_neutral=_typical_neutral(raw, labels),
        )


_CARD_KEYS = {
    *("labels", "input", "name", "format_version", "created", "metrics", "recipe", "data", "tier", "teachers"),
    "typical_neutral",
}
_TYPE_NAMES = {int: "a whole number", str: "a string", dict: "an object", list: "a list"}


def _short(value: Any, limit: int = 40) -> str:
    """A value for an error message: repr (so no control character reaches the terminal), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _object(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelCardError(f"model card {where} must be a JSON object, got {_short(value)}")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise ModelCardError(
            f"model card {where} has unknown key(s) {_short(unknown)} (expected {', '.join(sorted(keys))})"
        )
    return value


def _typed(raw: dict[str, Any], key: str, kind: type, where: str = "", default: Any = None) -> Any:
    """`raw[key]` if it has type `kind` (a bool is not a number here; null is not a value)."""
    if key not in raw and default is not None:
        return default
    value = raw.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ModelCardError(f"model card {where or key} must be {_TYPE_NAMES[kind]}, got {_short(value)}")
    return value


def _teachers(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """`teachers`: a list of JSON objects (the files a student was distilled from), [] when absent."""
    teachers = _typed(raw, "teachers", list, default=[])
    for index, teacher in enumerate(teachers):
        if not isinstance(teacher, dict):
            raise ModelCardError(f"model card teachers[{index}] must be an object, got {_short(teacher)}")
    return teachers


def _typical_neutral(raw: dict[str, Any], labels: list[str]) -> dict[str, float]:
    """`typical_neutral`: a probability for each of the card's labels, {} when absent."""
    typical = _typed(raw, "typical_neutral", dict, default={})
    if typical and sorted(typical) != sorted(labels):
        raise ModelCardError(f"model card typical_neutral must give each label a probability, got {_short(typical)}")
    for name, value in typical.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not 0.0 <= value <= 1.0:
            raise ModelCardError(f"model card typical_neutral.{name} must be a probability, got {_short(value)}")
    return {name: float(value) for name, value in typical.items()}


def card_path_for(model_path: Path) -> Path:
    """The card lives beside the model: `emotion.tflite` -> `emotion.json`."""
    return model_path.with_suffix(".json")


def read_card(path: Path) -> ModelCard:
    """Read and validate a card; every failure is a `ModelCardError` naming the file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelCardError(f"model card {path} not found (it belongs beside the .tflite)") from None
    except OSError as exc:
        problem = (
            "is a folder: put the card exported with the model there"
            if path.is_dir()
            else (f"cannot be read ({exc.strerror}): check its permissions")
        )
        raise ModelCardError(f"model card {path} {problem}") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 5,000-digit number, [[[[... 5,000 deep
        raise ModelCardError(
            f"model card {path} is not readable JSON ({exc}): restore the card exported with the model"
        ) from None
    try:
        return ModelCard.from_dict(raw)
    except ModelCardError as exc:
        raise ModelCardError(f"{path}: {exc}") from None


def write_card(card: ModelCard, path: Path) -> None:
    write_text_atomic(path, card.to_json())
