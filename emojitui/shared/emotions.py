"""The seven FER-2013 expression classes and their emoji.

The one home shared by the trainer and the app (along with `model_card`), so class names
and emoji are never copied. Standard library only.
"""

from __future__ import annotations

import unicodedata
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


# An emoji from a file (config, history) is at most this many code points: enough for a family
# or flag sequence (ZWJ, skin tones, tags), too few to fill a panel.
MAX_EMOJI_CHARS = 16
_ZWJ, _TAGS = "\u200d", range(0xE0020, 0xE0080)  # joiners and flag tags: the format characters emoji use


def emoji_problem(text: object) -> str | None:
    """Why `text` cannot be shown as an emoji, or None when it can.

    Files are never allowed to drive the terminal: control characters (ESC, BEL, C1 codes),
    line breaks and invisible format characters other than emoji joiners are refused.
    """
    if not isinstance(text, str) or not text.strip():
        return "must be a non-empty string"
    if len(text) > MAX_EMOJI_CHARS:
        return f"is {len(text)} characters long (at most {MAX_EMOJI_CHARS})"
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or (
            category == "Cf" and char != _ZWJ and ord(char) not in _TAGS
        ):
            return f"holds the control character U+{ord(char):04X}"
    return None
