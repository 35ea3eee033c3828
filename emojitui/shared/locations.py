"""Where emojitui reads and writes: the model, config, history and snapshots.

XDG on Linux (and the same layout elsewhere), each overridable by an environment variable or
a command-line option. Nothing is ever sent anywhere: these are all local paths.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # emojitui/
ASSETS_DIR = PACKAGE_DIR / "assets"
EMOJI_DIR = ASSETS_DIR / "emoji"
DEMO_DIR = ASSETS_DIR / "demo"


def models_dir() -> Path:
    """Where the tiers' files are: $EMOJITUI_MODELS_DIR, else `models/` of the checkout, else the wheel's copy."""
    override = os.environ.get("EMOJITUI_MODELS_DIR")
    if override:
        return Path(override)
    checkout = PACKAGE_DIR.parent / "models"
    installed = PACKAGE_DIR / "models"
    return checkout if (checkout / "emotion.tflite").is_file() or not installed.is_dir() else installed


def default_model_path() -> Path:
    """$EMOJITUI_MODEL, else the accurate tier, `emotion.tflite` in `models_dir()`."""
    override = os.environ.get("EMOJITUI_MODEL")
    if override:
        return Path(override)
    return models_dir() / "emotion.tflite"


def _xdg(variable: str, fallback: str) -> Path:
    base = os.environ.get(variable)
    return (Path(base) if base else Path.home() / fallback) / "emojitui"


def data_dir() -> Path:
    """$EMOJITUI_DATA_DIR, else $XDG_DATA_HOME/emojitui (~/.local/share/emojitui)."""
    override = os.environ.get("EMOJITUI_DATA_DIR")
    return Path(override) if override else _xdg("XDG_DATA_HOME", ".local/share")


def history_dir() -> Path:
    return data_dir() / "history"


def snapshot_dir() -> Path:
    return data_dir() / "snapshots"


def calibration_dir() -> Path:
    """Neutral calibrations, one file per model (named by the model file's hash)."""
    return data_dir() / "calibration"


def lock_dir() -> Path:
    """Where a process holding a camera keeps its lock file (one camera user at a time)."""
    return data_dir() / "locks"


def config_named() -> bool:
    """$EMOJITUI_CONFIG is set: the user named the file, so a missing one is an error, not "no config"."""
    return bool(os.environ.get("EMOJITUI_CONFIG"))


def config_path() -> Path:
    """$EMOJITUI_CONFIG, else $XDG_CONFIG_HOME/emojitui/config.toml."""
    override = os.environ.get("EMOJITUI_CONFIG")
    return Path(override) if override else _xdg("XDG_CONFIG_HOME", ".config") / "config.toml"
