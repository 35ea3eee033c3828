"""SVG snapshots of the main screen at 80x24, 120x40 and 160x50, from fixed data (no timing in them)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.engine import Engine, FaceResult
from emojitui.engine.faces import Box
from emojitui.session.history import EmotionEvent, SessionHistory, SessionSummary
from emojitui.session.session import Session
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.locations import DEMO_DIR
from emojitui.ui.app import EmojiApp
from emojitui.ui.messages import FrameUpdate
from tests.conftest import MODEL

pytest.importorskip("pytest_textual_snapshot")


def fixed_update() -> FrameUpdate:
    image = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    happy = np.array([0.02, 0.01, 0.03, 0.81, 0.04, 0.03, 0.06], np.float32)
    face = FaceResult(1, Box(110, 40, 90, 90), happy, happy, "happy", "😄", 0.81)
    events = [
        EmotionEvent("2026-11-24T10:00:00.000+00:00", 0.0, 1, "neutral", "😐", 0.7, None, None),
        EmotionEvent("2026-11-24T10:00:04.000+00:00", 4.0, 1, "happy", "😄", 0.81, "neutral", 4.0),
    ]
    summary = SessionSummary(12.0, 1, 1, {"neutral": 4.0, "happy": 8.0})
    timeline = ["neutral"] * 4 + ["happy"] * 8
    return FrameUpdate(image, [face], summary, events, {1: timeline}, fps=30.0, latency_ms=6.2)


class FixedApp(EmojiApp):
    """The real app with a real small session (the shipped model, no history file) and no source,
    showing one fixed update."""

    def __init__(self) -> None:
        session = Session(Engine(ExpressionClassifier(MODEL)), SessionHistory(None, 0.0))
        super().__init__(session=session, source=None, demo=True)
        self.source_label = "demo"

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self.show_update, fixed_update())


def test_main_screen_80x24(snap_compare):
    assert snap_compare(FixedApp(), terminal_size=(80, 24))


def test_main_screen_120x40(snap_compare):
    assert snap_compare(FixedApp(), terminal_size=(120, 40))


def test_main_screen_160x50(snap_compare):
    assert snap_compare(FixedApp(), terminal_size=(160, 50))


def test_class_order_is_stable():
    assert CLASS_NAMES == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
