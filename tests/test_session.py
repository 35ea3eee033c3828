"""The Session: the engine returns label changes, the session records them, and it closes once."""

from __future__ import annotations

import json

import cv2

from emojitui.session.history import SessionHistory
from emojitui.session.session import Session
from emojitui.shared.locations import DEMO_DIR as BUNDLED  # real faces shipped with the app
from emojitui.sources import Frame
from tests.conftest import place


def frames_of_a_face(count: int) -> list[Frame]:
    image = place(cv2.imread(str(BUNDLED / "02-obama.jpg")))
    return [Frame(image, n / 30, n) for n in range(count)]


def test_the_engine_returns_changes_and_keeps_no_history(engine):
    results = [engine.process(frame) for frame in frames_of_a_face(3)]
    assert [len(r.changes) for r in results] == [1, 0, 0], "the face's first label, then no change"
    assert results[0].changes[0].face == results[0].faces[0].id
    assert not hasattr(engine, "history")


def test_a_session_records_changes_keeps_timelines_and_closes_once(engine, tmp_path):
    path = tmp_path / "history.jsonl"
    session = Session(engine, SessionHistory(path, 0.0, "test"))
    steps = [session.process(frame) for frame in frames_of_a_face(40)]
    label = steps[-1].faces[0].label
    assert [len(s.events) for s in steps].count(1) == 1 and steps[0].events[0].emotion == steps[0].faces[0].label
    assert session.recent_events(5) == steps[0].events
    assert session.timelines.snapshot() == {1: [label, label]}, "one sample a second of source time (0 s and 1 s)"
    assert session.current_summary().duration_s == 39 / 30

    summary = session.close()
    assert session.closed and session.close() is summary, "a second close returns the same summary"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records].count("summary") == 1
    assert records[-1]["type"] == "summary" and records[-1]["duration_s"] == round(39 / 30, 3)


def test_a_session_without_a_history_file_still_summarises(engine):
    session = Session(engine)
    session.process(frames_of_a_face(1)[0])
    assert session.history.path is None and session.close().faces == 1
