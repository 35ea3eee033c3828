"""Bad input as a user gives it (issue 20): one line on stderr and a non-zero exit, or a correct
result; nothing computed is lost and no file's contents drive the terminal."""

from __future__ import annotations

import json

import pytest

from emojitui.cli import main
from tests.conftest import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--smooth-time", "nan"),
        ("--smooth-time", "inf"),
        ("--smooth-time", "-1"),
        ("--smooth-margin", "nan"),
        ("--smooth-margin", "-5"),
        ("--frames", "-1"),
        ("--threads", "-3"),
        ("--detect-width", "100000"),
        ("--detect-every", "-1"),
    ],
)
def test_case1_numeric_options_out_of_range_are_one_line_errors(capsys, option, value):
    """Checked once, right after parsing: nothing is opened, nothing NaN reaches the JSON or the screen."""
    assert main(["--source", "demo", "--headless", "--no-history", option, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"emojitui: {option} must be"), captured.err


def test_case1_bench_checks_the_same_options(capsys):
    assert main(["bench", "--smooth-time", "nan"]) == 2
    assert "--smooth-time must be" in capsys.readouterr().err


def test_case1_a_nan_time_constant_in_a_real_run_is_refused_as_a_user_runs_it():
    assert_one_line_error(run_cli("--source", "demo", "--smooth-time", "nan"), "--smooth-time must be")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"format_version": "one"}, "format_version must be a whole number"),
        ({"input": {"width": "48"}}, "input.width must be a whole number"),
        ({"input": {"width": None}}, "input.width must be a whole number"),
        ({"metrics": "none"}, "metrics must be an object"),
        ({"input": {"width": 48, "depth": 8}}, "unknown key"),
        ({"labels": None}, "labels must be"),
        ({"format_version": 99}, "format_version 99"),
        ({"tier": 3}, "tier must be a string"),
        ({"teachers": {"file": "t.keras"}}, "teachers must be a list"),
        ({"teachers": ["t.keras"]}, "teachers[0] must be an object"),
    ],
)
def test_case2_a_wrongly_typed_model_card_is_a_one_line_error(tmp_path, model_path, photos, change, fragment):
    card = json.loads(model_path.with_suffix(".json").read_text()) | change
    (tmp_path / "emotion.json").write_text(json.dumps(card))
    (tmp_path / "emotion.tflite").write_bytes(model_path.read_bytes())
    result = run_cli("--model", str(tmp_path / "emotion.tflite"), "--image", str(photos / "obama.jpg"), "--json")
    assert_one_line_error(result, str(tmp_path / "emotion.json"), fragment)


def test_case2_the_trainers_tier_and_teachers_are_known_card_keys():
    from emojitui.shared.model_card import ModelCard

    raw = {"labels": ["happy", "sad"], "tier": "fast", "teachers": [{"file": "teacher.keras", "sha256": "ab"}]}
    card = ModelCard.from_dict(raw)
    assert card.tier == "fast" and card.teachers == [{"file": "teacher.keras", "sha256": "ab"}]
    assert ModelCard.from_dict(json.loads(card.to_json())) == card
