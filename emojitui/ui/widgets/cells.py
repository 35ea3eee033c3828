"""Text cut to a number of terminal cells (an emoji takes two), with an ellipsis where it was cut."""

from __future__ import annotations

from rich.cells import cell_len

ELLIPSIS = "…"


def fit_cells(text: str, cells: int, keep_end: bool = False) -> str:
    """`text` in at most `cells` cells: cut at its end, or with `keep_end` at its start (a path keeps its file name)."""
    if cell_len(text) <= cells:
        return text
    while text and cell_len(text) > cells - 1:
        text = text[1:] if keep_end else text[:-1]
    return ELLIPSIS + text if keep_end else text + ELLIPSIS
