"""The shared home: classes, emoji and the model card format."""

import json

import pytest

from emojitui.emoji_art import emoji_image
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
