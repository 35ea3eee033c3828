"""The shared home: classes, emoji and the model card format."""

import importlib
import json
import os

import pytest

from emojitui.session.emoji_art import emoji_image
from emojitui.shared import atomic
from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.emotions import CLASS_NAMES, DEFAULT_EMOJI, check_class_name
from emojitui.shared.model_card import ModelCard, ModelCardError, read_card


def test_every_class_has_a_main_emoji_and_alternatives_all_bundled():
    assert set(DEFAULT_EMOJI) == set(CLASS_NAMES)
    for name, choice in DEFAULT_EMOJI.items():
        assert len(choice.alternatives) >= 2, name
        for emoji in choice.all:
            image = emoji_image(emoji)
            assert image is not None and image.shape[2] == 4, (name, emoji)


def test_atomic_writes_keep_the_users_umask(tmp_path):
    """Snapshots hold faces: a user whose umask keeps files private gets private files."""
    previous = os.umask(0o077)
    try:
        importlib.reload(atomic)
        atomic.write_text_atomic(tmp_path / "private.txt", "face")
    finally:
        os.umask(previous)
        importlib.reload(atomic)
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600
    atomic.write_text_atomic(tmp_path / "shared.txt", "card")
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o666 & ~previous


def test_card_round_trip(tmp_path):
    card = ModelCard(labels=list(CLASS_NAMES), metrics={"accuracy": 0.7})
    path = tmp_path / "m.json"
    write_text_atomic(path, card.to_json())
    again = read_card(path)
    assert again.labels == list(CLASS_NAMES)
    assert again.input.width == 48 and again.input.pixels == "raw"
    assert again.metrics == {"accuracy": 0.7}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"], "no temporary file is left behind"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not readable JSON"),
        ("[]", "JSON object"),
        (json.dumps({"labels": ["happy", "grumpy"]}), "unknown class"),
        (json.dumps({"labels": ["happy", "happy"]}), "distinct"),
        (json.dumps({"labels": ["happy"], "input": {"pixels": "unit"}}), "pixels"),
        (json.dumps({"labels": ["happy", "sad"], "typical_neutral": {"happy": 0.5}}), "each label"),
        (json.dumps({"labels": ["happy", "sad"], "typical_neutral": {"happy": 0.5, "sad": "x"}}), "probability"),
        (json.dumps({"labels": ["happy", "sad"], "typical_neutral": {"happy": 0.5, "sad": 1.5}}), "probability"),
        (json.dumps({"labels": ["happy", "sad"], "typical_neutral": {"happy": 0.5, "sad": True}}), "probability"),
        (json.dumps({"labels": ["happy"], "typical_neutral": [0.5]}), "typical_neutral must be an object"),
    ],
)
def test_bad_cards_are_one_clear_error(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelCardError, match=fragment):
        read_card(path)


def test_missing_card_names_the_file(tmp_path):
    with pytest.raises(ModelCardError, match="not found"):
        read_card(tmp_path / "nothing.json")


def test_check_class_name():
    assert check_class_name("happy") == "happy"
    with pytest.raises(ValueError, match="unknown class"):
        check_class_name("meh")


def test_the_settled_collector_skips_start_up_yet_still_frees_cycles():
    """In a process of its own (freezing is for good): start-up is frozen, young collections are rarer,
    and a reference cycle made afterwards is still freed once enough is allocated."""
    import subprocess
    import sys

    script = """
import gc, weakref
from emojitui.shared import collector
collector.settle_after_start()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS)
class Node: pass
node = Node(); node.self = node
freed = []
weakref.finalize(node, freed.append, True)
del node
junk = [[i] for i in range(3 * collector.YOUNG_THRESHOLD)]  # allocations that trigger young collections
assert freed == [True], "a cycle made after settling was never collected"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
