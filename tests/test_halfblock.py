"""Half-block pictures: the fast path (`HalfBlockImage.strips`) gives exactly what Textual's own
styling of the plain segments gives, over plain and attributed base styles, transparency included."""

import numpy as np
import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from emojitui.ui.halfblock import LOWER, UPPER, HalfBlockImage


def picture(seed: int) -> np.ndarray:
    """Noise with flat patches (long runs) and transparent holes, an odd number of pixel rows."""
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (23, 40, 4), dtype=np.uint8)
    rgba[:6, :25, :3] = (200, 40, 40)
    rgba[..., 3] = 255
    rgba[10:14, 5:30, 3] = 0  # both halves transparent, or only the top one, in places
    rgba[15, :, 3] = 0
    return rgba


@pytest.mark.parametrize("base", [None, Style(color="#e0e0e0", bgcolor="#101010"), Style(bold=True, bgcolor="blue")])
def test_strips_match_textual_styling_of_the_segments(base):
    console = Console(color_system="truecolor", width=80)
    for seed in range(3):
        image = HalfBlockImage(picture(seed))
        fast = image.strips(base)
        slow = [Strip(line).apply_style(base) if base else Strip(line) for line in image.lines]
        assert len(fast) == 12, "23 pixel rows, padded to 24: 12 text rows"
        assert [s.render(console) for s in fast] == [s.render(console) for s in slow]
        assert all(s.cell_length == 40 for s in fast)
        assert image.strips(base) is fast, "asked again for the same base: the same strips"


def test_cells_show_the_right_halves():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # top only
    rgba[1, 1] = (0, 0, 255, 255)  # bottom only
    rgba[:, 2] = (0, 255, 0, 255)  # both
    text = "".join(segment.text for segment in HalfBlockImage(rgba).lines[0])
    assert text == UPPER + LOWER + UPPER


def test_the_preview_filter_gives_textuals_colours_and_passes_a_picture_through_as_it_is():
    """`PictureTruecolor` must give what Textual's ANSI-to-truecolor filter gives, line for line,
    and on a picture's lines (RGB styles over an RGB base) hand back the very same segments."""
    from rich.terminal_theme import MONOKAI
    from textual.color import Color
    from textual.filter import ANSIToTruecolor

    from emojitui.ui.widgets.preview import PictureTruecolor

    inner = ANSIToTruecolor(MONOKAI)
    wrapped, background = PictureTruecolor(inner), Color.parse("#101010")
    base = Style(color="#e0e0e0", bgcolor="#101010")
    others = [
        [Segment("dim", Style(dim=True, color="#e0e0e0")), Segment(" red", Style(color="red", bgcolor="blue"))],
        [Segment(" ", None), Segment("x", Style(color="default"))],
    ]
    for seed in range(3):
        for strip in HalfBlockImage(picture(seed)).strips(base):
            line = list(strip)
            assert wrapped.apply(line, background) is line
            assert line == inner.apply(line, background)
        for line in others:  # after a picture's styles: converted all the same, as Textual converts them
            converted = wrapped.apply(line, background)
            assert converted == inner.apply(line, background) and converted != line
        mixed = list(HalfBlockImage(picture(seed)).strips(base)[0]) + others[0]
        assert wrapped.apply(mixed, background) == inner.apply(mixed, background)
