"""The session: a timeline strip, the running time per emotion and the recent events."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from emojitui.session.history import EmotionEvent, SessionSummary
from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.ui.widgets.panel import Panel


def timeline_strip(samples: list[str], width: int) -> Text:
    """One coloured block per sample (one per second), newest on the right."""
    text = Text()
    for label in samples[-width:]:
        text.append("█", CLASS_COLOURS.get(label, "white"))
    return text


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes else f"{secs}s"


class HistoryPanel(Panel):
    def on_mount(self) -> None:
        self.border_title = "session"
        self.show([], None, [], {})

    def show(
        self, events: list[EmotionEvent], summary: SessionSummary | None, timeline: list[str], emoji: dict[str, str]
    ) -> None:
        key = (
            len(events),
            events[-1] if events else None,
            summary and round(summary.duration_s),
            tuple(timeline),  # tab to another face with as many samples still repaints
        )  # at most one repaint a second when nothing happens
        self.paint(lambda: self._draw_session(events, summary, timeline, emoji), key)

    def _draw_session(
        self, events: list[EmotionEvent], summary: SessionSummary | None, timeline: list[str], emoji: dict[str, str]
    ) -> RenderableType:
        width = max(10, self.size.width - 4)
        parts: list = []
        if timeline:
            parts.append(timeline_strip(timeline, width))
        if summary and summary.seconds_per_emotion:
            total = sum(summary.seconds_per_emotion.values()) or 1.0
            line = Text()
            for name, seconds in sorted(summary.seconds_per_emotion.items(), key=lambda kv: -kv[1])[:4]:
                line.append(f"{emoji.get(name, '')}{100 * seconds / total:.0f}% ", CLASS_COLOURS.get(name, ""))
            changes = f"{summary.changes} change{'' if summary.changes == 1 else 's'}"
            line.append(f"· {changes} · {_duration(summary.duration_s)}", "dim")
            parts.append(line)
        rows = max(0, self.size.height - len(parts))  # `size` is inside the border
        for event in list(reversed(events))[:rows]:
            lasted = f" after {_duration(event.previous_duration_s)}" if event.previous_duration_s is not None else ""
            parts.append(
                Text.assemble(
                    (event.time[11:19] + " ", "dim"),
                    (f"{event.emoji} {event.emotion}", CLASS_COLOURS.get(event.emotion, "")),
                    (f" #{event.face}{lasted}", "dim"),
                )
            )
        return Group(*parts) if parts else Text("no events yet", style="dim")
