"""The big live emoji as pixel art, with its label, confidence and the alternatives."""

from __future__ import annotations

from functools import lru_cache

import cv2
from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.text import Text

from emojitui.engine.engine import FaceResult
from emojitui.session.emoji_art import emoji_image
from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.ui.halfblock import HalfBlockImage, bgr_to_rgba
from emojitui.ui.widgets.panel import Panel

NO_FACE = "no face in view"


class EmojiPanel(Panel):
    """Shows the selected face's emoji; sized to the panel (two pixels per text row)."""

    DEFAULT_CSS = "EmojiPanel { content-align: center middle; }"

    def on_mount(self) -> None:
        self.border_title = "emotion"
        self.show(None, (), 0, 0)

    def show(self, face: FaceResult | None, alternatives: tuple[str, ...], face_number: int, face_count: int) -> None:
        key = (face and (face.emoji, face.label, round(face.confidence * 100)), alternatives, face_number, face_count)
        self.paint(lambda: self._draw_face(face, alternatives, face_number, face_count), key)

    def _draw_face(
        self, face: FaceResult | None, alternatives: tuple[str, ...], face_number: int, face_count: int
    ) -> RenderableType:
        if face is None:
            self._subtitle("")
            return Text(NO_FACE, style="dim", justify="center")
        rows = max(3, self.size.height - 4)
        side = max(6, min(2 * rows, self.size.width - 2, 32))
        art = _art(face.emoji, side)
        colour = CLASS_COLOURS.get(face.label, "white")
        caption = Text.assemble((face.label.upper(), f"bold {colour}"), (f" {face.confidence * 100:.0f}%", "bold"))
        caption.justify = "center"
        others = Text("or " + " ".join(alternatives[:3]), style="dim", justify="center") if alternatives else Text("")
        parts = []
        if art is not None:
            parts.append(_centred(art, side, self.size.width))
        parts += [caption, others]
        self._subtitle(f"face {face_number} of {face_count}" if face_count > 1 else "")
        return Group(*parts)

    def _subtitle(self, text: str) -> None:
        if self.border_subtitle != text:  # setting it repaints the whole panel, even when unchanged
            self.border_subtitle = text


@lru_cache(maxsize=32)
def _art(emoji: str, side: int) -> HalfBlockImage | None:
    """The emoji as pixel art `side` pixels wide, built once per emoji and size."""
    image = emoji_image(emoji)
    if image is None:
        return None
    return HalfBlockImage(bgr_to_rgba(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)))


@lru_cache(maxsize=32)
def _centred(art: HalfBlockImage, width: int, panel_width: int) -> _Centred:
    """The same object for the same picture and size, so the panel renders its lines once."""
    return _Centred(art, width, panel_width)


class _Centred:
    """Pads a fixed-width renderable so it sits in the middle of the panel."""

    cache_strips = True  # unchanging: `Panel` renders it once per size

    def __init__(self, renderable: HalfBlockImage, width: int, panel_width: int) -> None:
        self.renderable, self.pad = renderable, max(0, (panel_width - 2 - width) // 2)

    def segment_lines(self) -> list[list[Segment]]:
        return [[Segment(" " * self.pad), *line] for line in self.renderable.lines]

    def __rich_console__(self, console, options):
        for line in self.renderable.lines:
            yield Segment(" " * self.pad)
            yield from line
            yield Segment.line()
