"""Model tiers: the pure choice from timings and a budget, the config key, and the app run with
`--model fast` and `auto` on a second model file (the accurate model copied under the fast tier's
name with a `"tier": "fast"` card, until the real fast model ships)."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

from emojitui.engine.emoji_table import load_config
from emojitui.engine.tiers import TIER_FILES, ModelSet, TierTiming, choose_tier, frame_budget_ms
from emojitui.shared.errors import UserError
from emojitui.shared.locations import DEMO_DIR
from tests.conftest import assert_one_line_error, place, run_cli, write_video

SLOW = TierTiming(single_ms=4.8, flip_ms=8.7)  # the accurate model on an AVX2-only core
QUICK = TierTiming(single_ms=0.25, flip_ms=0.47)  # the accurate model on an AVX-512 VNNI core
FAST = TierTiming(single_ms=1.2, flip_ms=2.2)


def test_budget_is_a_quarter_of_the_frame_period_and_unbounded_for_stills():
    assert frame_budget_ms(30) == pytest.approx(1000 / 30 / 4)
    assert frame_budget_ms(15) == pytest.approx(1000 / 15 / 4)
    assert frame_budget_ms(0) == float("inf")


def test_accurate_when_one_pass_fits_mirror_averaging_stays_on():
    """Video alternates the views, so a frame costs one pass a face with mirror averaging too."""
    choice = choose_tier({"accurate": QUICK, "fast": FAST}, frame_budget_ms(30))
    assert (choice.tier, choice.flip_average) == ("accurate", True)
    assert choice.reason == "accurate: 0.2 ms a face here (budget 8.3 ms)"
    avx2 = choose_tier({"accurate": SLOW, "fast": FAST}, frame_budget_ms(30))
    assert (avx2.tier, avx2.flip_average) == ("accurate", True), (
        "4.8 ms a pass fits 8.3 ms, though 8.7 ms for both views would not"
    )


def test_fast_when_one_pass_of_the_accurate_tier_does_not_fit():
    choice = choose_tier({"accurate": SLOW, "fast": FAST}, budget_ms=4.0)
    assert (choice.tier, choice.flip_average) == ("fast", True)
    assert choice.reason == "fast: accurate needs 4.8 ms a face here"
    over = choose_tier({"accurate": SLOW, "fast": FAST}, budget_ms=0.5)
    assert over.tier == "fast", "nothing fits: the cheaper tier there is"


def test_accurate_when_the_fast_tier_is_not_installed():
    choice = choose_tier({"accurate": SLOW}, budget_ms=4.0)
    assert (choice.tier, choice.flip_average) == ("accurate", True)
    assert "fast tier not installed" in choice.reason and "4.8 ms" in choice.reason


def test_the_users_own_mirror_averaging_choice_is_kept():
    off = choose_tier({"accurate": SLOW, "fast": FAST}, budget_ms=5.0, flip_average=False)
    assert (off.tier, off.flip_average) == ("accurate", False)
    on = choose_tier({"accurate": SLOW, "fast": FAST}, budget_ms=1.0, flip_average=True)
    assert (on.tier, on.flip_average) == ("fast", True)


def test_a_still_has_no_budget_so_the_accurate_tier_runs():
    choice = choose_tier({"accurate": SLOW, "fast": FAST}, frame_budget_ms(0))
    assert (choice.tier, choice.flip_average) == ("accurate", True)


@pytest.fixture
def tier_folder(tmp_path, model_path):
    """A models folder with both tiers: the fast one is the accurate model copied, its card saying fast."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(model_path, folder / TIER_FILES["accurate"])
    shutil.copy(model_path.with_suffix(".json"), folder / "emotion.json")
    shutil.copy(model_path, folder / TIER_FILES["fast"])
    card = json.loads(model_path.with_suffix(".json").read_text())
    (folder / "emotion-fast.json").write_text(json.dumps(card | {"tier": "fast", "name": "emotion-fast"}))
    return folder


def test_auto_times_every_installed_tier_and_says_why(tier_folder):
    classifier, choice = ModelSet("auto", folder=tier_folder).choose(30.0)
    assert choice.tier in ("accurate", "fast") and choice.reason.startswith(choice.tier)
    assert set(choice.timings) == {"accurate", "fast"} and choice.budget_ms == pytest.approx(1000 / 30 / 4)
    assert classifier.path.name == TIER_FILES[choice.tier]
    assert classifier.flip_average == choice.flip_average


def test_config_pins_a_tier_and_rejects_an_unknown_one(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[model]\ntier = "fast"\n')
    assert load_config(config).model_tier == "fast"
    config.write_text('[model]\ntier = "tiny"\n')
    with pytest.raises(UserError, match="tier must be one of auto, accurate, fast"):
        load_config(config)
    config.write_text('[model]\nteir = "fast"\n')
    with pytest.raises(UserError, match="unknown key 'teir'"):
        load_config(config)


@pytest.fixture
def clip(tmp_path):
    photo = cv2.imread(str(DEMO_DIR / "02-obama.jpg"))
    return write_video(tmp_path / "clip.avi", [place(photo, dx=n) for n in range(12)])


def headless_summary(result) -> dict:
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(len(line["faces"]) == 1 for line in lines[:-1]), "the face is found with either tier"
    return lines[-1]["summary"]


def test_the_app_runs_the_fast_tier_and_auto_end_to_end(tier_folder, clip):
    env = {"EMOJITUI_MODELS_DIR": str(tier_folder)}
    fast = headless_summary(run_cli("--source", str(clip), "--headless", "--no-history", "--model", "fast", env=env))
    assert fast["model"] | {"timings_ms": None} == {
        "tier": "fast",
        "flip_average": True,
        "reason": "fast: --model",
        "budget_ms": None,
        "timings_ms": None,
        "file": "emotion-fast.tflite",
    }
    auto = headless_summary(run_cli("--source", str(clip), "--headless", "--no-history", env=env))["model"]
    assert auto["tier"] in ("accurate", "fast") and auto["reason"].startswith(auto["tier"])
    assert set(auto["timings_ms"]) == {"accurate", "fast"}, "auto timed both tiers here"
    config = tier_folder / "config.toml"
    config.write_text('[model]\ntier = "fast"\n')
    pinned = run_cli("bench", "--source", str(clip), "--json", "--config", str(config), env=env)
    assert json.loads(pinned.stdout)["model"]["reason"] == "fast: config"


def test_fast_without_its_file_is_a_one_line_error_and_auto_falls_back(tmp_path, model_path, clip):
    folder = tmp_path / "accurate-only"
    folder.mkdir()
    shutil.copy(model_path, folder / "emotion.tflite")
    shutil.copy(model_path.with_suffix(".json"), folder / "emotion.json")
    env = {"EMOJITUI_MODELS_DIR": str(folder)}
    missing = run_cli("--source", str(clip), "--headless", "--model", "fast", env=env)
    assert_one_line_error(missing, "emotion-fast.tflite", "not shipped yet", "--model accurate")
    auto = headless_summary(run_cli("--source", str(clip), "--headless", "--no-history", env=env))["model"]
    assert auto["tier"] == "accurate" and set(auto["timings_ms"]) == {"accurate"}
