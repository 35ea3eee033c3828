"""The optional config file: which emoji each class shows (and its alternatives), the model tier, and
whether the camera preview is drawn with terminal graphics.

    # ~/.config/emojitui/config.toml
    [emoji]
    happy = "😊"            # the main emoji for a class
    sad = ["😭", "😢"]      # or a list: main first, then alternatives

    [model]
    tier = "fast"           # pin a tier: "accurate", "fast" or "auto" (the default); --model overrides

    [display]
    graphics = "auto"       # the preview as a real image: "auto", "kitty", "sixel" or "off" (the default)

Unknown classes, keys, wrong types and values that are not a short emoji (control characters,
escape sequences, more than 16 characters) are one-line errors naming the file: a config
file never drives the terminal, and nothing is silently changed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from emojitui.engine.settings import GRAPHICS, TIERS
from emojitui.shared.emotions import CLASS_NAMES, DEFAULT_EMOJI, EmojiChoice, emoji_problem
from emojitui.shared.errors import UserError

SECTIONS = ("emoji", "model", "display")


@dataclass(slots=True)
class AppConfig:
    """What the config file sets: the emoji table and, when set, the model tier and the preview's graphics."""

    emoji: dict[str, EmojiChoice] = field(default_factory=lambda: dict(DEFAULT_EMOJI))
    model_tier: str | None = None
    graphics: str | None = None


def load_emoji_table(path: Path | None, required: bool = False) -> dict[str, EmojiChoice]:
    """Defaults overlaid with the `[emoji]` table of the config file, when there is one."""
    return load_config(path, required).emoji


def load_config(path: Path | None, required: bool = False) -> AppConfig:
    """The config file's settings over the defaults.

    `required`: the user named this file (`--config`, $EMOJITUI_CONFIG), so its absence is an error.
    """
    config = AppConfig()
    table = config.emoji
    if path is not None and path.is_dir():
        raise UserError(f"config file {path} is a folder: pass the .toml file inside it")
    if path is None or not path.is_file():
        if required:
            raise UserError(f"config file {path} not found: check the path that --config or EMOJITUI_CONFIG gives")
        return config
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"config file {path} cannot be read ({exc.strerror}): check its permissions") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text: save it as UTF-8 TOML") from None
    try:
        raw = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, a 5,000-digit number, [[[[... 5,000 deep
        raise UserError(f"config file {path} is not valid TOML ({exc}): fix or remove it") from None
    for name in raw:
        if name not in SECTIONS:
            kind = "table" if isinstance(raw[name], dict) else "key"
            tables = ", ".join(f"[{s}]" for s in SECTIONS)
            raise UserError(f"config file {path}: unknown {kind} {name!r} (the file has {tables} only)")
    section = raw.get("emoji", {})
    if not isinstance(section, dict):
        raise UserError(f"config file {path}: `emoji` must be a table ([emoji] with one line per class)")
    for name, value in section.items():
        if name not in CLASS_NAMES:
            raise UserError(f"config file {path}: unknown class {name!r} in [emoji] (use {', '.join(CLASS_NAMES)})")
        choices = [value] if isinstance(value, str) else value
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
            raise UserError(f"config file {path}: [emoji] {name} must be an emoji or a list of emoji")
        for choice in choices:
            if problem := emoji_problem(choice):
                raise UserError(f"config file {path}: [emoji] {name} {problem}: use an emoji")
        rest = [c for c in (*choices[1:], *table[name].all) if c != choices[0]]
        table[name] = EmojiChoice(choices[0], tuple(dict.fromkeys(rest))[:4])
    config.model_tier = _choice(raw, path, "model", "tier", TIERS)
    config.graphics = _choice(raw, path, "display", "graphics", GRAPHICS)
    return config


def _choice(raw: dict, path: Path, section: str, key: str, values: tuple[str, ...]) -> str | None:
    """`[section] key`, the only key of its table, one of `values` (None when absent)."""
    table = raw.get(section, {})
    if not isinstance(table, dict):
        raise UserError(f"config file {path}: `{section}` must be a table ([{section}] with {key} = ...)")
    for name in table:
        if name != key:
            raise UserError(f"config file {path}: unknown key {name!r} in [{section}] (only {key})")
    value = table.get(key)
    if value is not None and value not in values:
        raise UserError(f"config file {path}: [{section}] {key} must be one of {', '.join(values)}, not {value!r}")
    return value
