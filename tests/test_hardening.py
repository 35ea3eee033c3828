"""Bad input as a user gives it (issue 20): one line on stderr and a non-zero exit, or a correct
result; nothing computed is lost and no file's contents drive the terminal."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emojitui.cli import main
from emojitui.shared.locations import DEMO_DIR as BUNDLED
from tests.conftest import REPO, assert_one_line_error, run_cli


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


def run_with_stdout(stdout: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`emojitui ARGS > /dev/full` or `emojitui ARGS >&-`, through a shell as a user types it."""
    return subprocess.run(
        ["sh", "-c", f'"$0" -m emojitui "$@" {stdout}', sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def history_file(folder: Path, *lines: str) -> Path:
    path = folder / "session-20260101-000000.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD_EVENT = json.dumps(
    {"type": "event", "time": "2026-01-01T10:00:01.000+00:00", "t": 1.0, "face": 1, "emotion": "happy",
     "emoji": "😄", "confidence": 0.9, "previous": None, "previous_duration_s": None},
    ensure_ascii=False,
)  # fmt: skip


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("--image", str(BUNDLED / "02-obama.jpg"), "--json"),
        ("--image", str(BUNDLED / "02-obama.jpg")),
        ("--source", "demo", "--headless", "--frames", "3", "--no-history"),
        ("bench", "--frames", "2", "--json"),
    ],
)
def test_case3_a_full_disk_on_stdout_is_a_one_line_error(args):
    assert_one_line_error(run_with_stdout("> /dev/full", *args), "cannot write the result", "No space left")


def test_case3_history_to_a_full_disk_is_a_one_line_error(tmp_path):
    path = history_file(tmp_path, GOOD_EVENT)
    assert_one_line_error(run_with_stdout("> /dev/full", "history", str(path)), "No space left")


@pytest.mark.parametrize(
    "args",
    [("--image", str(BUNDLED / "02-obama.jpg"), "--json"), ("--source", "demo", "--headless", "--no-history")],
)
def test_case3_a_closed_stdout_is_a_one_line_error_not_a_lost_result(args):
    result = run_with_stdout(">&-", *args)
    assert result.returncode == 1
    assert_one_line_error(result, "standard output is closed")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('"\\u001b]0;PWNED\\u0007\\u001b[2J"', "control character U+001B"),
        ('"😄\\u009b2J"', "control character U+009B"),
        ('"😄\\u202e"', "control character U+202E"),
        ('["😊", "\\n"]', "must be a non-empty string"),
        ('"' + "😄" * 5000 + '"', "at most 16"),
    ],
)
def test_case4_config_emoji_never_drive_the_terminal(tmp_path, value, fragment):
    config = tmp_path / "config.toml"
    config.write_text(f"[emoji]\nhappy = {value}\n", encoding="utf-8")
    result = run_cli("--config", str(config), "--image", str(BUNDLED / "02-obama.jpg"), "--json")
    assert_one_line_error(result, str(config), "[emoji] happy", fragment)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_case4_emoji_sequences_stay_allowed(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[emoji]\nhappy = "👨‍👩‍👧"\nsad = "🏴󠁧󠁢󠁳󠁣󠁴󠁿"\nneutral = "👍🏽"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "--image", str(BUNDLED / "02-obama.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["faces"][0]["emoji"] == "👨‍👩‍👧"


def test_case7_a_folder_as_config_says_it_is_a_folder(tmp_path):
    assert_one_line_error(run_cli("--config", str(tmp_path), "--image", "x.jpg"), "is a folder")


def test_case5_a_history_line_missing_a_field_is_skipped_and_counted(tmp_path, capsys):
    path = history_file(
        tmp_path,
        '{"type": "start", "time": "2026-01-01T10:00:00.000+00:00", "source": "demo"}',
        GOOD_EVENT,
        '{"type":"event","time":"x"}',
        GOOD_EVENT.replace('"😄"', '"\\u001b]0;PWNED\\u0007"'),
        '{"type": "ev',
    )
    assert main(["history", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{path}: 1 events (3 unreadable lines skipped)"), captured.out
    assert "\x1b" not in captured.out and captured.err == ""
    assert main(["history", str(path), "--csv", str(tmp_path / "out.csv")]) == 0
    assert "wrote 1 events" in capsys.readouterr().out


def test_case5_a_line_cut_inside_an_emoji_costs_that_line_only(tmp_path, capsys):
    """A process killed mid-write (or a full disk) can cut the last line inside a 4-byte emoji:
    the whole file was refused as not UTF-8."""
    path = history_file(tmp_path, GOOD_EVENT, GOOD_EVENT)
    path.write_bytes(path.read_bytes() + GOOD_EVENT.encode()[: GOOD_EVENT.encode().index("😄".encode()) + 2])
    assert main(["history", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 2 events (1 unreadable line skipped)")


def test_case5_a_file_that_is_no_history_is_a_one_line_error(tmp_path):
    path = history_file(tmp_path, "hello", "world")
    assert_one_line_error(run_cli("history", str(path)), "is not an emojitui history file")


@pytest.mark.parametrize("as_json", [True, False])
def test_case6_a_snapshot_that_cannot_be_written_still_prints_the_result(tmp_path, as_json):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the snapshot folder should be")
    photo = str(BUNDLED / "02-obama.jpg")
    result = run_cli("--image", photo, *(["--json"] if as_json else []), "--snapshot", str(blocker / "snaps"))
    assert_one_line_error(result, "could not write the snapshot", str(blocker / "snaps"))
    if as_json:
        assert json.loads(result.stdout)["faces"][0]["label"] == "happy", "the computed result is printed first"
    else:
        assert "face 1" in result.stdout and "happy" in result.stdout


def png_bytes() -> bytes:
    ok, data = cv2.imencode(".png", cv2.imread(str(BUNDLED / "02-obama.jpg")))
    assert ok
    return data.tobytes()


def truncated_png(folder: Path) -> Path:
    path = folder / "cut.png"
    data = png_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def corrupt_png(folder: Path) -> Path:
    """Complete (it ends with IEND) but with garbage where the pixels are."""
    path = folder / "corrupt.png"
    data = bytearray(png_bytes())
    data[100:4000] = bytes(3900)
    path.write_bytes(bytes(data))
    return path


def symlink_loop(folder: Path) -> Path:
    (folder / "a.jpg").symlink_to(folder / "b.jpg")
    (folder / "b.jpg").symlink_to(folder / "a.jpg")
    return folder / "a.jpg"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (truncated_png, "truncated PNG"),
        (corrupt_png, "not an image OpenCV can read"),
        (symlink_loop, "symbolic link that leads nowhere"),
    ],
)
@pytest.mark.parametrize("option", ["--image", "--source"])
def test_case7_bad_image_files_are_one_line_errors_with_no_native_noise(tmp_path, make, fragment, option):
    result = run_cli(option, str(make(tmp_path)), "--headless", "--no-history")
    assert_one_line_error(result, fragment)  # one line: no `libpng error:` before it
    assert "libpng" not in result.stderr


def test_case7_an_empty_source_is_a_one_line_error():
    assert_one_line_error(run_cli("--source", "", "--headless", "--no-history"), "--source is empty")


def test_case8_each_photo_of_a_folder_gets_its_own_detection_and_smoothing(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("02-obama.jpg", "03-lin-manuel-miranda.jpg", "04-biden.jpg"):
        (folder / name).write_bytes((BUNDLED / name).read_bytes())
    cv2.imwrite(str(folder / "02-wall.png"), np.full((480, 640, 3), 180, np.uint8))  # between two faces: none
    result = run_cli("--source", str(folder), "--headless", "--no-history")
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines()][:-1]
    assert [len(frame["faces"]) for frame in frames] == [1, 0, 1, 1], "no box carried onto the wall"
    faces = [face for frame in frames for face in frame["faces"]]
    assert len({face["id"] for face in faces}) == 3, "a new photo is new people"
    for face in faces:  # a fresh smoother per photo: what this photo shows, not a blend with the last one
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)


def test_case8_the_faces_of_the_last_photo_leave_the_session_with_it(classifier, tmp_path):
    from emojitui.engine.engine import Engine
    from emojitui.session.history import SessionHistory
    from emojitui.session.session import Session
    from emojitui.sources import open_source

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("02-obama.jpg", "04-biden.jpg"):
        (folder / name).write_bytes((BUNDLED / name).read_bytes())
    source = open_source(str(folder), live_stills=False)
    session = Session(Engine(classifier), SessionHistory(None, 0.0))
    first, second = session.process(source.read()), session.process(source.read())
    assert [f.id for f in first.faces] != [f.id for f in second.faces]
    assert second.result.departed == [f.id for f in first.faces], "the engine says the first face left"


def test_case7_a_full_history_disk_is_said_when_it_happens_and_fails_the_run(tmp_path):
    """RLIMIT_FSIZE makes the history file's writes fail as a full disk would (EFBIG for ENOSPC)."""

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))

    result = subprocess.run(
        [sys.executable, "-m", "emojitui", "--source", str(BUNDLED), "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream: the order shows when the problem was said
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "EMOJITUI_DATA_DIR": str(tmp_path)},
        preexec_fn=small_files,
    )
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    problems = [n for n, line in enumerate(lines) if line.startswith("emojitui: history not saved any more")]
    assert len(problems) == 1, result.stdout
    assert problems[0] < len(lines) - 2, "said when it happened, with frames still to come"
    assert json.loads(lines[-1])["summary"]["frames"] == 6, "the run itself went on"


# The audit of 2026-12-04: names and contents from files never drive the terminal; a path the
# system refuses anywhere is one line; nothing unknown in a config is silently ignored.
TERMINAL_ATTACK = "\x1b]0;pwned\x07\x1b[31m"  # set the window title, then turn the text red


def assert_no_control(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, text
    assert "\\x1b" in text, "the name is still shown, escaped"


def test_case9_a_bad_file_named_with_escapes_is_shown_escaped(tmp_path):
    bad = tmp_path / f"{TERMINAL_ATTACK}text.jpg"
    bad.write_text("not an image")
    result = run_cli("--image", str(bad))
    assert_one_line_error(result, "not an image OpenCV can read")
    assert_no_control(result.stderr)


def test_case9_the_image_table_and_history_show_such_names_escaped(tmp_path):
    photo = tmp_path / f"{TERMINAL_ATTACK}face.jpg"
    photo.write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    table = run_cli("--image", str(photo))
    assert table.returncode == 0, table.stderr
    assert_no_control(table.stdout)
    events = tmp_path / f"{TERMINAL_ATTACK}.jsonl"
    history_file(tmp_path, GOOD_EVENT).rename(events)
    shown = run_cli("history", str(events))
    assert shown.returncode == 0, shown.stderr
    assert_no_control(shown.stdout)


def test_case9_a_folder_of_unreadable_images_is_one_line_that_says_why(tmp_path):
    (tmp_path / f"{TERMINAL_ATTACK}bad.jpg").write_text("not an image")
    result = run_cli("--source", str(tmp_path), "--headless", "--frames", "2", "--no-history")
    assert_one_line_error(result, "no readable images in this folder (1 unreadable:", "not an image")
    assert_no_control(result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("--image", str(BUNDLED / "02-obama.jpg"), "--model", "a" * 300 + ".tflite"),
        ("--image", str(BUNDLED / "02-obama.jpg"), "--config", "a" * 300 + ".toml"),
        ("history", "a" * 300 + ".jsonl"),
        ("render", str(BUNDLED / "02-obama.jpg"), "-o", "a" * 300 + ".gif"),
    ],
)
def test_case9_a_name_too_long_for_the_system_is_one_line_not_a_traceback(args):
    assert_one_line_error(run_cli(*args), "File name too long")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("[emojii]\nhappy = 'x'\n", "unknown table 'emojii'"), ("colour = 'red'\n", "unknown key 'colour'")],
)
def test_case9_unknown_config_tables_and_keys_are_errors(tmp_path, text, fragment):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(config), "--image", str(BUNDLED / "02-obama.jpg"), "--json")
    assert_one_line_error(result, str(config), fragment)


def test_case9_a_config_named_in_the_environment_must_exist(tmp_path):
    missing = tmp_path / "nope.toml"
    result = run_cli("--image", str(BUNDLED / "02-obama.jpg"), env={"EMOJITUI_CONFIG": str(missing)})
    assert_one_line_error(result, f"config file {missing} not found")


def test_case9_a_folder_where_a_file_belongs_is_called_a_folder(tmp_path):
    assert_one_line_error(run_cli("--image", str(BUNDLED / "02-obama.jpg"), "--model", str(tmp_path)), "is a folder")
    assert_one_line_error(run_cli("history", str(tmp_path)), "is a folder", "--history-dir")
    afile = tmp_path / "taken.txt"
    afile.write_text("mine")
    render = run_cli("render", str(BUNDLED / "02-obama.jpg"), "-o", str(afile / "out.gif"))
    assert_one_line_error(render, "is a file, not a folder")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("option", ["--version", "--help"])
def test_case9_help_and_version_to_a_full_disk_fail(option):
    result = run_with_stdout("> /dev/full", option)
    assert result.returncode == 1
    assert_one_line_error(result, "No space left")


def test_case9_names_and_emoji_are_never_read_as_markup(tmp_path):
    """An emoji of "[/]" (allowed: no control character) crashed the `--image` table; a file name with
    [link=...] became a terminal hyperlink (OSC 8) in `render`'s progress line."""
    config = tmp_path / "config.toml"
    config.write_text('[emoji]\nhappy = "[/]"\n', encoding="utf-8")
    table = run_cli("--config", str(config), "--image", str(BUNDLED / "01-alex-lacamoire.jpg"))
    assert table.returncode == 0, table.stderr
    assert "[/] happy" in table.stdout
    out = tmp_path / "a[link=x:y]\x1b]0;PWN\x07b.gif"
    render = run_cli("render", str(BUNDLED / "01-alex-lacamoire.jpg"), "-o", str(out), "--seconds", "0.2",
                     env={"FORCE_COLOR": "1"})  # fmt: skip  # the progress line drawn, as in a terminal
    assert render.returncode == 0 and out.is_file(), render.stderr
    assert "\x1b]8;" not in render.stderr and "\x1b]0" not in render.stderr
    assert "rendering a[link=x:y]\\x1b]0;PWN\\x07b.gif" in render.stderr


def test_case9_json_lines_escape_what_json_leaves_raw(tmp_path):
    """json.dumps(ensure_ascii=False) keeps DEL and C1 codes (U+009B is a one-byte CSI) as they are."""
    photo = tmp_path / "a\x9b2J\x7fb.jpg"
    photo.write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    result = run_cli("--image", str(photo), "--json")
    assert result.returncode == 0, result.stderr
    assert "\x9b" not in result.stdout and "\x7f" not in result.stdout
    assert json.loads(result.stdout)["image"] == str(photo)


def test_a_folder_image_found_damaged_when_its_turn_comes_is_named_headless(tmp_path):
    """Only the first image is decoded up front: a damaged one later was dropped without a word."""
    from tests.test_terminal import crc_broken_png

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    crc_broken_png(folder / "b.png")
    (folder / "c.jpg").write_bytes((BUNDLED / "04-biden.jpg").read_bytes())
    result = run_cli("--source", str(folder), "--headless", "--no-history")
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines() if '"frame"' in line]
    assert len(frames) == 2, result.stdout
    said = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("skipping ") and "b.png" in said[0], result.stderr
    assert "libpng" not in result.stderr


# What JSON and TOML decoders raise besides their own DecodeError (from a review, 2026-12-06): a
# number over Python's 4,300 digits (ValueError), nesting 5,000 deep (RecursionError), a count of
# Infinity (OverflowError in int()). Each reader must still give its one line.
HUGE_NUMBER = "9" * 5000
DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "text",
    [
        f'{{"labels": {HUGE_NUMBER}}}',
        DEEP,
        '{"labels": ["happy"], "offsets": {"happy": 0}, "resting": {"happy": 1}, '
        '"frames": Infinity, "damping": 0.7, "model_sha256": ""}',
        "\xff\xfe not utf-8",
    ],
    ids=["huge-number", "deep", "infinity", "not-utf8"],
)
def test_case10_what_a_decoder_raises_besides_its_decode_error_is_still_one_line(tmp_path, text):
    from emojitui.engine.emoji_table import load_emoji_table
    from emojitui.session.calibration import load_calibration
    from emojitui.session.history import HistoryLineError, parse_line
    from emojitui.shared.errors import UserError
    from emojitui.shared.model_card import ModelCardError, read_card

    path = tmp_path / "file"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    for read, error in ((read_card, ModelCardError), (load_calibration, UserError)):
        with pytest.raises(error) as raised:
            read(path)
        assert "\n" not in str(raised.value)
    with pytest.raises(HistoryLineError):
        parse_line(text)
    toml = tmp_path / "config.toml"
    toml.write_text(f"a = {HUGE_NUMBER}\n" if "9999" in text else "a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(UserError) as raised:
        load_emoji_table(toml, required=True)
    assert "\n" not in str(raised.value)
