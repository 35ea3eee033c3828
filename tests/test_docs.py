"""The README is for users: short, its key table is the app's, and the documents it names exist."""

from __future__ import annotations

import re

from emojitui.ui.app import EmojiApp
from emojitui.ui.help import HELP
from emojitui.ui.keys import KEYS, keys_table
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 250


def test_the_readme_keys_are_the_help_screens_and_the_apps():
    section = README.split("### Keys\n\n", 1)[1].split("\n\n", 1)[0]
    assert section == keys_table(), "regenerate the README's table from emojitui.ui.keys.keys_table()"
    assert keys_table() in HELP
    bound = {(binding.key, binding.action) for binding in EmojiApp.BINDINGS}
    assert bound == {(key.keys, key.action) for key in KEYS}
    for key in KEYS:  # every bound key is in the table, as the footer shows it
        shown = key.display or key.keys.split(",")[0]
        assert f"`{shown}`" in section


def test_the_documents_the_readme_points_to_exist():
    named = set(re.findall(r"`((?:docs|bench|models|emojitui)/[\w./-]+\.(?:md|tflite|json))`", README))
    assert {"docs/model-history.md", "bench/README.md", "models/README.md"} <= named
    missing = [path for path in named if not (REPO / path).exists()]
    assert not missing
