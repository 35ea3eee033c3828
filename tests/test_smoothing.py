"""Smoothing defaults, justified on real model outputs: steady faces never flicker, and a real
change of expression shows within half a second, at 30 fps and at 10 fps."""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest

from emojitui.engine.smoothing import LabelSmoother, SmoothingConfig
from emojitui.shared.emotions import CLASS_NAMES
from tests.conftest import place, write_video
from trainer.noise import camera_noise_one as camera_noise

CHANGE_LIMIT_S = 0.5


def confident_face(classifier, fer_dir, name: str) -> np.ndarray:
    files = sorted((fer_dir / "test" / name).glob("PrivateTest_*.jpg"))[:40]
    faces = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files])
    scores = classifier.classify(faces)[:, classifier.labels.index(name)]
    return faces[int(np.argmax(scores))]


@pytest.fixture(scope="module")
def real_sequence(classifier, fer_dir):
    """Per-frame model outputs: 3 s of a happy face, then 3 s of a surprised one, with noise."""
    rng = np.random.default_rng(0)
    happy = confident_face(classifier, fer_dir, "happy")
    surprised = confident_face(classifier, fer_dir, "surprise")
    crops = [camera_noise(happy, rng) for _ in range(90)] + [camera_noise(surprised, rng) for _ in range(90)]
    return classifier.classify(np.stack(crops)), classifier.labels


@pytest.mark.parametrize("fps", [30, 10])
def test_defaults_hold_steady_and_follow_a_real_change_fast(real_sequence, fps):
    probabilities, labels = real_sequence
    step = 30 // fps
    smoother = LabelSmoother(SmoothingConfig())
    shown = []
    for index in range(0, len(probabilities), step):
        _, label, _ = smoother.update(probabilities[index], index / 30)
        shown.append((index / 30, labels[label]))
    first_half = [label for t, label in shown if t < 3.0]
    second_half = [(t, label) for t, label in shown if t >= 3.0]
    assert set(first_half) == {"happy"}, "no flicker on the steady face"
    switched = next(t for t, label in second_half if label == "surprise")
    assert switched - 3.0 <= CHANGE_LIMIT_S
    assert {label for t, label in second_half if t >= switched} == {"surprise"}, "and no flicker after"


def changes(labels: list[int]) -> int:
    return sum(a != b for a, b in pairwise(labels))


def test_an_ambiguous_face_flickers_raw_but_not_smoothed(classifier, fer_dir):
    """The baseline: the face among 80 whose raw label flickers most under camera noise."""
    rng = np.random.default_rng(1)
    files = [
        f for name in ("neutral", "sad", "fear", "angry") for f in sorted((fer_dir / "test" / name).glob("*.jpg"))[:20]
    ]
    worst_raw, worst_probabilities = -1, None
    for path in files:
        face = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        probabilities = classifier.classify(np.stack([camera_noise(face, rng) for _ in range(90)]))
        raw = changes(probabilities.argmax(axis=1).tolist())
        if raw > worst_raw:
            worst_raw, worst_probabilities = raw, probabilities
    smoother = LabelSmoother(SmoothingConfig())
    smoothed = changes([smoother.update(p, i / 30)[1] for i, p in enumerate(worst_probabilities)])
    assert worst_raw >= 10, "3 s of camera noise makes the raw argmax of some real face flicker"
    assert smoothed <= 2, f"smoothed: {smoothed} changes where the raw label made {worst_raw}"


def test_hysteresis_needs_a_lead_held_for_the_dwell_time():
    smoother = LabelSmoother(SmoothingConfig(time_constant=0.0, margin=0.1, dwell=0.1))
    happy = np.eye(7, dtype=np.float32)[CLASS_NAMES.index("happy")]
    close_call = np.full(7, 0.0, np.float32)
    close_call[[CLASS_NAMES.index("happy"), CLASS_NAMES.index("sad")]] = [0.47, 0.53]
    assert smoother.update(happy, 0.0)[1] == CLASS_NAMES.index("happy")
    assert smoother.update(close_call, 0.1)[1] == CLASS_NAMES.index("happy"), "a 6-point lead is not enough"
    sad = np.eye(7, dtype=np.float32)[CLASS_NAMES.index("sad")]
    assert smoother.update(sad, 0.2)[2] is False, "the lead must hold for the dwell time"
    assert smoother.update(sad, 0.31)[1] == CLASS_NAMES.index("sad")


def test_a_steady_face_on_video_keeps_one_id_and_one_label(engine, photos, tmp_path):
    photo = cv2.imread(str(photos / "obama.jpg"))
    frames = [place(photo, zoom=1.0 + 0.002 * n, dx=np.sin(n / 8) * 10) for n in range(60)]
    source_path = write_video(tmp_path / "steady.avi", frames)
    from emojitui.session.history import SessionHistory
    from emojitui.session.session import Session
    from emojitui.sources import open_source

    session = Session(engine, SessionHistory(None, 0.0))
    source = open_source(str(source_path))
    results = [session.process(frame) for frame in iter(source.read, None)]
    assert all(len(r.faces) == 1 for r in results)
    assert {r.faces[0].id for r in results} == {1}
    assert len([e for r in results for e in r.events]) == 1, "the face's first label, then no flicker"


def test_turning_mirror_on_keeps_each_face_and_its_id(engine, photos):
    """`m` flips the frames: the face jumps to the other side, but it is the same face."""
    from emojitui.sources import Frame

    frame = place(cv2.imread(str(photos / "obama.jpg")), zoom=0.8, dx=-170)  # off-centre: its mirror does not overlap
    plain = [Frame(frame, n / 30, n) for n in range(7)]
    flipped = [Frame(cv2.flip(frame, 1), (7 + n) / 30, 7 + n, mirrored=True) for n in range(6)]
    results = [engine.process(f) for f in plain + flipped]
    assert all(len(r.faces) == 1 for r in results)
    assert {r.faces[0].id for r in results} == {1}
    assert results[7].stages_ms["detected"] == 0.0, "frame 7's box is carried by the tracker, not detected"
    before, after = results[6].faces[0].box, results[7].faces[0].box
    assert after.x == pytest.approx(frame.shape[1] - before.x - before.w, abs=1)
