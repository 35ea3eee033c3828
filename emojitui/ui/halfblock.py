"""Pictures in a terminal: two pixels per cell with the upper half block and two colours.

Pure functions of an image, so they are tested and reused by the emoji panel and the camera
preview. A camera preview is drawn five times a second, so a picture's cost is kept to NumPy
and a dictionary lookup a run of identical cells: styles are built once per colour pair and
reused, with their ANSI codes, which are put together from codes kept once per colour (Textual
works them out again for each new pair, through caches too small for a camera's colours). Given
the last picture, a pixel keeps its colour through a camera's noise (`quantise`), so only the
lines where something moved change.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import cv2
import numpy as np
from rich.color import Color, ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

UPPER = "▀"
LOWER = "▄"
QUANTUM = 8  # colour step: fewer distinct styles to build, invisible at this size


KEY_SHIFT = 25  # a cell's key: (top + 1) << KEY_SHIFT | (bottom + 1), each pixel packed RGB or -1 (transparent)
RUN_BITS = 12  # runs up to 4095 cells long are kept as ready segments
PALETTE_SIZE = 32768  # cell styles kept for each base style; past it the palette starts again
_colours: dict[int, Color] = {}  # packed RGB -> Color: at most 32**3 after quantising
_codes: dict[tuple[Color, ColorSystem, bool], str] = {}  # a colour's SGR codes in a colour system, fore or back


class HalfBlockImage:
    """A Rich renderable of an RGB(A) image already sized to (2 * rows, columns).

    It keeps each text row as runs of identical cells (found with NumPy); `strips(base)` turns them
    into Textual strips with `base` applied, each cell's style built once per colour pair and base
    and then reused, so a picture costs a dictionary lookup a run, not new Rich styles (whose ANSI
    codes would also be worked out again).
    """

    def __init__(self, rgba: np.ndarray, previous: HalfBlockImage | None = None) -> None:
        if rgba.shape[0] % 2:
            rgba = np.vstack([rgba, np.zeros((1, *rgba.shape[1:]), rgba.dtype)])
        self.width = rgba.shape[1]
        self.colours = quantise(rgba, previous.colours if previous is not None else None)
        self.runs = _runs(self.colours, rgba)
        self._strips: tuple[tuple[Style | None, ColorSystem | None], list[Strip]] | None = None

    @cached_property
    def lines(self) -> list[list[Segment]]:
        """The rows as segments, no base style (the emoji panel pads them)."""
        return _lines(self.runs, _palette(None, None))

    def strips(self, base: Style | None, colours: ColorSystem | None = None) -> list[Strip]:
        """The rows as strips with `base` under every cell, as `Strip.apply_style(base)` would give;
        with the terminal's `colours`, each new cell style comes with its ANSI codes already made."""
        if self._strips is None or self._strips[0] != (base, colours):
            lines = _lines(self.runs, _palette(base, colours))
            self._strips = ((base, colours), [Strip(line, self.width) for line in lines])
        return self._strips[1]

    def __rich_console__(self, console, options):
        for line in self.lines:
            yield from line
            yield Segment.line()


def quantise(image: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """The RGB colours in steps of QUANTUM; with the `previous` picture's (same size), a pixel
    keeps its previous colour while it stays within half a step of that colour's range.

    A camera's noise moves pixels across step boundaries from frame to frame, so without this
    every line of a still scene would change in every picture and be drawn (and sent to the
    terminal) again; with it, only the lines where something moved are.
    """
    rgb = image[..., :3].astype(np.int16)
    quantised = rgb // QUANTUM * QUANTUM
    if previous is not None and previous.shape == quantised.shape:
        steady = (np.abs(rgb - (previous + QUANTUM // 2)) <= QUANTUM).all(axis=2)
        quantised = np.where(steady[..., None], previous, quantised)
    return quantised


def _runs(colours: np.ndarray, image: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Each text row as (cell keys, run lengths): runs of identical cells become one."""
    quantised = colours.astype(np.int64)
    opaque = image[..., 3] >= 128 if image.shape[2] == 4 else np.ones(image.shape[:2], bool)
    packed = np.where(opaque, (quantised[..., 0] << 16) | (quantised[..., 1] << 8) | quantised[..., 2], -1)
    keys = ((packed[0::2] + 1) << KEY_SHIFT) | (packed[1::2] + 1)
    width = keys.shape[1]
    changes = keys[:, 1:] != keys[:, :-1]
    runs = []
    for row, change in zip(keys, changes, strict=True):
        starts = np.flatnonzero(change) + 1
        lengths = np.diff(starts, prepend=0, append=width)
        runs.append((row[np.concatenate(([0], starts))].tolist(), lengths.tolist()))
    return runs


def _lines(runs: list[tuple[list[int], list[int]]], palette: _Palette) -> list[list[Segment]]:
    segment = palette.segment
    return [[segment(key, length) for key, length in zip(keys, lengths, strict=True)] for keys, lengths in runs]


class _Palette:
    """Cell styles over one base style: (character, style) for each cell key seen.

    A new colour pair is common (a few hundred a picture from a camera), so its style is made the
    cheap way where that gives the same style as `base + Style(color=..., bgcolor=...)`: over a
    base of colours alone, a cell's colours simply replace the base's.
    """

    def __init__(self, base: Style | None, colours: ColorSystem | None) -> None:
        self.base, self.colours = base, colours
        self.cells: dict[int, tuple[str, Style | None]] = {}
        self.runs: dict[int, Segment] = {}  # key << RUN_BITS | run length -> its segment
        self.plain = base is None or base == Style.from_color(base.color, base.bgcolor)

    def segment(self, key: int, length: int) -> Segment:
        """A run of `length` cells with `key`: most runs are short and recur, so they are kept too."""
        run = key << RUN_BITS | length
        found = self.runs.get(run)
        if found is None:
            text, style = self.cell(key)
            found = Segment(text * length, style)
            if length < 1 << RUN_BITS:
                if len(self.runs) >= PALETTE_SIZE:
                    self.runs.clear()
                self.runs[run] = found
        return found

    def cell(self, key: int) -> tuple[str, Style | None]:
        found = self.cells.get(key)
        if found is None:
            if len(self.cells) >= PALETTE_SIZE:
                self.cells.clear()
            found = self.cells[key] = self._make(key)
        return found

    def _make(self, key: int) -> tuple[str, Style | None]:
        top, bottom = (key >> KEY_SHIFT) - 1, (key & ((1 << KEY_SHIFT) - 1)) - 1
        base = self.base
        if top < 0 and bottom < 0:
            return " ", base
        text, colour, bgcolor = (LOWER, _colour(bottom), None) if top < 0 else (UPPER, _colour(top), _colour(bottom))
        if not self.plain:
            return text, base + Style.from_color(colour, bgcolor)
        if base is not None and bgcolor is None:
            bgcolor = base.bgcolor
        style = Style.from_color(colour, bgcolor)
        if self.colours is not None:  # the codes `Strip.render_ansi` would cache on the style, from ours
            codes = _sgr(colour, self.colours, True)
            style._ansi = codes if bgcolor is None else f"{codes};{_sgr(bgcolor, self.colours, False)}"
        return text, style


@lru_cache(maxsize=8)
def _palette(base: Style | None, colours: ColorSystem | None) -> _Palette:
    return _Palette(base, colours)


def _sgr(colour: Color, colours: ColorSystem, foreground: bool) -> str:
    """A colour's SGR codes in a colour system, as Textual renders them, kept for the next style with it."""
    key = (colour, colours, foreground)
    codes = _codes.get(key)
    if codes is None:
        if len(_codes) >= 4 * PALETTE_SIZE:
            _codes.clear()
        codes = _codes[key] = ";".join(colour.downgrade(colours).get_ansi_codes(foreground))
    return codes


def _colour(packed: int) -> Color | None:
    if packed < 0:
        return None
    colour = _colours.get(packed)
    if colour is None:
        colour = _colours[packed] = Color.from_rgb(packed >> 16, (packed >> 8) & 255, packed & 255)
    return colour


def fit_image(image: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """Resize to fit `columns` x `2*rows` pixels, keeping the aspect ratio (cells are 1:2)."""
    height, width = image.shape[:2]
    scale = min(columns / width, 2 * rows / height)
    size = (max(1, round(width * scale)), max(2, round(height * scale) // 2 * 2))  # round: 79.5 rows fill 40
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def bgr_to_rgba(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
