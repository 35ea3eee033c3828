"""Where the panels go: a pure function of the terminal's size and the frame's shape.

From 120x40 up the camera preview takes the left of the screen at the frame's aspect ratio, with
the session under it; the emoji and the bars share the right, the bars as tall as their seven
lines. Below that the emoji and the bars come first (the preview shares the lower rows).

A half-block cell holds one pixel across and two down, and a terminal cell is about twice as
tall as it is wide, so the pixels are square: a frame `w` by `h` shown `c` cells wide needs
`c * h / w / 2` rows.
"""

from __future__ import annotations

import math

WIDE_TERMINAL = (120, 40)  # from here the preview gets the left and at least half of the screen
CHROME_ROWS = 2  # the status bar and the key footer
BORDER = 2  # a panel's border, both sides
SIDE_MIN = 30  # columns kept on the right for the emoji and the bars (10-cell bars)
SESSION_MIN = 6  # rows kept under the preview for the session panel (4 lines)


def preview_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """(columns, rows) of the preview panel, borders included, in a `width` x `height` terminal
    that is wide (at least WIDE_TERMINAL), for a frame `aspect` = width / height pixels."""
    rows_free = height - CHROME_ROWS - SESSION_MIN
    columns = width - SIDE_MIN - BORDER  # inside the border
    rows = math.ceil(columns / aspect / 2)
    if rows + BORDER > rows_free:  # too tall: fit the height and narrow the panel
        rows = rows_free - BORDER
        columns = math.floor(rows * 2 * aspect)
    return columns + BORDER, rows + BORDER


def is_wide(width: int, height: int) -> bool:
    return width >= WIDE_TERMINAL[0] and height >= WIDE_TERMINAL[1]
