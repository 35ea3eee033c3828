"""The base of every panel: holds a Rich renderable and repaints without a layout pass.

`Static.update` asks Textual for a full layout refresh, which at 10 updates a second was a
large share of the app's CPU; these panels have fixed sizes, so a plain repaint is enough.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget


class Panel(Widget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content: RenderableType = Text("")

    @property
    def content(self) -> RenderableType:
        """What the panel shows now (tests read it)."""
        return self._content

    def update(self, content: RenderableType) -> None:
        self._content = content
        self.refresh()

    def render(self) -> RenderableType:
        return self._content
