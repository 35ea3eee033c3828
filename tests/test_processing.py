"""The pure parts behind the live screen, on fixed times: the session's per-face label timelines and
the processing thread's frame-rate meter."""

from __future__ import annotations

import numpy as np
import pytest

from emojitui.engine.engine import FaceResult, FrameResult
from emojitui.engine.faces import Box
from emojitui.session.session import FORGET_AFTER_S, Timelines
from emojitui.sources import Frame
from emojitui.ui.processing import RateMeter


def result_at(time: float, labels: dict[int, str]) -> FrameResult:
    faces = [
        FaceResult(face, Box(0, 0, 10, 10), np.full(7, 1 / 7), np.full(7, 1 / 7), label, "", 0.5)
        for face, label in labels.items()
    ]
    return FrameResult(Frame(np.zeros((4, 4, 3), np.uint8), time, 0), faces, [], [], {})


def test_timelines_sample_each_face_once_per_step_of_source_time():
    timelines = Timelines(step=1.0, length=3)
    for n in range(50):  # 10 frames a second for 5 seconds; face 2 appears at 2 s and turns sad at 3 s
        t = n / 10
        labels = {1: "happy"} | ({2: "neutral" if t < 3 else "sad"} if t >= 2 else {})
        timelines.add(result_at(t, labels))
    shown = timelines.snapshot()
    assert shown[1] == ["happy"] * 3, "one sample a second, the oldest dropped beyond `length`"
    assert shown[2] == ["neutral", "sad", "sad"]


def test_timelines_forget_faces_long_gone():
    timelines = Timelines(step=1.0)
    timelines.add(result_at(0.0, {1: "happy"}))
    timelines.add(result_at(FORGET_AFTER_S + 2.0, {2: "sad"}))
    assert set(timelines.snapshot()) == {2}


def test_rate_meter_reports_frames_per_second_over_its_window():
    meter = RateMeter(window=5)
    assert meter.tick(10.0) == 0.0, "one frame is no rate yet"
    rates = [meter.tick(10.0 + n / 20) for n in range(1, 10)]
    assert rates[-1] == pytest.approx(20.0)
    for n in range(10, 15):  # slows to 5 fps: the window forgets the fast frames
        rate = meter.tick(10.45 + (n - 9) / 5)
    assert rate == pytest.approx(5.0)


def test_a_queued_update_is_replaced_by_a_newer_one_unless_it_carries_a_calibration_note():
    from emojitui.session.history import SessionSummary
    from emojitui.ui.messages import FrameUpdate

    def update(note: str = "") -> FrameUpdate:
        summary = SessionSummary()
        return FrameUpdate(None, [], summary, [], {}, 0.0, 0.0, note=note)

    assert update().can_replace(update())
    assert not update("calibrated on 40 frames").can_replace(update()), "a note is shown, never dropped"
