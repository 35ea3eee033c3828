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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelCard:
        try:
            labels = [check_class_name(str(label)) for label in raw["labels"]]
            spec = InputSpec(**raw.get("input", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelCardError(f"model card is not valid: {exc}") from None
        if len(set(labels)) != len(labels) or not labels:
            raise ModelCardError("model card labels must be a non-empty list of distinct classes")
        if spec.channels not in (1, 3) or spec.width <= 0 or spec.height <= 0:
            raise ModelCardError(f"model card input spec is not usable: {spec}")
        if spec.pixels != "raw":
            raise ModelCardError(f"model card pixels must be 'raw', got {spec.pixels!r}")
        return cls(
            labels=labels,
            input=spec,
            name=str(raw.get("name", "emotion")),
            format_version=int(raw.get("format_version", CARD_FORMAT_VERSION)),
            created=str(raw.get("created", "")),
            metrics=dict(raw.get("metrics", {})),
            recipe=dict(raw.get("recipe", {})),
            data=dict(raw.get("data", {})),
            tier=str(raw.get("tier", "")),
            teachers=list(raw.get("teachers", [])),
        )


def card_path_for(model_path: Path) -> Path:
    """The card lives beside the model: `emotion.tflite` -> `emotion.json`."""
    return model_path.with_suffix(".json")


def read_card(path: Path) -> ModelCard:
    """Read and validate a card; every failure is a `ModelCardError` naming the file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelCardError(f"model card {path} not found (it belongs beside the .tflite)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelCardError(f"model card {path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ModelCardError(f"model card {path} must hold a JSON object")
    try:
        return ModelCard.from_dict(raw)
    except ModelCardError as exc:
        raise ModelCardError(f"{path}: {exc}") from None


def write_card(card: ModelCard, path: Path) -> None:
    write_text_atomic(path, card.to_json())
