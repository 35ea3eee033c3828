"""All seven class probabilities as coloured bars with percentages (smoothed)."""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.text import Text

from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.ui.widgets.cells import fit_cells
from emojitui.ui.widgets.panel import Panel

EIGHTHS = " ▏▎▍▌▋▊▉"
EMOJI_COLUMN_MOST = 6  # cells: a config's emoji may be a five-emoji string; the bars keep the room


def bar(fraction: float, width: int) -> str:
    """A bar `width` cells long at full scale, with eighth-cell precision."""
    cells = max(0.0, min(1.0, fraction)) * width
    full = int(cells)
    rest = EIGHTHS[int((cells - full) * 8)] if full < width else ""
    return ("█" * full + rest).ljust(width)


class ProbabilityBars(Panel):
    def on_mount(self) -> None:
        self.border_title = "probabilities"
        self.show([], None, {})

    def show(self, labels: list[str], probabilities: np.ndarray | None, emoji: dict[str, str]) -> None:
        # rich's Text compares its characters and their styles: the same bars in the same colours skip the repaint
        self.paint(lambda: self._render_bars(labels, probabilities, emoji))

    def _render_bars(self, labels: list[str], probabilities: np.ndarray | None, emoji: dict[str, str]) -> Text:
        """The bars as drawn, so a repaint is skipped only when nothing on screen would change."""
        if probabilities is None:
            return Text("waiting for a face…", style="dim")
        shown = {name: fit_cells(emoji.get(name, " "), EMOJI_COLUMN_MOST) for name in labels}
        column = max((cell_len(e) for e in shown.values()), default=2)  # every row's bar starts in one column
        width = max(4, self.size.width - 20 - column)
        leader = int(np.argmax(probabilities))
        text = Text()
        for index, (name, value) in enumerate(zip(labels, probabilities, strict=True)):
            colour = CLASS_COLOURS.get(name, "white")
            weight = "bold " if index == leader else ""
            text.append(shown[name] + " " * (column - cell_len(shown[name]) + 1), "")
            text.append(f"{name:<9}", f"{weight}{colour}")
            text.append(bar(float(value), width), colour)
            text.append(f"{value * 100:4.0f}%\n", weight.strip() or "")
        text.rstrip()
        return text
