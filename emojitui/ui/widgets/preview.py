"""The camera preview in half-block characters, with a box around each face.

A picture is the UI's largest cost, so the preview paces itself: at most 5 pictures a second,
and only as often as keeps the UI thread about half free (the wait before the next picture is
at least twice the UI thread's CPU time since the last one, and at most 2 s). A fast machine gets 5 a second; a
Raspberry Pi gets fewer, and its keys and other panels stay responsive. `show` may be called on
every update: the newest frame is drawn when the wait is over.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter

import cv2
import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.filter import ANSIToTruecolor, LineFilter
from textual.timer import Timer

from emojitui.engine.engine import FaceResult
from emojitui.shared.colours import hex_to_bgr
from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.ui.halfblock import HalfBlockImage, bgr_to_rgba, fit_image
from emojitui.ui.widgets.panel import Panel

MIN_INTERVAL = 0.2  # seconds from one picture to the next at least: 5 a second
UI_SHARE = 0.5  # and at least the UI thread's CPU time since the last picture over this: it stays about half free
MAX_INTERVAL = 2.0  # but never longer: a burst of other work (a resize storm) must not freeze the preview
PICTURE_STYLES = 32768  # styles the preview's colour filter remembers as unchanged, as many as a palette keeps
_style_of = itemgetter(1)  # a segment's style


class Preview(Panel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[np.ndarray, list[FaceResult], int | None] | None = None
        self._redraw: Timer | None = None
        self._due = 0.0  # time.monotonic() from which the next picture may be drawn
        self._ui_cpu: float | None = None  # the UI thread's CPU time at the last picture
        self.pictures = 0  # drawn so far (benchmarks, tests)
        self._picture: HalfBlockImage | None = None  # the last one: a still scene's noise does not redraw it

    def get_line_filters(self) -> Sequence[LineFilter]:
        """The app's filters, its ANSI-to-truecolor one passing a picture's lines through (`PictureTruecolor`)."""
        return [picture_truecolor(f) if type(f) is ANSIToTruecolor else f for f in super().get_line_filters()]

    def on_mount(self) -> None:
        self.border_title = "camera"
        self.update(Text("no frame yet", style="dim"))

    def on_resize(self) -> None:  # after `Panel.on_resize` (Textual calls each class's handler)
        if self._shown is not None:
            self.redraw_resized()

    def redraw_resized(self) -> None:
        """The last frame again, fitted to the new size, at once: a half-block picture is cheap."""
        if self._redraw is not None:
            self._redraw.stop()
        self._draw_picture()

    def show(self, image: np.ndarray | None, faces: list[FaceResult], selected: int | None) -> None:
        """Draw this frame now, or the newest one when the wait since the last picture is over."""
        if image is None or not self.display:
            return
        self._shown = (image, faces, selected)
        wait = self._due - time.monotonic()
        if wait <= 0:
            self._draw_picture()
        elif self._redraw is None:
            self._redraw = self.set_timer(wait, self._draw_picture)

    def _draw_picture(self) -> None:
        self._redraw = None
        if self._shown is None or not self.display:
            return
        now, cpu = time.monotonic(), time.thread_time()
        # The UI thread's CPU since the last picture (the picture, the other panels) sets the wait for the next.
        spent = cpu - self._ui_cpu if self._ui_cpu is not None else 0.0
        self._due, self._ui_cpu = now + min(MAX_INTERVAL, max(MIN_INTERVAL, spent / UI_SHARE)), cpu
        self.pictures += 1
        self.draw(*self._shown)

    def draw(self, image: np.ndarray, faces: list[FaceResult], selected: int | None) -> None:
        """One picture: the frame in half-blocks, fitted to the panel."""
        columns, rows = max(4, self.size.width), max(2, self.size.height)  # inside the border
        small = fit_image(image, columns, rows)
        draw_faces(small, faces, selected, small.shape[1] / image.shape[1])
        self._picture = HalfBlockImage(bgr_to_rgba(small), previous=self._picture)
        self.update(self._picture)


class PictureTruecolor(LineFilter):
    """Textual's ANSI-to-truecolor filter, without its cost on a picture's lines.

    Textual's filter makes a new segment for every segment of every line: on a half-block
    picture (a thousand and more runs, already in truecolor) that was a fifth of the picture's
    cost, and it changed nothing. This one hands a line back as it is when the wrapped filter
    leaves each of its styles as it is (whatever the background: only dim styles depend on it,
    and those it always changes), which it checks once per style object: a picture's styles
    are reused from picture to picture (`halfblock._Palette`), so a line is most often one set
    operation in C.
    """

    def __init__(self, inner: ANSIToTruecolor) -> None:
        super().__init__(enabled=inner.enabled)
        self.inner = inner
        self._unchanged_ids: set[int] = {id(None)}
        self._unchanged: list[Style] = []  # kept alive, so no other style can have one of those ids

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if len(self._unchanged) >= PICTURE_STYLES:
            self._unchanged_ids, self._unchanged = {id(None)}, []
        ids = self._unchanged_ids
        styles = list(map(_style_of, segments))
        new = set(map(id, styles)) - ids
        if new:  # checked one by one, each once
            by_id = dict(zip(map(id, styles), styles, strict=True))
            rich_background = background.rich_color
            for style_id in new:
                style = by_id[style_id]
                if self.inner.truecolor_style(style, rich_background) != style:  # an equal one renders the same
                    return self.inner.apply(segments, background)
                ids.add(style_id)
                self._unchanged.append(style)
        return segments


@lru_cache(maxsize=2)
def picture_truecolor(inner: ANSIToTruecolor) -> PictureTruecolor:
    """One wrapper for each of the app's filters (Textual replaces its filter when the theme changes)."""
    return PictureTruecolor(inner)


def draw_faces(
    image: np.ndarray, faces: list[FaceResult], selected: int | None, scale: float, thickness: int = 1
) -> None:
    """Box each face on `image`, a frame scaled by `scale`: the selected one in its emotion's colour."""
    for face in faces:
        x, y, w, h = (round(v * scale) for v in face.box.as_ints())
        colour = hex_to_bgr(CLASS_COLOURS.get(face.label, "#ffffff"))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour if face.id == selected else (200, 200, 200), thickness)
