"""Terminal graphics for the camera preview (`--graphics`): the one module that uses textual-image.

textual-image (the `graphics` extra: Python 3.12+, LGPL-3.0) draws a picture as sixel or with
kitty's graphics protocol. It is imported here only, and only when asked, so without it the app
runs as before, with the half-block preview. Its import asks the terminal what it draws (sixel in
the device attributes, a kitty graphics query) and the cell size in pixels; that must happen
before Textual reads the keyboard, so the command line calls `resolve` before the app starts.
Where stdout is not a terminal (tests, a browser tab of `emojitui serve`) it asks nothing, and
`auto` finds nothing.

Encoding the picture is the cost, on the UI thread: a 120x40 terminal's preview is 800x600 pixels
at 10x20-pixel cells, ~100 ms to encode as sixel and ~45 ms as kitty's PNG on a server core
(bench/README.md), several times that on a Pi. So a picture is drawn at most 5 times a second and
only as often as keeps the UI thread about half free: the keys and the other panels stay
responsive, and a slower machine gets fewer pictures.
"""

from __future__ import annotations

import logging
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING

import cv2
import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widget import Widget

from emojitui.engine.engine import FaceResult
from emojitui.shared.errors import UserError
from emojitui.ui.widgets.preview import Preview, draw_faces

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

EXTRA = "needs the graphics extra on Python 3.12+: pip install 'emojitui[graphics]'"
MIN_INTERVAL = 0.2  # seconds from one picture to the next at least: 5 a second, as the half-block preview
UI_SHARE = 0.5  # and at least the UI thread's CPU time since the last picture over this: it stays about half free
MAX_WIDTH = 1280  # a larger frame is scaled down first: the terminal's cells hold fewer pixels


def resolve(mode: str, origin: str) -> str:
    """What the preview draws with for `mode` (auto, kitty, sixel or off): "kitty", "sixel" or "off" (half-blocks).

    `auto` is off unless textual-image is installed and the terminal answered that it draws sixel
    or kitty graphics; kitty or sixel without textual-image is a UserError that names the setting
    (`origin`) and says how to install it.
    """
    if mode == "off":
        return "off"
    try:
        renderable = _load()
    except ImportError:
        if mode == "auto":
            return "off"
        raise UserError(f"{origin} {EXTRA}") from None
    except Exception as exc:  # the probe talks to the terminal (termios, reads): any failure there means no graphics
        if mode == "auto":
            return "off"
        raise UserError(f"{origin}: the terminal could not be asked what it draws ({exc})") from None
    if mode != "auto":
        return mode
    if renderable.Image is renderable.SixelImage:  # textual-image prefers sixel where both answer (WezTerm, Konsole)
        return "sixel"
    if renderable.Image is renderable.TGPImage:
        return "kitty"
    return "off"


def _load() -> ModuleType:
    """textual-image's renderables, once its import has probed the terminal."""
    if sys.version_info < (3, 12):
        raise ImportError("textual-image needs Python 3.12+")
    # A terminal that does not answer: textual-image logs a warning with a traceback; we fall back instead.
    logging.getLogger("textual_image").addHandler(logging.NullHandler())
    import textual_image.widget  # noqa: F401  (its import probes the terminal, once)
    from textual_image import renderable

    return renderable


class GraphicsPreview(Preview):
    """The camera preview as a real picture, sixel or kitty graphics, with a box around each face."""

    DEFAULT_CSS = """
    GraphicsPreview { align: center middle; }
    GraphicsPreview > .picture { width: auto; height: auto; }
    """

    def __init__(self, protocol: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.protocol = protocol
        self._redraw: Timer | None = None
        self._due = 0.0  # time.monotonic() from which the next picture may be drawn
        self._ui_cpu: float | None = None  # the UI thread's CPU time at the last picture
        self._cleared = False

    @property
    def picture(self) -> Widget:
        """textual-image's widget that shows the picture."""
        return self.query_one(".picture")

    def compose(self) -> ComposeResult:
        from textual_image.widget import SixelImage, TGPImage

        yield (SixelImage if self.protocol == "sixel" else TGPImage)(classes="picture")

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
        # The UI thread's CPU since the last picture (its encoding, the other panels) sets the wait for the next.
        spent = cpu - self._ui_cpu if self._ui_cpu is not None else 0.0
        self._due, self._ui_cpu = now + max(MIN_INTERVAL, spent / UI_SHARE), cpu
        if not self._cleared:
            self._cleared = True
            self.update(Text(""))  # "no frame yet" gone from behind the picture
        self.picture.image = picture(*self._shown)


def picture(image: np.ndarray, faces: list[FaceResult], selected: int | None) -> PILImage:
    """The frame with its face boxes as the RGB PIL image textual-image takes (it scales it to the cells' pixels)."""
    from PIL import Image

    scale = min(1.0, MAX_WIDTH / image.shape[1])
    framed = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
    draw_faces(framed, faces, selected, scale, thickness=max(1, round(framed.shape[1] / 320)))
    return Image.fromarray(cv2.cvtColor(framed, cv2.COLOR_BGRA2RGB if framed.shape[2] == 4 else cv2.COLOR_BGR2RGB))
