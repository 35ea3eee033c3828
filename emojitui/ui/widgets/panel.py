"""The base of every panel: holds a Rich renderable, renders it to lines itself, and repaints only
the lines that changed.

`Static.update` asks Textual for a full layout refresh, and a plain `refresh()` re-renders every
line of the widget; at 10 updates a second with pictures in two panels that was most of the app's
CPU. These panels have fixed sizes, so a panel renders its content to strips the way Textual would
(`Visual.to_strips`, then the content alignment), compares them with the strips on screen and
marks only the changed lines dirty. A `Group`'s parts are rendered one by one, and a part that
says `cache_strips = True` (the big emoji's picture) is rendered once per size, so a new
confidence figure under an unchanged emoji repaints one line, not the picture.

Panels fed 10 times a second call `paint(draw, key)`: `key` sums up what is visible (or, without
one, the renderable `draw()` returns is compared itself), and `draw()` runs only when it or the
panel's size changed. A resize renders the last drawing again at the new size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from rich.color import ColorSystem
from rich.console import COLOR_SYSTEMS, Group, RenderableType
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, RichVisual, visualize
from textual.widget import Widget

PART_CACHE = 16  # cached parts (pictures) per panel


class Panel(Widget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content: RenderableType = Text("")
        self._draw: Callable[[], RenderableType] | None = None
        self._key: Hashable | None = None
        self._painted: object = None  # (key or renderable, size) of what is on screen
        self._strips: list[Strip] | None = None  # `_content` rendered at `_strips_size`
        self._strips_size: Size | None = None
        self._parts: dict[tuple[int, int], tuple[object, list[Strip]]] = {}

    @property
    def content(self) -> RenderableType:
        """What the panel shows now (tests read it)."""
        return self._content

    def update(self, content: RenderableType) -> None:
        """Show `content`, repainting only the lines that differ from those on screen."""
        self._content = content
        old = self._strips
        if old is None or self._strips_size != self.size or not self.is_mounted:
            self._strips = None
            self.refresh()
            return
        new = self._render_strips()
        self._strips = new
        width = self.size.width
        for y in range(max(len(old), len(new))):
            if y >= len(old) or y >= len(new) or old[y] != new[y]:
                self.refresh(Region(0, y, width, 1))

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
        self._strips = None
        if self._draw is not None:
            self.paint(self._draw, self._key)
        else:
            self.refresh()

    def render(self) -> RenderableType:
        return self._content

    def render_line(self, y: int) -> Strip:
        if self._strips is None or self._strips_size != self.size:
            self._strips = self._render_strips()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def _render_strips(self) -> list[Strip]:
        """The content as Textual renders it (`Visual.to_strips`, then the content alignment)."""
        width, height = self.size
        self._strips_size = self.size
        style = self.visual_style
        if isinstance(self._content, Group):
            strips = [line for part in self._content.renderables for line in self._part(part, width)]
        else:
            strips = self._unaligned(self._content, width)
        horizontal, vertical = self.styles.content_align
        if (horizontal, vertical) == ("left", "top"):
            return strips
        rich_style = (style + VisualStyle(reverse=False)).rich_style
        return list(Strip.align(strips, rich_style, width, height, horizontal, vertical))

    def _part(self, part: RenderableType, width: int) -> list[Strip]:
        """One part of a Group, as the Group would render it; cached when the part asks for it."""
        if not getattr(part, "cache_strips", False):
            return self._unaligned(part, width)
        key = (id(part), width)
        cached = self._parts.get(key)
        if cached is None or cached[0] is not part:
            if len(self._parts) >= PART_CACHE:
                self._parts.clear()
            cached = (part, self._unaligned(part, width))
            self._parts[key] = cached
        return cached[1]

    def _colour_system(self) -> ColorSystem:
        """The terminal's colour system, as `Strip.render` takes it (truecolor where the console has none)."""
        return COLOR_SYSTEMS.get(self.app.console.color_system or "", ColorSystem.TRUECOLOR)

    def _unaligned(self, renderable: RenderableType, width: int) -> list[Strip]:
        """`Visual.to_strips` before its alignment (done once for all parts), with no selection or links.

        A picture that has its lines as segments already (`segment_lines()`) skips Rich's render
        and line splitting: its strips are those lines, styled as Textual styles a renderable; one
        that makes its own strips with the base style applied (`strips(base)`) is asked for them.
        """
        style = self.visual_style
        strips = getattr(renderable, "strips", None)
        if strips is not None:  # a half-block picture: styled strips of its own, built at least cost
            return [strip.crop(0, width) for strip in strips(style.rich_style, self._colour_system())]
        lines = getattr(renderable, "segment_lines", None)
        if lines is not None:
            base = style.rich_style
            return [Strip(line).apply_style(base).crop(0, width) for line in lines()]
        # a Group's parts render through Rich, as the Group would; a whole Text through Textual's Content
        visual = RichVisual(self, renderable) if renderable is not self._content else visualize(self, renderable)
        return visual.render_strips(width, None, style, RenderOptions(self._get_style, self.styles))
