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
(bench/README.md), several times that on a Pi. It is paced as the half-block preview is
(`emojitui.ui.widgets.preview`): at most 5 pictures a second, and only as often as keeps the UI
thread about half free, so the keys and the other panels stay responsive and a slower machine
gets fewer pictures.
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType
from typing import TYPE_CHECKING

import cv2
import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from emojitui.engine.engine import FaceResult
from emojitui.shared.errors import UserError
from emojitui.ui.widgets.preview import Preview, draw_faces

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

EXTRA = "needs the graphics extra on Python 3.12+: pip install 'emojitui[graphics]'"
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
        self._cleared = False

    @property
    def picture(self) -> Widget:
        """textual-image's widget that shows the picture."""
        return self.query_one(".picture")

    def compose(self) -> ComposeResult:
        from textual_image.widget import SixelImage, TGPImage

        yield (SixelImage if self.protocol == "sixel" else TGPImage)(classes="picture")

    def redraw_resized(self) -> None:
        """Paced as any picture: a terminal dragged to a new size sends many resizes, each an encoding."""
        if self._shown is not None:
            self.show(*self._shown)

    def draw(self, image: np.ndarray, faces: list[FaceResult], selected: int | None) -> None:
        """One picture, paced as the half-block one (`Preview.show`): encoding it is the cost."""
        if not self._cleared:
            self._cleared = True
            self.update(Text(""))  # "no frame yet" gone from behind the picture
        self.picture.image = picture(image, faces, selected)


def picture(image: np.ndarray, faces: list[FaceResult], selected: int | None) -> PILImage:
    """The frame with its face boxes as the RGB PIL image textual-image takes (it scales it to the cells' pixels)."""
    from PIL import Image

    scale = min(1.0, MAX_WIDTH / image.shape[1])
    framed = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
    draw_faces(framed, faces, selected, scale, thickness=max(1, round(framed.shape[1] / 320)))
    return Image.fromarray(cv2.cvtColor(framed, cv2.COLOR_BGRA2RGB if framed.shape[2] == 4 else cv2.COLOR_BGR2RGB))
