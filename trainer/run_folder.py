"""A run folder's files, and the error for a folder that cannot be used as asked."""

from __future__ import annotations

import json
from pathlib import Path


class RunError(RuntimeError):
    """A run folder that cannot be used as asked; the message says what to do."""


class RunFolder:
    """Paths of one run's files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = root / "last.keras"
        self.best = root / "best.keras"
        self.state = root / "state.json"
        self.log = root / "log.csv"
        self.recipe = root / "recipe.json"

    def read_state(self) -> dict:
        return read_json(self.state) if self.state.is_file() else {}


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable ({exc}): delete the run folder or pass --fresh") from None
