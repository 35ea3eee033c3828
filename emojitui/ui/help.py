"""The help screen (`?`): keys, what the panels mean, where files go."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from emojitui.ui.keys import keys_table

HELP = f"""\
# emojitui

{keys_table()}

**Panels**: the big emoji is the selected face's smoothed emotion; the bars are the seven
smoothed class probabilities; the session shows a timeline (one block per second, coloured by
emotion), time per emotion, and recent changes. Frames never leave this machine.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80%; max-width: 90; height: 80%; border: round $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
