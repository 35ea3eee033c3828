"""Property tests for every parser of outside data: any input gives a valid object or the
project's one-line error type, never another exception. Examples are bounded so CI stays fast."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.model_card import ModelCard, ModelCardError

BOUNDED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
card_like = st.fixed_dictionaries(
    {},
    optional={
        "labels": st.lists(st.sampled_from([*CLASS_NAMES, "grumpy"]), max_size=8) | json_values,
        "input": st.fixed_dictionaries(
            {},
            optional={
                "width": st.integers(-5, 5000) | json_values,
                "height": st.integers(-5, 5000) | json_values,
                "channels": st.integers(0, 4) | json_values,
                "pixels": st.sampled_from(["raw", "unit"]) | json_values,
                "depth": json_values,
            },
        )
        | json_values,
        "format_version": st.integers(-1, 3) | json_values,
        "name": json_values,
        "created": json_values,
        "metrics": json_values,
        "recipe": json_values,
        "data": json_values,
        "tier": st.sampled_from(["", "accurate", "fast", "teacher"]) | json_values,
        "teachers": st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=3), max_size=3) | json_values,
        "typical_neutral": st.dictionaries(st.sampled_from(CLASS_NAMES), st.floats(-1, 2) | json_values) | json_values,
        "extra": json_values,
    },
)


def one_line(exc: Exception) -> None:
    assert str(exc) and "\n" not in str(exc), repr(str(exc))


@BOUNDED
@given(card_like | json_values)
def test_any_model_card_is_a_card_or_one_model_card_error(raw):
    try:
        card = ModelCard.from_dict(raw)
    except ModelCardError as exc:
        one_line(exc)
        return
    assert card.labels and all(label in CLASS_NAMES for label in card.labels)
    assert isinstance(card.input.width, int) and card.input.width > 0 and isinstance(card.metrics, dict)
    assert isinstance(card.tier, str) and all(isinstance(teacher, dict) for teacher in card.teachers)
    assert card.typical_neutral == {} or (
        sorted(card.typical_neutral) == sorted(card.labels) and all(0 <= p <= 1 for p in card.typical_neutral.values())
    )
    assert ModelCard.from_dict(json.loads(card.to_json())).input == card.input, "what is written reads back"


toml_values = st.one_of(
    st.text(max_size=20).map(json.dumps),  # a TOML basic string is JSON-compatible for these
    st.lists(st.text(max_size=6).map(json.dumps), max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    st.integers().map(str),
    st.sampled_from(['"😄"', '["😊", "🙂"]', "true", "{}", '"\\u001b[2J"']),
)
config_texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.tuples(st.sampled_from([*CLASS_NAMES, "grumpy", "emoji"]), toml_values), max_size=4).map(
        lambda pairs: "[emoji]\n" + "".join(f"{key} = {value}\n" for key, value in pairs)
    ),
)


@BOUNDED
@given(config_texts)
def test_any_config_file_is_a_table_or_one_user_error(tmp_path, text):
    from emojitui.engine.emoji_table import load_emoji_table
    from emojitui.shared.emotions import emoji_problem
    from emojitui.shared.errors import UserError

    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        table = load_emoji_table(path, required=True)
    except UserError as exc:
        one_line(exc)
        assert "\x1b" not in str(exc)
        return
    assert set(table) == set(CLASS_NAMES)
    assert all(emoji_problem(emoji) is None for choice in table.values() for emoji in choice.all)


event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["event", "start", "summary"]) | json_values},
    optional={
        "time": st.sampled_from(["2026-01-01T10:00:00.000+00:00", "x", ""]) | json_values,
        "t": st.floats() | json_values,
        "face": st.integers(-2, 5) | json_values,
        "emotion": st.sampled_from([*CLASS_NAMES, "grumpy"]) | json_values,
        "emoji": st.sampled_from(["😄", "\x1b[2J", ""]) | json_values,
        "confidence": st.floats() | json_values,
        "previous": st.sampled_from([*CLASS_NAMES, None]) | json_values,
        "previous_duration_s": st.floats() | json_values,
    },
)


@BOUNDED
@given(event_like.map(json.dumps) | st.text(max_size=80))
def test_any_history_line_is_an_event_nothing_or_one_history_line_error(line):
    from emojitui.session.history import CSV_FIELDS, HistoryLineError, parse_line
    from emojitui.shared.emotions import emoji_problem

    try:
        event = parse_line(line)
    except HistoryLineError as exc:
        one_line(exc)
        return
    if event is not None:
        assert set(event) == {"type", *CSV_FIELDS} and event["emotion"] in CLASS_NAMES
        assert emoji_problem(event["emoji"]) is None and 0 <= event["confidence"] <= 1
        assert event["time"][11:19].isprintable()


@BOUNDED
@given(st.text(max_size=24) | st.from_regex(r"\A\s*-?\d{0,6}\s*[xX×]\s*-?\d{0,6}\s*\Z"))
def test_any_resolution_is_a_size_or_one_user_error(text):
    from emojitui.shared.errors import UserError
    from emojitui.sources import parse_resolution

    try:
        size = parse_resolution(text)
    except UserError as exc:
        one_line(exc)
        return
    assert size is None or all(isinstance(v, int) and 1 <= v <= 16384 for v in size)


source_specs = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "0", "97", "²", "picamera", "/dev/video97", "/dev/video\n", "~nobody-here/x", "a\x00b", "x" * 5000]
    ),
    st.sampled_from(["empty.png", "cut.png", "loop", "folder", "notes.jpg", "clip.avi"]),
)


@BOUNDED
@given(spec=source_specs)
def test_any_source_spec_opens_a_source_or_is_one_source_error(tmp_path, monkeypatch, spec):
    from emojitui.shared.errors import UserError
    from emojitui.sources import open_source

    monkeypatch.chdir(tmp_path)
    if not (tmp_path / "folder").exists():
        (tmp_path / "empty.png").write_bytes(b"")
        (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
        (tmp_path / "notes.jpg").write_text("hello")
        (tmp_path / "clip.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST")
        (tmp_path / "loop").symlink_to("loop")
        (tmp_path / "folder").mkdir()
    try:
        source = open_source(spec, live_stills=False, demo_live=False)
    except UserError as exc:
        one_line(exc)
        return
    source.close()
