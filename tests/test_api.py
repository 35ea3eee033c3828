"""The Python API: `emojitui.analyze` gives what `emojitui --image --json` prints, `Analyzer` keeps
the model, and `stream` yields one result per frame and closes its source however the loop ends."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import emojitui
from emojitui.engine.calibration import derive_calibration
from emojitui.shared.locations import DEMO_DIR
from emojitui.sources import VideoSource
from tests.conftest import place, run_cli, write_video

BUNDLED = sorted(DEMO_DIR.glob("*.jpg"))


@pytest.fixture(scope="module")
def analyzer(model_path):
    return emojitui.Analyzer(model_path)


@pytest.fixture
def video(tmp_path):
    photo = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    return write_video(tmp_path / "face.avi", [place(photo, dx=(n % 20) - 10) for n in range(45)])


@pytest.mark.slow
def test_analyze_on_the_bundled_photos_is_what_the_command_line_prints(analyzer):
    for photo in BUNDLED:
        printed = json.loads(run_cli("--image", str(photo), "--json").stdout)["faces"]
        faces = emojitui.analyze(photo)
        assert [f.label for f in faces] == [p["label"] for p in printed], photo.name
        assert [f.as_json() for f in faces] == printed, "the same numbers, to the digit"
        assert [f.label for f in analyzer.analyze(str(photo))] == [p["label"] for p in printed]


def test_a_face_is_typed_data(analyzer):
    image = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    (face,) = analyzer.analyze(image)
    _, _, w, h = face.box
    assert all(isinstance(v, int) for v in face.box) and w > 50 and h > 50
    assert face.label == "happy" and face.emoji and 0 < face.confidence <= 1
    assert set(face.probabilities) == set(analyzer.labels)
    assert face.probabilities[face.label] == pytest.approx(face.confidence)
    assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-3)
    assert analyzer.analyze(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))[0].label == "happy", "grey works too"
    assert analyzer.analyze(np.zeros((120, 160, 3), np.uint8)) == []


def test_the_api_takes_a_calibration(analyzer):
    photo = DEMO_DIR / "05-obama-speech.jpg"
    rest = analyzer.analyze_results(photo)[0].raw_probabilities
    calibration = analyzer.calibrate([photo])
    assert calibration == derive_calibration(rest, analyzer.labels)
    assert emojitui.analyze(photo)[0].label != "neutral"
    (face,) = emojitui.analyze(photo, calibration=calibration)
    assert face.label == "neutral" and face.calibrated
    assert not emojitui.analyze(photo)[0].calibrated, "a calibration for one call only"


def test_stream_yields_one_result_per_frame_and_closes_the_source(analyzer, video):
    source = VideoSource(video)
    results = list(analyzer.stream(source))
    assert [r.index for r in results] == list(range(45))
    assert all(len(r.faces) == 1 for r in results) and results[-1].faces[0].label == "happy"
    assert len({r.faces[0].id for r in results}) == 1, "one face, one id through the clip"
    assert not source._capture.isOpened(), "closed at the end"

    source = VideoSource(video)
    for result in analyzer.stream(source):
        if result.index == 3:
            break
    assert not source._capture.isOpened(), "closed when the loop breaks"

    source = VideoSource(video)
    with pytest.raises(ZeroDivisionError):
        for _ in analyzer.stream(source):
            1 / 0  # noqa: B018
    assert not source._capture.isOpened(), "closed when the loop raises"


def test_stream_is_smoothed_as_the_app_is(video):
    raw = [r.faces[0].probabilities for r in emojitui.stream(str(video))]
    assert len(raw) == 45
    labels = [max(p, key=p.get) for p in raw]
    assert len(set(labels)) == 1, "no flicker on a steady face"


def test_bad_input_is_a_user_error(tmp_path):
    from emojitui.shared.errors import UserError

    with pytest.raises(UserError, match="no such file"):
        emojitui.analyze(tmp_path / "missing.jpg")
    with pytest.raises(UserError, match="no such file"):
        emojitui.stream(tmp_path / "missing.mp4")


def test_the_readme_example_runs(video, capsys):
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Python API\n\n", 1)[1].split("\n\n`import emojitui`", 1)[0]
    code = "\n".join(line[4:] for line in block.splitlines())
    assert len(code.splitlines()) <= 10
    photo = DEMO_DIR / "02-obama.jpg"
    exec(code.replace('"photo.jpg"', repr(str(photo))).replace('"clip.mp4"', repr(str(video))), {})
    printed = capsys.readouterr().out
    assert "happy" in printed and printed.count("\n") == 2 + 45
