"""`MessageApp`: one screen with one message, for a browser session that cannot start.

In a terminal such a problem is one line on stderr; a browser tab of `emojitui serve` shows no
stderr, so it shows this instead (the camera is in use by another tab, say) until it is closed.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static


class MessageApp(App[None]):
    TITLE = "emojitui"
    CSS = """
    Screen { align: center middle; }
    #message { width: 70; max-width: 90%; height: auto; border: round $warning; padding: 1 2; }
    """
    BINDINGS = [Binding("q,escape,enter", "quit", "close")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(f"emojitui: {self.message}", id="message", markup=False)
        yield Footer()
