"""One line: source, frames per second, latency, faces, model, and demo/paused state."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from emojitui.shared.output import terminal_safe
from emojitui.ui.widgets.cells import fit_cells
from emojitui.ui.widgets.panel import Panel


class StatusBar(Panel):
    DEFAULT_CSS = "StatusBar { height: 1; width: 100%; background: $panel; padding: 0 1; }"

    def show(self, source: str, fps: float, latency_ms: float, faces: int, model: str, state: str) -> None:
        self._last = (source, fps, latency_ms, faces, model, state)
        plural = "s" if faces != 1 else ""
        figures = f" · {fps:4.1f} fps · {latency_ms:4.1f} ms · {faces} face{plural} · {terminal_safe(model)}"
        room = self.size.width - 2 - cell_len(figures) - (len(state) + 2 if state else 0)
        # names are files' names: escaped, never obeyed by the terminal; a long path gives way to the rest
        text = Text.assemble((fit_cells(terminal_safe(source), max(room, 12), keep_end=True), "bold"), figures)
        if state and text.cell_len + len(state) + 2 > self.size.width - 2:  # narrow: the state first, never cut off
            text = Text.assemble((state, "bold reverse"), "  ", text)
        elif state:
            text.append(f"  {state}", "bold reverse")
        self.update(text)

    def on_resize(self) -> None:
        if hasattr(self, "_last"):
            self.show(*self._last)
