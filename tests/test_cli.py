"""The command line as a user runs it: fixed JSON forms, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.locations import DEMO_DIR as BUNDLED  # real faces shipped with the app
from tests.conftest import REPO, assert_one_line_error, place, run_cli, write_video


def test_image_json_has_the_fixed_form(photos):
    result = run_cli("--image", str(photos / "two_people.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["image"] == str(photos / "two_people.jpg")
    assert len(payload["faces"]) == 2
    for face in payload["faces"]:
        assert set(face) == {"box", "label", "emoji", "confidence", "probabilities"}
        assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
        assert set(face["probabilities"]) == set(CLASS_NAMES)
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
    assert result.stderr == ""


def test_no_flip_average_classifies_each_face_once(photos):
    def face(*options: str) -> dict:
        result = run_cli("--image", str(photos / "obama.jpg"), "--json", *options)
        assert result.returncode == 0, result.stderr
        (found,) = json.loads(result.stdout)["faces"]
        return found

    averaged, single = face(), face("--no-flip-average")
    assert averaged["label"] == single["label"] == "happy"
    assert single["probabilities"] != pytest.approx(averaged["probabilities"], abs=1e-3)


def test_image_without_a_face_is_an_empty_list(tmp_path):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 180, np.uint8))
    result = run_cli("--image", str(blank), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["faces"] == []


def test_image_table_is_readable(photos):
    result = run_cli("--image", str(photos / "obama.jpg"))
    assert result.returncode == 0
    assert "face 1" in result.stdout and "emotion" in result.stdout and "%" in result.stdout


def truncated_jpeg(folder):
    _, data = cv2.imencode(".jpg", np.full((100, 100, 3), 90, np.uint8))
    path = folder / "cut.jpg"
    path.write_bytes(data.tobytes()[:60])
    return path


def text_file(folder):
    path = folder / "notes.jpg"
    path.write_text("hello")
    return path


def zero_bytes(folder):
    path = folder / "zero.png"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda folder: folder / "missing.jpg", "no such file"),
        (text_file, "not an image"),
        (zero_bytes, "empty"),
        (truncated_jpeg, "not an image"),
    ],
)
def test_bad_images_are_one_line_errors(tmp_path, make, fragment):
    assert_one_line_error(run_cli("--image", str(make(tmp_path)), "--json"), fragment)


def test_bad_sources_are_one_line_errors(tmp_path):
    no_frames = tmp_path / "empty.avi"
    no_frames.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST")
    assert_one_line_error(run_cli("--source", str(no_frames), "--headless"), str(no_frames))
    (tmp_path / "nothing").mkdir()
    assert_one_line_error(run_cli("--source", str(tmp_path / "nothing"), "--headless"), "no readable images")
    assert_one_line_error(run_cli("--source", "97", "--headless"), "no camera found at 97")


def test_wrong_model_file_is_a_one_line_error(tmp_path, model_path):
    wrong = tmp_path / "emotion.tflite"
    wrong.write_text("not a model")
    (tmp_path / "emotion.json").write_text(model_path.with_suffix(".json").read_text())
    assert_one_line_error(run_cli("--model", str(wrong), "--image", "x.jpg"), str(wrong))
    assert_one_line_error(run_cli("--model", str(tmp_path / "none.tflite"), "--source", "demo"), "not found")


def test_headless_streams_a_line_per_frame_then_the_summary(photos, tmp_path):
    photo = cv2.imread(str(photos / "obama.jpg"))
    video = write_video(tmp_path / "clip.avi", [place(photo, dx=n) for n in range(20)])
    result = run_cli("--source", str(video), "--headless", env={"EMOJITUI_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert [f["frame"] for f in frames] == list(range(20))
    assert all(len(f["faces"]) == 1 for f in frames)
    assert summary["frames"] == 20 and summary["faces"] == 1
    assert sum(summary["seconds_per_emotion"].values()) == pytest.approx(19 / 30, abs=0.01)
    assert len(list((tmp_path / "data" / "history").glob("*.jsonl"))) == 1


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="this machine has a camera, so there is no fallback to see")
def test_no_camera_falls_back_to_the_demo_and_says_so(tmp_path):
    result = run_cli("--headless", "--frames", "3", "--no-history")
    assert result.returncode == 0, result.stderr
    assert "no camera found" in result.stderr and "demo" in result.stderr
    assert len(result.stdout.splitlines()) == 3 + 1


def test_bench_prints_the_fixed_json_form():
    result = run_cli("bench", "--source", "demo", "--frames", "40", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"frames", "fps", "stages_ms", "mean_ms", "source", "model", "detection", "detection_thread"}
    assert payload["model"]["tier"] == "accurate" and payload["model"]["reason"], "which tier ran, and why"
    assert payload["detection"] == "pipelined" and payload["detection_thread"]["detections"] > 0
    assert payload["frames"] == 40 and payload["fps"] > 0 and payload["source"] == "demo"
    assert set(payload["stages_ms"]) == set(payload["mean_ms"]) == {"capture", "detect", "classify", "total"}


def test_history_command_exports_csv(tmp_path, photos):
    data = tmp_path / "data"
    photo = cv2.imread(str(photos / "obama.jpg"))
    video = write_video(tmp_path / "clip.avi", [place(photo)] * 5)
    assert run_cli("--source", str(video), "--headless", env={"EMOJITUI_DATA_DIR": str(data)}).returncode == 0
    result = run_cli("history", "--csv", str(tmp_path / "out.csv"), env={"EMOJITUI_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("time,t,face,emotion") and len(rows) >= 2, "the face's first emotion is an event"
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_error(run_cli("history", str(binary)), "is not an emojitui history file")


def test_headless_into_a_closed_pipe_stops_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "emojitui", "--source", "demo", "--headless", "--no-history"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    _, stderr = process.communicate(timeout=60)
    # The live demo drops frames a busy machine cannot keep up with: the first line need not be frame 0.
    assert isinstance(json.loads(first)["frame"], int), "it ran and wrote a frame before the reader left"
    assert stderr == b"", "not even Python's 'Exception ignored ... BrokenPipeError'"
    assert process.returncode == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_kill_or_hangup_ends_a_headless_run_with_its_summary(tmp_path, signum):
    """`kill` (or an SSH session closing) is a clean stop: the summary reaches stdout and the history."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emojitui", "--source", "demo", "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=os.environ | {"EMOJITUI_DATA_DIR": str(tmp_path)},
    )
    process.stdout.readline()
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and b"Traceback" not in stderr, stderr
    assert "summary" in json.loads(stdout.splitlines()[-1])
    (history,) = (tmp_path / "history").glob("*.jsonl")
    assert json.loads(history.read_text().splitlines()[-1])["type"] == "summary"


def without_dlib_and_opencv(*args: str) -> subprocess.CompletedProcess:
    """`emojitui ARGS` in a process where `import dlib` and `import cv2` fail, as a wheel built for another
    platform would."""
    script = (
        "import sys; sys.modules.update(dlib=None, cv2=None); from emojitui.cli import main; "
        f"sys.exit(main({list(args)!r}))"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)


def test_a_dependency_that_cannot_load_is_a_one_line_error(photos):
    assert_one_line_error(without_dlib_and_opencv("--image", str(photos / "obama.jpg")), "cannot be loaded")
    help_text = without_dlib_and_opencv("--help")
    assert help_text.returncode == 0 and "examples:" in help_text.stdout, "--help needs neither dlib nor OpenCV"


def test_bad_config_is_a_one_line_error(tmp_path, photos):
    config = tmp_path / "config.toml"
    config.write_text('emoji = "x"\n')
    assert_one_line_error(run_cli("--config", str(config), "--image", str(photos / "obama.jpg")), "must be a table")
    config.write_text('[emoji]\ngrumpy = "x"\n')
    assert_one_line_error(run_cli("--config", str(config), "--image", str(photos / "obama.jpg")), "unknown class")
    assert_one_line_error(run_cli("--config", str(tmp_path / "none.toml"), "--image", "x.jpg"), "not found")
    config.write_bytes(b'[emoji]\nhappy = "\xff"\n')  # Latin-1 from an old editor
    assert_one_line_error(run_cli("--config", str(config), "--image", str(photos / "obama.jpg")), "is not UTF-8")
    config.write_text('[emoji]\nhappy = ["😊", "😃"]\n')
    result = run_cli("--config", str(config), "--image", str(photos / "obama.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    (face,) = json.loads(result.stdout)["faces"]
    assert face["label"] == "happy" and face["emoji"] == "😊", "the config's emoji, not the default 😄"


def test_mirror_flips_the_frames_a_file_is_read_in(tmp_path):
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    video = write_video(tmp_path / "side.avi", [place(photo, zoom=0.8, dx=-150)] * 3)
    boxes = {}
    for flag in ("--no-mirror", "--mirror"):
        result = run_cli("--source", str(video), "--headless", "--no-history", flag)
        assert result.returncode == 0, result.stderr
        boxes[flag] = json.loads(result.stdout.splitlines()[0])["faces"][0]["box"]
    x, _, w, _ = boxes["--no-mirror"]
    # dlib's boxes sit on an 8-pixel HOG grid (at 400 px wide), so a mirrored face's box is mirrored to about that
    assert boxes["--mirror"][0] == pytest.approx(640 - x - w, abs=0.15 * w), "the face seen from the other side"
    mirrored_x, _, mirrored_w, _ = boxes["--mirror"]
    assert x + w / 2 < 320 < mirrored_x + mirrored_w / 2, "left of centre, then right of it"


def test_history_lists_the_latest_session_and_says_when_there_is_none(tmp_path):
    data = tmp_path / "data"
    assert_one_line_error(run_cli("history", env={"EMOJITUI_DATA_DIR": str(data)}), "no session history")
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    for name in ("first", "second"):
        video = write_video(tmp_path / f"{name}.avi", [place(photo)] * 3)
        assert run_cli("--source", str(video), "--headless", env={"EMOJITUI_DATA_DIR": str(data)}).returncode == 0
    result = run_cli("history", env={"EMOJITUI_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    sessions = sorted((data / "history").glob("session-*.jsonl"), key=lambda f: f.stat().st_mtime_ns)
    assert len(sessions) == 2 and result.stdout.startswith(f"{sessions[-1]}: 1 events"), "the latest session"
    assert "face 1" in result.stdout


def test_out_of_range_engine_settings_are_one_line_errors(photos):
    photo = str(photos / "obama.jpg")
    assert_one_line_error(run_cli("--image", photo, "--detect-width", "40"), "--detect-width must be", "from 80")
    assert_one_line_error(run_cli("--image", photo, "--detect-every", "0"), "--detect-every must be", "from 1")
    assert_one_line_error(run_cli("--image", photo, "--threads", "0"), "--threads must be", "from 1")


def test_more_model_threads_give_the_same_answer(photos):
    """`--threads` only spreads the model over cores: the faces and their probabilities stay the same."""
    answers = []
    for threads in ("1", "2"):
        result = run_cli("--image", str(photos / "two_people.jpg"), "--json", "--threads", threads)
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout)["faces"])
    one, two = answers
    assert [face["box"] for face in one] == [face["box"] for face in two] and len(one) == 2
    for single, spread in zip(one, two, strict=True):
        assert spread["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


def test_the_engine_holds_opencv_to_one_thread(capsys):
    """OpenCV's idle workers spin between the pipeline's small calls; the spare cores are detection's."""
    from emojitui.cli import main

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        assert main(["--image", str(BUNDLED / "02-obama.jpg"), "--json"]) == 0
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)
    assert json.loads(capsys.readouterr().out)["faces"]
