"""The base of every panel: holds a Rich renderable, repaints without a layout pass, and only
when what it would draw has changed.

`Static.update` asks Textual for a full layout refresh, which at 10 updates a second was a
large share of the app's CPU; these panels have fixed sizes, so a plain repaint is enough.
Panels fed 10 times a second call `paint(draw, key)`: `key` sums up what is visible (or, without
one, the renderable `draw()` returns is compared itself), and a repaint happens only when it or
the panel's size changed. A resize repaints the last drawing at the new size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget


class Panel(Widget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content: RenderableType = Text("")
        self._draw: Callable[[], RenderableType] | None = None
        self._key: Hashable | None = None
        self._painted: object = None  # (key or renderable, size) of what is on screen

    @property
    def content(self) -> RenderableType:
        """What the panel shows now (tests read it)."""
        return self._content

    def update(self, content: RenderableType) -> None:
        self._content = content
        self.refresh()

    def paint(self, draw: Callable[[], RenderableType], key: Hashable | None = None) -> None:
        """Show `draw()` unless nothing visible changed since the last paint (see the module docstring)."""
        self._draw, self._key = draw, key
        if key is None:
            content = draw()
            if (content, self.size) != self._painted:
                self._painted = (content, self.size)
                self.update(content)
        elif (key, self.size) != self._painted:
            self._painted = (key, self.size)
            self.update(draw())

    def on_resize(self) -> None:
        self._painted = None
        if self._draw is not None:
            self.paint(self._draw, self._key)

    def render(self) -> RenderableType:
        return self._content
