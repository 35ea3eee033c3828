"""The camera preview in half-block characters, with a box around each face."""

from __future__ import annotations

import cv2
import numpy as np
from rich.text import Text

from emojitui.engine.engine import FaceResult
from emojitui.shared.colours import hex_to_bgr
from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.ui.halfblock import HalfBlockImage, bgr_to_rgba, fit_image
from emojitui.ui.widgets.panel import Panel


class Preview(Panel):
    def on_mount(self) -> None:
        self.border_title = "camera"
        self._shown: tuple[np.ndarray, list[FaceResult], int | None] | None = None
        self.update(Text("no frame yet", style="dim"))

    def on_resize(self) -> None:  # after `Panel.on_resize` (Textual calls each class's handler)
        if self._shown is not None:  # the last frame again, fitted to the new size
            self.show(*self._shown)

    def show(self, image: np.ndarray | None, faces: list[FaceResult], selected: int | None) -> None:
        if image is None or not self.display:
            return
        self._shown = (image, faces, selected)
        columns, rows = max(4, self.size.width), max(2, self.size.height)  # inside the border
        small = fit_image(image, columns, rows)
        draw_faces(small, faces, selected, small.shape[1] / image.shape[1])
        self.update(HalfBlockImage(bgr_to_rgba(small)))


def draw_faces(
    image: np.ndarray, faces: list[FaceResult], selected: int | None, scale: float, thickness: int = 1
) -> None:
    """Box each face on `image`, a frame scaled by `scale`: the selected one in its emotion's colour."""
    for face in faces:
        x, y, w, h = (round(v * scale) for v in face.box.as_ints())
        colour = hex_to_bgr(CLASS_COLOURS.get(face.label, "#ffffff"))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour if face.id == selected else (200, 200, 200), thickness)
