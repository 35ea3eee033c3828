"""The seven FER-2013 expression classes and their emoji.

The one home shared by the trainer and the app (along with `model_card`), so class names
and emoji are never copied. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Canonical order: the FER-2013 `emotion` column codes 0..6 of `fer2013.csv`.
CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

FER_CSV_CODES: dict[int, str] = dict(enumerate(CLASS_NAMES))


@dataclass(frozen=True, slots=True)
class EmojiChoice:
    """The emoji shown for one class: a main one and a few alternatives users may pick."""

    main: str
    alternatives: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return (self.main, *self.alternatives)


DEFAULT_EMOJI: dict[str, EmojiChoice] = {
    "angry": EmojiChoice("😠", ("😡", "🤬", "👿")),
    "disgust": EmojiChoice("🤢", ("🤮", "😖", "😒")),
    "fear": EmojiChoice("😨", ("😱", "😰", "😧")),
    "happy": EmojiChoice("😄", ("😊", "😁", "🙂")),
    "sad": EmojiChoice("😢", ("😞", "😭", "🙁")),
    "surprise": EmojiChoice("😮", ("😲", "🤯", "😯")),
    "neutral": EmojiChoice("😐", ("😶", "🙂", "😑")),
}

# One colour per class for bars, boxes and plots (Rich / matplotlib colour names as hex).
CLASS_COLOURS: dict[str, str] = {
    "angry": "#e5484d",
    "disgust": "#46a758",
    "fear": "#8e4ec6",
    "happy": "#ffb224",
    "sad": "#0091ff",
    "surprise": "#f76b15",
    "neutral": "#8b8d98",
}


def check_class_name(name: str) -> str:
    """Return `name` if it is one of the seven classes, else raise a helpful ValueError."""
    if name not in CLASS_NAMES:
        raise ValueError(f"unknown class {name!r}: expected one of {', '.join(CLASS_NAMES)}")
    return name
