"""Neutral calibration: the math on its own, on real photos through the command line, the saved
file, and the `c` / `C` keys in the app (Pilot, a real video through the real engine)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import emojitui
from emojitui.engine.calibration import (
    DEFAULT_DAMPING,
    Calibration,
    CalibrationError,
    derive_calibration,
    typical_neutral,
)
from emojitui.engine.classifier import ExpressionClassifier
from emojitui.session.calibration import CalibrationStore, load_calibration
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.errors import UserError
from emojitui.shared.locations import DEMO_DIR
from tests.conftest import assert_one_line_error, place, run_cli, write_video

LABELS = list(CLASS_NAMES)
RESTS_ANGRY = DEMO_DIR / "05-obama-speech.jpg"  # a serious face the model reads "angry" (32%)
HAPPY = DEMO_DIR / "01-alex-lacamoire.jpg"  # a clear smile (77% happy)


def distribution(**values: float) -> np.ndarray:
    probs = np.array([values.get(name, 0.02) for name in LABELS], np.float64)
    return probs / probs.sum()


def test_a_sad_resting_face_reads_neutral_and_a_smile_stays_a_smile():
    rest = distribution(sad=0.55, neutral=0.25, angry=0.1)
    calibration = derive_calibration(np.stack([rest, rest]), LABELS)
    assert LABELS[int(calibration.apply(rest).argmax())] == "neutral"
    smile = distribution(happy=0.8, neutral=0.1)
    assert LABELS[int(calibration.apply(smile).argmax())] == "happy"
    assert calibration.frames == 2 and calibration.damping == DEFAULT_DAMPING
    assert abs(sum(calibration.offsets)) < 1e-9, "offsets are centred"
    batch = calibration.apply(np.stack([rest, smile]))
    assert batch.shape == (2, 7) and np.allclose(batch.sum(axis=1), 1, atol=1e-5)


def test_damping_zero_changes_nothing_and_one_reaches_the_typical_neutral_face():
    rest = distribution(angry=0.6, neutral=0.2)
    assert np.allclose(derive_calibration(rest, LABELS, damping=0.0).apply(rest), rest, atol=1e-6)
    full = derive_calibration(rest, LABELS, damping=1.0).apply(rest)
    assert np.allclose(full, typical_neutral(LABELS), atol=1e-4)


def test_bad_input_to_the_math_is_refused():
    with pytest.raises(CalibrationError):
        derive_calibration(np.zeros((0, 7)), LABELS)
    with pytest.raises(CalibrationError):
        derive_calibration(distribution(), LABELS, damping=1.5)
    with pytest.raises(CalibrationError):
        Calibration.from_dict({"labels": LABELS, "offsets": {}, "resting": {}})


def test_a_saved_file_with_offsets_no_calibration_can_make_is_refused():
    """A hand-edited file (offsets of 1e308 overflowed the softmax: every face read "angry")."""
    extreme = derive_calibration(np.eye(7)[0], LABELS, damping=1.0)  # a one-hot resting face: the largest offsets
    assert Calibration.from_dict(extreme.as_dict()).offsets == pytest.approx(extreme.offsets, abs=1e-5)
    huge = extreme.as_dict() | {"offsets": dict.fromkeys(LABELS, 0.0) | {"angry": 1e308, "happy": -1e308}}
    odd_rest = extreme.as_dict() | {"resting": dict.fromkeys(LABELS, 2.0)}
    for data in (huge, odd_rest):
        with pytest.raises(CalibrationError, match="within"):
            Calibration.from_dict(data)


def test_the_saved_file_round_trips_and_is_named_after_the_model(tmp_path, model_path):
    store = CalibrationStore(tmp_path, model_path)
    assert store.load() is None and store.sha256[:16] in store.path.name
    calibration = derive_calibration(distribution(sad=0.5), LABELS, model_sha256=store.sha256)
    store.save(calibration)
    loaded = store.load()
    assert loaded is not None and loaded.labels == calibration.labels and loaded.frames == 1
    assert np.allclose(loaded.offsets, calibration.offsets, atol=1e-5)
    assert np.allclose(loaded.resting, calibration.resting, atol=1e-5)
    assert store.clear() and not store.path.exists() and not store.clear()


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"labels": ["a"]}', '{"labels": ["neutral"], "offsets": {"neutral": "x"}}']
)
def test_a_corrupt_file_is_one_user_error(tmp_path, content):
    path = tmp_path / "calibration.json"
    path.write_text(content)
    with pytest.raises(UserError, match="calibration file"):
        load_calibration(path)


@pytest.mark.slow
def test_calibrate_on_a_real_face_that_reads_angry_then_it_reads_neutral_and_a_smile_stays(tmp_path):
    # One model throughout: `auto` on a loaded machine can pick the fast tier for the calibration's
    # stream and the accurate one for a still, and a calibration belongs to one model file.
    env = {"EMOJITUI_DATA_DIR": str(tmp_path / "data"), "EMOJITUI_MODEL": "accurate"}
    before = json.loads(run_cli("--image", str(RESTS_ANGRY), "--json", env=env).stdout)["faces"][0]
    assert before["label"] in ("angry", "sad"), before

    made = run_cli("calibrate", "--source", str(RESTS_ANGRY), "--countdown", "0.5", env=env)
    assert made.returncode == 0, made.stderr
    assert "now it reads neutral" in made.stdout and "relax your face" in made.stderr
    saved = list((tmp_path / "data" / "calibration").glob("emotion-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["resting"]

    after = json.loads(run_cli("--image", str(RESTS_ANGRY), "--json", "--calibration", env=env).stdout)
    assert after["faces"][0]["label"] == "neutral"
    smile = json.loads(run_cli("--image", str(HAPPY), "--json", "--calibration", env=env).stdout)
    assert smile["faces"][0]["label"] == "happy"
    default = json.loads(run_cli("--image", str(RESTS_ANGRY), "--json", env=env).stdout)
    assert default["faces"][0]["label"] == before["label"], "--image applies it only when asked"

    saved[0].write_text("{ corrupt")
    broken = run_cli("--image", str(RESTS_ANGRY), "--json", "--calibration", env=env)
    assert_one_line_error(broken, "calibration file", "corrupt" if "corrupt" in broken.stderr else "JSON")
    headless = run_cli("--source", str(RESTS_ANGRY), "--headless", "--frames", "1", "--no-history", env=env)
    assert_one_line_error(headless, "calibration file")
    assert (
        run_cli(
            "--source", str(RESTS_ANGRY), "--headless", "--frames", "1", "--no-history", "--no-calibration", env=env
        ).returncode
        == 0
    )
    cleared = run_cli("calibrate", "--clear", env=env)
    assert cleared.returncode == 0 and "removed" in cleared.stdout and not saved[0].exists()


def test_asking_for_a_calibration_that_was_never_made_says_so_and_reads_as_usual(tmp_path):
    env = {"EMOJITUI_DATA_DIR": str(tmp_path), "EMOJITUI_MODEL": "accurate"}
    result = run_cli("--image", str(HAPPY), "--json", "--calibration", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["faces"][0]["label"] == "happy"
    assert "no calibration saved for emotion.tflite" in result.stderr and "emojitui calibrate" in result.stderr
    assert "no calibration" not in run_cli("--image", str(HAPPY), "--json", env=env).stderr, "only when asked"


def test_calibrate_without_a_face_is_one_line(tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 90, np.uint8))
    result = run_cli("calibrate", "--source", str(blank), env={"EMOJITUI_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "no face found")


async def test_c_calibrates_the_selected_face_and_shift_c_clears_it(engine, model_path, tmp_path):
    from emojitui.session.session import Session
    from emojitui.sources import open_source
    from emojitui.ui.app import EmojiApp
    from emojitui.ui.widgets.status_bar import StatusBar
    from tests.test_ui import rendered, wait_for

    photo = cv2.imread(str(RESTS_ANGRY))
    video = write_video(tmp_path / "rest.avi", [place(photo, dx=(n % 10) - 5) for n in range(300)])
    store = CalibrationStore(tmp_path / "calibration", model_path)
    session = Session(engine, calibration_store=store)
    app = EmojiApp(session, open_source(str(video)), snapshot_dir=tmp_path)
    app.calibration_countdown = 0.5
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces and app.processor.last_result.frame.index > 10)
        assert app.faces[0].label in ("angry", "sad")
        await pilot.press("c")
        status = rendered(app.query_one(StatusBar))
        assert "relax your face" in status or "calibrating" in status
        await wait_for(pilot, lambda: engine.calibration is not None and store.path.is_file())
        assert engine.calibrated_face is None, "the only face: applied to every face"
        await wait_for(pilot, lambda: app.faces and app.faces[0].label == "neutral" and app.faces[0].calibrated)
        await wait_for(pilot, lambda: "CALIBRATED" in rendered(app.query_one(StatusBar)))
        await pilot.press("C")
        assert engine.calibration is None and not store.path.exists()
        await wait_for(pilot, lambda: "CALIBRATED" not in rendered(app.query_one(StatusBar)))
        await pilot.press("q")


async def test_shift_c_in_the_countdown_cancels_and_c_after_the_end_says_why(engine, model_path, tmp_path):
    """From the TUI audit: `C` in the countdown said "no calibration to clear"; `c` once a video had
    ended sat on "relax your face: 3" for good, as no frame would come."""
    from emojitui.session.session import Session
    from emojitui.sources import open_source
    from emojitui.ui.app import EmojiApp
    from tests.test_ui import wait_for

    photo = cv2.imread(str(RESTS_ANGRY))
    video = write_video(tmp_path / "rest.avi", [place(photo) for _ in range(45)])
    session = Session(engine, calibration_store=CalibrationStore(tmp_path / "calibration", model_path))
    app = EmojiApp(session, open_source(str(video)), snapshot_dir=tmp_path)
    app.calibration_countdown = 30.0  # still counting down when `C` comes

    def said() -> list[str]:
        return [n.message for n in app._notifications if n.title == "calibration"]

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces)
        await pilot.press("c")
        await pilot.press("C")
        assert said()[-1] == "calibration cancelled" and session.calibration_run is None
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("c")
        assert session.calibration_run is None
        assert any("the source has ended" in n.message for n in app._notifications)
        await pilot.press("q")


async def test_shift_c_when_the_saved_file_will_not_go_says_so_and_the_app_runs_on(engine, model_path, tmp_path):
    """From a review: an OSError other than "not found" (a root-owned or read-only data folder)
    came out of `C` as a traceback and ended the app."""
    from emojitui.session.session import Session
    from emojitui.sources import open_source
    from emojitui.ui.app import EmojiApp
    from tests.test_ui import wait_for

    photo = cv2.imread(str(RESTS_ANGRY))
    video = write_video(tmp_path / "rest.avi", [place(photo) for _ in range(45)])
    store = CalibrationStore(tmp_path / "calibration", model_path)
    store.path.mkdir(parents=True)  # unlink() of it fails, as it would in a folder the user cannot write
    app = EmojiApp(Session(engine, calibration_store=store), open_source(str(video)), snapshot_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces)
        await pilot.press("C")
        errors = [n.message for n in app._notifications if n.title == "calibration" and n.severity == "error"]
        assert errors and "cannot remove" in errors[-1] and "remove it by hand" in errors[-1]
        assert app.is_running
        await pilot.press("q")


async def test_c_on_a_still_photo_finishes_and_shows_it_and_shift_c_undoes_it(engine, model_path, tmp_path):
    """From a review: a still is processed once, so the countdown never moved ("relax your face: 3"
    for good). While calibrating, the photo's repeats are processed; once more when it is made or
    cleared, so the faces shown follow."""
    from emojitui.session.session import Session
    from emojitui.sources import open_source
    from emojitui.ui.app import EmojiApp
    from tests.test_ui import wait_for

    store = CalibrationStore(tmp_path / "calibration", model_path)
    session = Session(engine, calibration_store=store)
    app = EmojiApp(session, open_source(str(RESTS_ANGRY)), snapshot_dir=tmp_path)
    app.calibration_countdown = 0.3
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces)
        assert app.faces[0].label in ("angry", "sad")
        await pilot.press("c")
        await wait_for(pilot, lambda: engine.calibration is not None and store.path.is_file())
        await wait_for(pilot, lambda: app.faces and app.faces[0].calibrated and app.faces[0].label == "neutral")
        await pilot.press("C")
        await wait_for(pilot, lambda: app.faces and not app.faces[0].calibrated)
        await pilot.press("q")


def test_calibrate_says_so_and_exits_1_when_it_cannot_save(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    env = {"EMOJITUI_DATA_DIR": str(blocked / "data"), "EMOJITUI_MODEL": "accurate"}
    result = run_cli("calibrate", "--source", str(RESTS_ANGRY), "--countdown", "0.5", env=env)
    assert result.returncode == 1, result.stderr
    assert "not saved" in result.stdout and "now it reads" in result.stdout, "the result is still shown"
    assert "emojitui: the calibration was not saved in" in result.stderr and "EMOJITUI_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_with_several_faces_it_applies_to_the_face_it_was_made_on(engine, model_path, tmp_path):
    from emojitui.session.session import Session
    from emojitui.sources import VideoSource

    left, right = (cv2.imread(str(DEMO_DIR / name)) for name in ("05-obama-speech.jpg", "01-alex-lacamoire.jpg"))
    frames = [np.hstack([place(left, (320, 480)), place(right, (320, 480))]) for _ in range(90)]
    source = VideoSource(write_video(tmp_path / "two.avi", frames))
    store = CalibrationStore(tmp_path / "calibration", model_path)
    session = Session(engine, calibration_store=store)
    step = session.process(source.read())
    assert len(step.faces) == 2
    target = min(step.faces, key=lambda f: f.box.x).id  # the left face, the serious one
    session.start_calibration(target, all_faces=False, countdown=0.2)
    notes = []
    while (frame := source.read()) is not None:
        step = session.process(frame)
        notes.append(step.note)
    assert any("calibrated on" in note and "saved" in note for note in notes), notes
    assert engine.calibrated_face == target and session.calibration_state == f"CALIBRATED #{target}"
    calibrated = {f.id: f.calibrated for f in step.faces}
    assert calibrated[target] and not any(v for k, v in calibrated.items() if k != target)
    assert store.load() is not None


def test_each_model_calibrates_towards_its_own_typical_neutral_face(tmp_path, model_path):
    """The export writes each model's mean output on neutral faces into its card; the fast model's
    differs from the accurate one's, and calibration (the API's, as the app's) aims at the model's own."""
    fast_path = model_path.with_name("emotion-fast.tflite")
    accurate, fast = ExpressionClassifier(model_path), ExpressionClassifier(fast_path)
    assert accurate.card.typical_neutral and fast.card.typical_neutral
    assert np.abs(accurate.neutral_target - fast.neutral_target).max() > 0.01
    photo = DEMO_DIR / "05-obama-speech.jpg"
    analyzer = emojitui.Analyzer(model=fast_path)
    rest = analyzer.analyze_results(photo)[0].raw_probabilities
    assert analyzer.calibrate([photo]) == derive_calibration(rest, fast.labels, target=fast.neutral_target)
    full = derive_calibration(rest, fast.labels, damping=1.0, target=fast.neutral_target).apply(rest)
    assert np.allclose(full, fast.neutral_target, atol=1e-4)
    bare = tmp_path / "bare.tflite"  # a model whose card predates the field: the shipped figure
    bare.write_bytes(fast_path.read_bytes())
    card = json.loads(fast_path.with_suffix(".json").read_text())
    del card["typical_neutral"]
    bare.with_suffix(".json").write_text(json.dumps(card))
    assert np.allclose(ExpressionClassifier(bare).neutral_target, typical_neutral(LABELS))
