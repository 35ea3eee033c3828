"""Half-block pictures: the fast path (`HalfBlockImage.strips`) gives exactly what Textual's own
styling of the plain segments gives, over plain and attributed base styles, transparency included."""

import numpy as np
import pytest
from rich.console import COLOR_SYSTEMS, Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from emojitui.ui.halfblock import LOWER, QUANTUM, UPPER, HalfBlockImage


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


@pytest.mark.parametrize("system", ["truecolor", "256", "standard"])
@pytest.mark.parametrize("base", [None, Style(color="#e0e0e0", bgcolor="#101010"), Style(bold=True, bgcolor="blue")])
def test_cell_styles_carry_the_codes_textual_would_send(base, system):
    """Given the terminal's colour system, each cell style comes with its ANSI codes, put together from
    codes kept per colour: the terminal gets what Textual's rendering of fresh styles sends (a flat patch
    has cells whose two halves share one colour, fore and back)."""

    def fresh(style: Style | None) -> Style | None:  # no codes cached on it (Rich keeps one set a style)
        return style and Style(color=style.color, bgcolor=style.bgcolor, bold=style.bold)

    console, base = Console(color_system=system, width=80), fresh(base)  # one terminal, one colour system
    for seed in range(3):
        for strip in HalfBlockImage(picture(seed)).strips(base, COLOR_SYSTEMS[system]):
            textual = Strip([Segment(text, fresh(style)) for text, style, _ in strip])
            assert strip.render(console) == textual.render(console)


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
    seen = list(HalfBlockImage(picture(0)).strips(base)[0])
    again = [Segment(text, style.copy() if style else style) for text, style, _ in seen]  # equal, not the same
    assert wrapped.apply(again, background) is again, "a palette rebuilt after it was cleared passes through too"
    assert wrapped.apply(again, Color.parse("#ffffff")) is again, "whatever the background"


async def test_the_preview_wraps_the_apps_colour_filter_and_follows_a_theme_change():
    from textual.app import App
    from textual.filter import ANSIToTruecolor

    from emojitui.ui.widgets.preview import PictureTruecolor, Preview

    class PreviewOnly(App):
        def compose(self):
            yield Preview()

    async with PreviewOnly().run_test(size=(60, 20)) as pilot:
        preview, inners = pilot.app.query_one(Preview), []
        for theme in ("textual-dark", "textual-light"):
            pilot.app.theme = theme
            await pilot.pause()
            (app_filter,) = [f for f in pilot.app.get_line_filters() if isinstance(f, ANSIToTruecolor)]
            (wrapper,) = [f for f in preview.get_line_filters() if isinstance(f, PictureTruecolor)]
            assert wrapper.inner is app_filter
            assert not any(type(f) is ANSIToTruecolor for f in preview.get_line_filters())
            inners.append(app_filter)
        assert inners[0] is not inners[1], "Textual made a new filter for the light theme: wrapped in turn"


def test_a_still_scene_keeps_its_picture_through_camera_noise_and_a_change_shows_where_it_is():
    """Noise of a few levels leaves every line as it was (nothing to redraw or send), though it
    moves pixels across colour steps; a real change redraws its own lines only; no pixel is ever
    shown more than one and a half colour steps from its colour."""
    rng = np.random.default_rng(7)
    scene = picture(0)
    scene[..., 3] = 255

    def noisy(image):
        out = image.copy()
        out[..., :3] = np.clip(image[..., :3].astype(int) + rng.integers(-3, 4, image[..., :3].shape), 0, 255)
        return out

    first = HalfBlockImage(scene)
    second = HalfBlockImage(noisy(scene), previous=first)
    assert HalfBlockImage(noisy(scene)).runs != first.runs, "without the last picture, the noise shows"
    assert second.runs == first.runs
    changed = noisy(scene)
    changed[:4, :10, :3] = 255 - changed[:4, :10, :3]  # something moved in the top two text rows
    third = HalfBlockImage(changed, previous=second)
    assert third.runs[:2] != first.runs[:2] and third.runs[2:] == first.runs[2:]
    assert np.abs(third.colours[:23] - changed[..., :3]).max() <= 1.5 * QUANTUM  # 23 pixel rows, padded to 24
    narrower = scene[:, :20]
    assert HalfBlockImage(narrower, previous=third).runs == HalfBlockImage(narrower).runs, "a new size starts over"
