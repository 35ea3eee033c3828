"""Session history: events as they happen, durations, summary, CSV, and surviving a kill."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from emojitui.session.history import SessionHistory, export_csv, new_history_path, read_events
from tests.conftest import REPO


def test_events_durations_and_summary(tmp_path):
    path = new_history_path(tmp_path)
    history = SessionHistory(path, started=100.0, source="test")
    history.record(100.0, 1, "neutral", "😐", 0.8)
    history.record(102.5, 1, "happy", "😄", 0.9)
    history.record(103.0, 2, "sad", "😢", 0.7)
    history.face_left(104.0, 2)
    summary = history.close(106.0)
    assert summary.changes == 1 and summary.faces == 2
    assert summary.seconds_per_emotion == {"neutral": 2.5, "happy": 3.5, "sad": 1.0}
    assert summary.dominant() == "happy"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records] == ["start", "event", "event", "event", "summary"]
    assert records[2]["previous"] == "neutral" and records[2]["previous_duration_s"] == 2.5
    assert "happy" in summary.to_text({"happy": "😄"})


def test_csv_export(tmp_path):
    history = SessionHistory(tmp_path / "h.jsonl", started=0.0)
    history.record(0.0, 1, "happy", "😄", 0.9)
    history.record(1.0, 1, "sad", "😢", 0.6)
    history.close(2.0)
    assert export_csv(tmp_path / "h.jsonl", tmp_path / "h.csv") == 2
    with (tmp_path / "h.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["emotion"] for r in rows] == ["happy", "sad"]
    assert rows[1]["previous_duration_s"] == "1.0"


def test_a_torn_last_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "h.jsonl"
    history = SessionHistory(path, started=0.0)
    history.record(0.0, 1, "happy", "😄", 0.8)
    history.close(1.0)
    path.write_text(path.read_text() + '{"type": "ev')
    events, skipped = read_events(path)
    assert [e["emotion"] for e in events] == ["happy"] and skipped == 1


def test_killing_the_process_loses_nothing_already_shown(tmp_path):
    """Run headless on the live demo, kill -9 mid-run: every event printed is in the file."""
    env = {**os.environ, "EMOJITUI_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "emojitui", "--source", "demo", "--headless", "--events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    shown = []
    deadline = time.monotonic() + 60
    while len(shown) < 2 and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            shown.append(json.loads(lines.get(timeout=1))["event"])
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(shown) >= 2, "the demo produces events"
    files = list((tmp_path / "history").glob("session-*.jsonl"))
    assert len(files) == 1
    lines = files[0].read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    saved = [r for r in records if r["type"] == "event"]
    for event in shown:
        assert any(s["t"] == event["t"] and s["emotion"] == event["emotion"] for s in saved)
