"""A run folder's files, and the error for a folder that cannot be used as asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from emojitui.shared.atomic import write_text_atomic

# Where a run's progress lines go: print, or a list's append in the tests.
Say = Callable[[str], None]


class RunError(RuntimeError):
    """A run folder that cannot be used as asked; the message says what to do."""


class RunFolder:
    """Paths of one run's files; `state.json` is the record of which epochs are done."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = root / "last.keras"
        self.best = root / "best.keras"
        self.state = root / "state.json"
        self.log = root / "log.csv"
        self.recipe = root / "recipe.json"
        self.teacher_targets = root / "teacher_targets.npy"

    def read_state(self) -> dict:
        """Epochs done, best PublicTest accuracy and its epoch, epochs since it; {} for a new run."""
        return read_json(self.state) if self.state.is_file() else {}

    def progress(self) -> tuple[int, int] | None:
        """(epochs done, epochs planned), or None when the run has not finished an epoch."""
        state = self.read_state()
        if not state or not self.recipe.is_file():
            return None
        return int(state["epoch"]), int(read_json(self.recipe)["epochs"])

    def finished(self) -> bool:
        """All epochs run, stopped early, or stopped by its time budget: its best epoch is what it made."""
        state = self.read_state()
        if not state or not self.recipe.is_file():
            return False
        recipe = read_json(self.recipe)
        done = state["epoch"] >= recipe["epochs"] or state["wait"] >= recipe["patience"]
        return done or state.get("stopped") == "budget"

    def reopen_after_budget(self) -> int | None:
        """Let `train --resume` go on with a run its budget stopped while epochs were left (a run
        longer than a session, resumed in the next); the factory instead takes such a run as
        finished. The epoch it stopped after, or None when it was not stopped so."""
        state = self.read_state()
        if state.get("stopped") != "budget" or not self.recipe.is_file():
            return None
        if state["epoch"] >= read_json(self.recipe)["epochs"]:
            return None
        del state["stopped"]
        write_text_atomic(self.state, json.dumps(state, indent=2) + "\n")
        return int(state["epoch"])


def read_json(path: Path, advice: str = "delete the run folder or pass --fresh") -> dict:
    """A JSON object from a file, or a RunError that names the file and says what to do."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable ({exc}): {advice}") from None
    if not isinstance(raw, dict):
        raise RunError(f"{path} holds {type(raw).__name__}, not a JSON object: {advice}")
    return raw
