"""The app's keys, in one place: the bindings, the help screen's table and the README's table
(`tests/test_docs.py` checks the README against `keys_table()`)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str
    label: str  # the footer's word
    help: str  # the line in the help screen and the README
    display: str | None = None  # how the footer and the tables show the key, when not its name
    priority: bool = False
    footer: bool = True  # shown in the footer (all keys are in the help screen and the README)

    @property
    def shown(self) -> str:
        return " / ".join(f"`{key}`" for key in (self.display or self.keys).split(","))


KEYS = (
    Key("q", "quit_app", "quit", "quit; the history is saved and the session summary printed"),
    Key("question_mark", "help", "help", "help (`?` or `escape` closes it)", display="?"),
    Key(
        "s",
        "snapshot",
        "snapshot",
        "snapshot: the frame with each face boxed, labelled and covered by its emoji (PNG + JSON)",
    ),
    Key("p,space", "pause", "pause", "pause / resume"),
    Key("m", "mirror", "mirror", "mirror the picture"),
    Key(
        "v",
        "toggle_preview",
        "preview",
        "show / hide the camera preview (hidden at first below 100x30; from 120x40 large, at the frame's shape)",
    ),
    Key(
        "tab", "next_face", "next face", "next face: the selected face drives the big emoji and the bars", priority=True
    ),
    Key("e", "export", "export CSV", "export the session history as CSV (beside the history file)"),
    Key(
        "c",
        "calibrate",
        "calibrate",
        "neutral calibration: relax the selected face for the countdown and 2 s; saved for this model",
        footer=False,
    ),
    Key(
        "C",
        "clear_calibration",
        "clear calibration",
        "clear the neutral calibration (and its saved file)",
        footer=False,
    ),
)
TEXTUAL_KEYS = (("`ctrl+p`", "command palette: themes and more"),)  # Textual's own


def bindings() -> list[Binding]:
    return [Binding(k.keys, k.action, k.label, show=k.footer, key_display=k.display, priority=k.priority) for k in KEYS]


def keys_table() -> str:
    """The keys as a Markdown table."""
    rows = [(k.shown, k.help) for k in KEYS] + list(TEXTUAL_KEYS)
    return "\n".join(["| key | action |", "|---|---|", *(f"| {key} | {text} |" for key, text in rows)])
