"""Bad input as a user gives it (issue 20): one line on stderr and a non-zero exit, or a correct
result; nothing computed is lost and no file's contents drive the terminal."""

from __future__ import annotations

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
