"""`emojitui render`: a video written here with real faces in, a video or GIF out with the same
frames and size, every face covered and the rest untouched; bad input, an unwritable output and
Ctrl-C leave no file under the output name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

import emojitui
from emojitui.shared.locations import DEMO_DIR
from tests.conftest import REPO, assert_one_line_error, place, run_cli, write_video

FRAMES = 36


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """Two people side by side, gently moving: 36 frames at 12 fps, 640x480."""
    left, right = (cv2.imread(str(DEMO_DIR / name)) for name in ("01-alex-lacamoire.jpg", "02-obama.jpg"))
    frames = [
        np.hstack([place(left, (320, 480), dx=(n % 12) - 6), place(right, (320, 480), dx=6 - (n % 12))])
        for n in range(FRAMES)
    ]
    return write_video(tmp_path_factory.mktemp("render") / "two.avi", frames, fps=12.0)


def read_frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def leftovers(folder, name: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(f".{name}")]


@pytest.mark.slow
def test_every_face_is_covered_and_the_rest_is_untouched(video, tmp_path):
    out = tmp_path / "out.mp4"
    result = run_cli("render", str(video), "-o", str(out), "--no-labels")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and f"{FRAMES} frames" in result.stderr and "640x480 at 12 fps" in result.stderr
    frames, rendered = read_frames(video), read_frames(out)
    assert len(rendered) == FRAMES and rendered[0].shape == frames[0].shape
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FPS) == pytest.approx(12, abs=0.01)
    steps = list(emojitui.stream(str(video)))  # the same engine, the same boxes
    for index in (0, FRAMES // 2, FRAMES - 1):
        faces = steps[index].faces
        assert len(faces) == 2
        before, after = frames[index].astype(np.int16), rendered[index].astype(np.int16)
        outside = np.ones(before.shape[:2], bool)
        for face in faces:
            x, y, w, h = face.box
            inside = np.abs(before[y : y + h, x : x + w] - after[y : y + h, x : x + w]).mean()
            assert inside > 25, f"face {face.id} covered (mean change {inside:.1f})"
            grow = int(max(w, h) * 0.35)
            outside[max(0, y - grow) : y + h + grow, max(0, x - grow) : x + w + grow] = False
        assert np.abs(before - after)[outside].mean() < 4, "outside the faces only codec noise"


@pytest.mark.slow
def test_labels_are_drawn_unless_asked_not_to_and_width_scales(video, tmp_path):
    labelled, plain = tmp_path / "labelled.webm", tmp_path / "plain.webm"
    assert run_cli("render", str(video), "-o", str(labelled), "--width", "320", "--quiet").returncode == 0
    assert run_cli("render", str(video), "-o", str(plain), "--width", "320", "--no-labels").returncode == 0
    a, b = read_frames(labelled), read_frames(plain)
    assert len(a) == len(b) == FRAMES and a[0].shape == (240, 320, 3)
    assert np.abs(a[5].astype(np.int16) - b[5]).mean() > 1, "boxes and labels differ from emoji only"


@pytest.mark.slow
def test_a_gif_works(video, tmp_path):
    out = tmp_path / "out.gif"
    result = run_cli("render", str(video), "-o", str(out), "--width", "240")
    assert result.returncode == 0, result.stderr
    ok, animation = cv2.imreadanimation(str(out))
    assert ok and len(animation.frames) == FRAMES and animation.frames[0].shape[:2] == (180, 240)
    assert out.read_bytes()[:6] in (b"GIF89a", b"GIF87a") and not leftovers(tmp_path, "out.gif")


def test_a_folder_of_images_is_a_slideshow(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("01-alex-lacamoire.jpg", "02-obama.jpg"):
        (folder / name).write_bytes((DEMO_DIR / name).read_bytes())
    out = tmp_path / "show.mp4"
    result = run_cli("render", str(folder), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(read_frames(out)) == 30, "each image 1 s at 15 fps"


@pytest.mark.parametrize(
    ("make_input", "output", "fragment"),
    [
        (lambda d: d / "missing.mp4", "out.mp4", "no such file"),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "out.mp4", "not a video"),
        (lambda d: d / "two.avi", "out.mov", "must end in .mp4, .webm or .gif"),
        (lambda d: d / "two.avi", "no/such/folder/out.mp4", "does not exist"),
        (lambda d: d / "two.avi", "", "is a folder"),
        (lambda d: d / "two.avi", "cam.mp4 --seconds -1", "--seconds must be a number from"),
    ],
)
def test_bad_input_or_output_is_one_line_and_no_file(video, tmp_path, make_input, output, fragment):
    (tmp_path / "two.avi").write_bytes(video.read_bytes())
    source = make_input(tmp_path)
    name, *extra = output.split(" ") if output else [str(tmp_path)]
    target = tmp_path / name
    result = run_cli("render", str(source), "-o", str(target), *extra)
    assert_one_line_error(result, fragment)
    assert output == "" or not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_seconds_cuts_the_input_and_a_live_source_needs_it(tmp_path, model_path):
    result = run_cli("render", "demo", "-o", str(tmp_path / "x.mp4"), "--seconds", "0.2", "--quiet")
    assert result.returncode == 0 and len(read_frames(tmp_path / "x.mp4")) == 6

    from emojitui.render import render
    from emojitui.shared.errors import UserError
    from emojitui.sources import DemoSource

    with pytest.raises(UserError, match="--seconds"):
        render(DemoSource(live=True), emojitui.Analyzer(model_path), tmp_path / "live.mp4", progress=False)
    summary = render(
        DemoSource(live=True), emojitui.Analyzer(model_path), tmp_path / "live.mp4", seconds=0.5, progress=False
    )
    assert summary.frames == 15, "a live source keeps real time: 0.5 s at 30 fps"
    assert len(read_frames(tmp_path / "live.mp4")) == summary.frames


@pytest.mark.slow
def test_ctrl_c_mid_render_leaves_no_file(tmp_path):
    photo = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    long = write_video(tmp_path / "long.avi", [place(photo, dx=(n % 20) - 10) for n in range(900)])
    out = tmp_path / "out.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "emojitui", "render", str(long), "-o", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
        # Ctrl-C as a terminal sends it: a test run started in the background (`cmd &` in a script) hands
        # its children SIGINT ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path, "out.mp4") and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert leftovers(tmp_path, "out.mp4"), "the render started writing its temporary file"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not leftovers(tmp_path, "out.mp4")


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_a_file_the_disk_would_not_take_is_an_error_and_no_file(suffix):
    """OpenCV's video writer drops failed writes silently; a file-size limit stands in for a full
    disk (Python ignores SIGXFSZ, so each write past it fails with EFBIG). Before the check the
    render said "wrote ..." and left a 16 KiB .mp4 that no player opens."""
    import resource
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, f"out{suffix}")
        limit = 16 * 1024
        result = subprocess.run(
            [sys.executable, "-m", "emojitui", "render", "demo", "-o", out, "--seconds", "1", "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
        )
        assert_one_line_error(result, "could not write", "disk may be full")
        assert result.returncode == 1
        assert os.listdir(folder) == [], "neither the output nor its temporary file is left"
