"""Session history: every change of a face's emotion, appended to a JSON-lines file.

Each event is written and flushed (and fsynced) as it happens, so killing the process loses
nothing already shown. The file starts with a `start` record and, on a clean exit, ends with
a `summary` record; `export_csv` turns it into a spreadsheet-friendly CSV.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.emotions import CLASS_NAMES, emoji_problem
from emojitui.shared.errors import UserError

CSV_FIELDS = ("time", "t", "face", "emotion", "emoji", "confidence", "previous", "previous_duration_s")


@dataclass(frozen=True, slots=True)
class EmotionEvent:
    """A face's shown emotion changed (or the face appeared: `previous` is None)."""

    time: str  # ISO-8601 wall clock
    t: float  # seconds since the session started
    face: int
    emotion: str
    emoji: str
    confidence: float
    previous: str | None
    previous_duration_s: float | None


@dataclass
class SessionSummary:
    """Time spent per emotion and number of changes, over all faces."""

    duration_s: float = 0.0
    changes: int = 0
    faces: int = 0
    seconds_per_emotion: dict[str, float] = field(default_factory=dict)

    def dominant(self) -> str | None:
        return max(self.seconds_per_emotion, key=self.seconds_per_emotion.get) if self.seconds_per_emotion else None

    def to_text(self, emoji: dict[str, str]) -> str:
        lines = [f"session {self.duration_s:.1f}s, {self.faces} face(s), {self.changes} change(s) of emotion"]
        total = sum(self.seconds_per_emotion.values()) or 1.0
        for name, seconds in sorted(self.seconds_per_emotion.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {emoji.get(name, ' ')} {name:<9}{seconds:7.1f}s {100 * seconds / total:5.1f}%")
        return "\n".join(lines)


class SessionHistory:
    """Keeps per-face current emotion, the event log and running time per emotion."""

    def __init__(self, path: Path | None, started: float, source: str = "") -> None:
        self.path = path
        self.started = started
        self.events: list[EmotionEvent] = []
        self._current: dict[int, tuple[str, float]] = {}  # face -> (emotion, since)
        self._seconds: defaultdict[str, float] = defaultdict(float)
        self._faces: set[int] = set()
        self._changes = 0
        self._handle: IO[str] | None = None
        self.problem = ""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")
            self._write({"type": "start", "time": _now_iso(), "source": source})

    def record(self, now: float, face: int, emotion: str, emoji: str, confidence: float) -> EmotionEvent:
        previous = self._current.get(face)
        duration = None
        if previous:
            duration = round(now - previous[1], 3)
            self._seconds[previous[0]] += now - previous[1]
            self._changes += 1
        event = EmotionEvent(
            time=_now_iso(),
            t=round(now - self.started, 3),
            face=face,
            emotion=emotion,
            emoji=emoji,
            confidence=round(float(confidence), 4),
            previous=previous[0] if previous else None,
            previous_duration_s=duration,
        )
        self._current[face] = (emotion, now)
        self._faces.add(face)
        self.events.append(event)
        self._write({"type": "event", **asdict(event)})
        return event

    def face_left(self, now: float, face: int) -> None:
        """A face left the view: its current emotion stops accumulating time."""
        current = self._current.pop(face, None)
        if current:
            self._seconds[current[0]] += now - current[1]

    def summary(self, now: float) -> SessionSummary:
        seconds = defaultdict(float, self._seconds)
        for emotion, since in self._current.values():
            seconds[emotion] += now - since
        return SessionSummary(
            duration_s=round(now - self.started, 3),
            changes=self._changes,
            faces=len(self._faces),
            seconds_per_emotion={k: round(v, 3) for k, v in seconds.items() if v > 0},
        )

    def close(self, now: float) -> SessionSummary:
        summary = self.summary(now)
        self._write({"type": "summary", "time": _now_iso(), **asdict(summary)})
        if self._handle:
            self._handle.close()
            self._handle = None
        return summary

    def _write(self, record: dict) -> None:
        if self._handle is None:
            return
        try:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:  # disk full, device gone: keep running, say so once
            self.problem = f"history not saved any more ({exc.strerror}): {self.path}"
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def new_history_path(folder: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"session-{stamp}.jsonl"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"session-{stamp}-{counter}.jsonl"
    return path


class HistoryLineError(UserError):
    """A line of a history file that is not a record this version reads."""


_NUMBER = (int, float)
_EVENT_FIELDS: dict[str, tuple[type | None, ...]] = {
    "time": (str,),
    "t": _NUMBER,
    "face": (int,),
    "emotion": (str,),
    "emoji": (str,),
    "confidence": _NUMBER,
    "previous": (str, None),
    "previous_duration_s": (*_NUMBER, None),
}


def parse_line(line: str) -> dict | None:
    """The one reader of a history line: the event as a dict of `CSV_FIELDS`, None for another
    record (start, summary) or a blank line, a one-line `HistoryLineError` for anything else.

    Every field is checked, since they are printed: a file never drives the terminal.
    """
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # bad JSON, a 5,000-digit number, [[[[... 5,000 deep
        raise HistoryLineError("not a JSON record (a torn or edited line)") from None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise HistoryLineError("not a history record (no `type`)")
    if record["type"] != "event":
        return None
    event = {}
    for name, kinds in _EVENT_FIELDS.items():
        value = record.get(name)
        if not any(value is None if kind is None else isinstance(value, kind) for kind in kinds) or (
            isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value))
        ):
            raise HistoryLineError(f"event field `{name}` is missing or not valid")
        event[name] = value
    try:
        dt.datetime.fromisoformat(event["time"])
    except ValueError:
        raise HistoryLineError("event field `time` is not an ISO-8601 time") from None
    if event["emotion"] not in CLASS_NAMES or event["previous"] not in (None, *CLASS_NAMES):
        raise HistoryLineError("event field `emotion` or `previous` is not a known class")
    if emoji_problem(event["emoji"]) or not 0 <= event["confidence"] <= 1 or event["face"] < 0:
        raise HistoryLineError("event field `emoji`, `confidence` or `face` is not valid")
    return {"type": "event", **event}


def read_events(path: Path) -> tuple[list[dict], int]:
    """The event records of a history file and how many lines were skipped as unreadable (a torn
    last line from a killed process, an edited line); a file with no history record is an error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"{path} is not a readable history file ({exc}): pass a session-*.jsonl that emojitui wrote"
        ) from None
    events, skipped, records = [], 0, 0
    for raw in data.splitlines():  # decoded line by line: a line cut inside an emoji costs that line only
        try:
            line = raw.decode("utf-8")
            event = parse_line(line)
        except (UnicodeDecodeError, HistoryLineError):
            skipped += 1
            continue
        records += bool(line.strip())
        if event is not None:
            events.append(event)
    if skipped and not records:
        raise UserError(
            f"{path} is not an emojitui history file (none of its {skipped} lines is a record): "
            "pass a session-*.jsonl that emojitui wrote"
        )
    return events, skipped


def export_csv(history_path: Path, csv_path: Path, remedy: str = "name a file in a writable folder") -> int:
    """Write the history's events as CSV (atomically); returns how many rows. `remedy`: what the
    error tells the user to do, which depends on how they chose the file."""
    events, _ = read_events(history_path)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(events)
    try:
        write_text_atomic(csv_path, buffer.getvalue())
    except OSError as exc:
        raise UserError(f"cannot write {csv_path} ({exc.strerror}): {remedy}") from None
    return len(events)


def _now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
