"""`python -m trainer compare` and the paired bootstrap under it: the shipped models, real LiteRT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_trainer_data import make_folder_dataset
from trainer.cli import main as trainer_main
from trainer.metrics import accuracy, balanced_accuracy, classification_report, paired_difference

MODELS = Path(__file__).resolve().parents[1] / "models"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=60))
def test_balanced_accuracy_is_the_reports(pairs):
    truth, predicted = (np.array(column) for column in zip(*pairs, strict=True))
    report = classification_report(truth, predicted, [str(i) for i in range(7)])
    assert round(balanced_accuracy(truth, predicted), 4) == report["balanced_accuracy"]
    assert round(accuracy(truth, predicted), 4) == report["accuracy"]


def test_a_model_against_itself_differs_by_nothing():
    truth = np.random.default_rng(1).integers(0, 7, 500)
    predicted = np.random.default_rng(2).integers(0, 7, 500)
    assert paired_difference(truth, predicted, predicted, balanced_accuracy, resamples=100) == (0.0, 0.0, 0.0)


def test_a_clear_gain_leaves_zero_and_a_gain_of_one_face_in_a_small_class_does_not():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 7, 2000)
    baseline = np.where(rng.random(2000) < 0.6, truth, (truth + 1) % 7)  # right 60% of the time
    better = np.where(rng.random(2000) < 0.5, truth, baseline)  # fixes about half its errors
    gap, low, high = paired_difference(truth, better, baseline, accuracy, resamples=300)
    assert 0 < low < gap < high
    truth = np.where(truth == 2, 3, truth)
    truth[:20] = 2  # a class of 20 faces, as wild-dev's fear has 21
    baseline, one_more = truth.copy(), truth.copy()
    baseline[:10] = one_more[:9] = 0  # the candidate gets one more of the 20 right
    gap, low, high = paired_difference(truth, one_more, baseline, balanced_accuracy, resamples=300)
    assert gap > 0.005 and low <= 0 < high, "one face of twenty is 5 points of its class's recall, 0.7 of the mean"


def test_compare_names_both_models_and_reads_no_privatetest(tmp_path, capsys, monkeypatch):
    fer = make_folder_dataset(tmp_path / "fer", per_class=6)
    monkeypatch.setenv("EMOJITUI_WILD_DEV", str(fer / "train"))  # a folder of <class>/<image>, as wild-dev is
    shipped, fast = MODELS / "emotion.tflite", MODELS / "emotion-fast.tflite"
    data = ["--data", str(fer), "--cache", str(tmp_path / "cache"), "--resamples", "50"]
    assert trainer_main(["compare", str(fast), "--against", str(shipped), *data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f"candidate {fast}", f"baseline  {shipped}"]
    measures = [line[:30].strip() for line in lines[3:]]
    assert measures == [
        "PublicTest accuracy",
        "PublicTest balanced accuracy",
        "wild-dev balanced accuracy",
        "wild-dev accuracy",
    ]
    assert not any("PrivateTest" in line for line in lines)
    assert trainer_main(["compare", str(shipped), "--against", str(shipped), *data]) == 0
    same = capsys.readouterr().out.splitlines()[3:]
    assert all(line.endswith("+0.00 [+0.00, +0.00]  within noise") for line in same)


def test_compare_with_a_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert trainer_main(["compare", str(tmp_path / "none.tflite")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"error: model {tmp_path / 'none.tflite'} not found: pass the path of a .tflite file"


def test_compare_against_a_file_that_is_no_model_names_it(tmp_path, capsys):
    fer = make_folder_dataset(tmp_path / "fer")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    data = ["--data", str(fer), "--cache", str(tmp_path / "cache"), "--resamples", "10"]
    assert trainer_main(["compare", str(MODELS / "emotion-fast.tflite"), "--against", str(broken), *data]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {broken} is not a usable TFLite classifier") and "\n" not in err
