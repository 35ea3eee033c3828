"""Warm restarts from an int8 `.tflite` and recipe override files, on tiny data and on the shipped model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

import keras

from tests.test_trainer_data import make_folder_dataset
from trainer.data import load_dataset
from trainer.export import export_and_report
from trainer.litert_runner import TFLiteClassifier
from trainer.recipe import Recipe
from trainer.run_folder import RunError, RunFolder
from trainer.train import recipe_model, train
from trainer.warmstart import WarmStartError, load_into

TINY = {"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "stem": 8, "stages": ((8, 1), (16, 1))}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny run trained for two epochs and exported to int8, as `just train` would."""
    root = tmp_path_factory.mktemp("warm")
    data = load_dataset(make_folder_dataset(root / "fer", per_class=8))
    run = RunFolder(root / "run")
    train(data, Recipe(**TINY | {"epochs": 2}), run, resume=False, say=lambda _: None)
    assert export_and_report(data, run, root / "models", tolerance_points=100.0) == 0
    return data, root / "models" / "emotion.tflite"


def test_rebuilt_model_matches_the_int8_file_it_came_from(exported):
    data, tflite = exported
    model = recipe_model(Recipe(**TINY))
    load_into(model, tflite, data["train"].images)
    images = np.concatenate([data["val"].images, data["test"].images])
    rebuilt = keras_probabilities(model, images)
    shipped = TFLiteClassifier(tflite).probabilities(images)
    # The file's activations are int8 too, so agreement is close, not exact.
    assert np.abs(rebuilt - shipped).max() < 0.06


def test_a_deeper_model_starts_as_the_file_with_its_new_layers_as_identities(exported):
    data, tflite = exported
    deeper = recipe_model(Recipe(**TINY | {"stages": ((8, 2), (16, 2))}))
    grown = load_into(deeper, tflite, data["train"].images)
    assert grown == ["conv1_2", "conv2_2"]
    images = np.concatenate([data["val"].images, data["test"].images])
    assert np.abs(keras_probabilities(deeper, images) - TFLiteClassifier(tflite).probabilities(images)).max() < 0.06


def test_a_wider_and_deeper_model_starts_as_the_file(exported):
    data, tflite = exported
    wider = recipe_model(Recipe(**TINY | {"stages": ((12, 2), (24, 1))}))
    grown = load_into(wider, tflite, data["train"].images)
    assert sorted(grown) == ["conv1_1", "conv1_2", "conv2_1"], "conv1_2 is new; conv1_1 and conv2_1 are wider"
    images = np.concatenate([data["val"].images, data["test"].images])
    assert np.abs(keras_probabilities(wider, images) - TFLiteClassifier(tflite).probabilities(images)).max() < 0.06


@pytest.mark.parametrize(
    ("full_resolution", "stem"),
    [((6, 2), 8), ((6, 1), 8), ((6, 2), 12)],
    ids=["two-convolutions", "one-convolution", "and-a-wider-stem"],
)
def test_a_full_resolution_stage_in_front_of_the_stem_starts_as_the_file(exported, full_resolution, stem):
    data, tflite = exported
    grown_model = recipe_model(Recipe(**TINY | {"full_resolution": full_resolution, "stem": stem}))
    grown = load_into(grown_model, tflite, data["train"].images)
    assert set(grown) == {f"conv0_{i}" for i in range(1, full_resolution[1] + 1)} | {"stem"}
    images = np.concatenate([data["val"].images, data["test"].images])
    shipped = TFLiteClassifier(tflite).probabilities(images)
    assert np.abs(keras_probabilities(grown_model, images) - shipped).max() < 0.06
    kernel = np.asarray(grown_model.get_layer("stem").kernel)
    # ...apart from the 1% noise a widened stem gives its copied filters so they can part ways
    assert np.abs(kernel[..., 2:, :]).max() <= 0.05 * np.abs(kernel[..., :2, :]).max(), "new filters have no say"
    assert np.abs(np.asarray(grown_model.get_layer("conv0_1").kernel)[..., 2:]).max() > 0, "and start random"


def test_a_full_resolution_model_exports_and_seeds_its_own_shape(exported, tmp_path):
    """Grown, trained, exported: the int8 file names its full-resolution layers and rebuilds exactly."""
    data, tflite = exported
    recipe = Recipe(**TINY | {"full_resolution": (6, 2)})
    run = RunFolder(tmp_path / "run")
    train(data, recipe, run, resume=False, say=lambda _: None, init_from=tflite)
    assert export_and_report(data, run, tmp_path / "models", tolerance_points=100.0) == 0
    grown_file = tmp_path / "models" / "emotion.tflite"
    rebuilt = recipe_model(recipe)
    assert load_into(rebuilt, grown_file, data["train"].images) == [], "every layer found in the file"
    images = np.concatenate([data["val"].images, data["test"].images])
    shipped = TFLiteClassifier(grown_file).probabilities(images)
    assert np.abs(keras_probabilities(rebuilt, images) - shipped).max() < 0.06
    card = json.loads((tmp_path / "models" / "emotion.json").read_text())
    assert card["recipe"]["full_resolution"] == [6, 2]
    assert (
        "full-resolution stage (6 filters x 2 3x3 convolutions, no pool)"
        in (tmp_path / "models" / "README.md").read_text()
    )


def test_a_narrower_model_is_refused(exported):
    data, tflite = exported
    with pytest.raises(WarmStartError, match="does not match"):
        load_into(recipe_model(Recipe(**TINY | {"stages": ((8, 1), (12, 1))})), tflite, data["train"].images)


def test_batch_norm_is_reinflated_from_the_data(exported):
    data, tflite = exported
    model = recipe_model(Recipe(**TINY))
    load_into(model, tflite, data["train"].images)
    norm = model.get_layer("bn_stem")
    gamma, _, mean, var = (np.asarray(w) for w in norm.get_weights())
    assert np.allclose(gamma, np.sqrt(var + norm.epsilon)), "inference passes conv + bias through unchanged"
    images = data["train"].images[..., None].astype(np.float32)  # fewer than STAT_IMAGES: all of them
    inputs = keras.Model(model.input, norm.input).predict(images, verbose=0)
    np.testing.assert_allclose(mean, inputs.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(var, inputs.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-3)


def test_a_run_can_start_from_an_int8_file_and_records_where_it_began(exported, tmp_path):
    data, tflite = exported
    run = RunFolder(tmp_path / "run")
    train(data, Recipe(**TINY), run, resume=False, say=lambda _: None, init_from=tflite)
    assert run.read_state()["epoch"] == 1
    origin = json.loads(run.recipe.read_text())["init_from"]
    assert origin["file"] == "emotion.tflite"
    source_card = json.loads(tflite.with_suffix(".json").read_text())
    assert origin["recipe"]["epochs"] == 2, "the source card's lineage"
    assert origin["test_int8_accuracy"] == source_card["metrics"]["test_int8"]["accuracy"]


def test_an_int8_file_of_another_architecture_is_refused(exported):
    data, tflite = exported
    shallower = Recipe(**TINY | {"stages": ((8, 1),)})
    with pytest.raises(WarmStartError, match="does not match the recipe's architecture"):
        load_into(recipe_model(shallower), tflite, data["train"].images)


def test_a_file_that_is_not_a_model_is_a_run_error(exported, tmp_path):
    data, _ = exported
    fake = tmp_path / "fake.tflite"
    fake.write_text("not a model")
    with pytest.raises(RunError, match="cannot start from"):
        train(data, Recipe(**TINY), RunFolder(tmp_path / "run"), resume=False, say=lambda _: None, init_from=fake)


def test_recipe_file_replaces_fields_and_merges_augmentation(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"epochs": 7, "peak_lr": 0.01, "augment": {"erase_probability": 0.1}}))
    recipe = Recipe.with_overrides(path)
    assert (recipe.epochs, recipe.peak_lr) == (7, 0.01)
    assert recipe.augment.erase_probability == 0.1
    assert recipe.augment.rotation_deg == Recipe().augment.rotation_deg, "other augmentation fields keep defaults"
    assert recipe.stages == Recipe().stages


def test_recipe_file_with_an_unknown_field_is_a_run_error(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"epochz": 7, "augment": {"blur": 1}}))
    with pytest.raises(RunError, match="unknown recipe fields epochz, blur"):
        Recipe.with_overrides(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"epochs": "ten"}', "epochs should be a whole number"),
        ('{"epochs": 0}', "epochs should be a whole number of at least 1"),
        ('{"peak_lr": true}', "peak_lr should be a number"),
        ('{"mixed_precision": 1}', "mixed_precision should be true or false"),
        ('{"stages": 5}', "stages should be a list of"),
        ('{"stages": [[48, 1], [96]]}', "stages should be a list of"),
        ('{"teachers": "x.tflite"}', "teachers should be a list of .tflite paths"),
        ('{"augment": 3}', "augment should be an object"),
        ('{"augment": {"erase_area": 0.1}}', "erase_area should be"),
        ("[1, 2]", "not a JSON object: fix the JSON in"),
        ('{"epochs": ', "is unreadable .*: fix the JSON in"),
    ],
)
def test_a_recipe_file_with_a_wrong_type_is_a_one_line_run_error(tmp_path, content, fragment):
    path = tmp_path / "recipe.json"
    path.write_text(content)
    with pytest.raises(RunError, match=fragment) as error:
        Recipe.with_overrides(path)
    assert "\n" not in str(error.value)


def test_a_saved_recipe_the_trainer_cannot_read_is_a_run_error():
    with pytest.raises(RunError, match=r"run\.json is not a recipe this trainer can read"):
        Recipe.from_dict({"epochs": 2}, "run.json")


@pytest.mark.slow
def test_the_shipped_model_rebuilds_to_its_card_accuracy(fer_dir, model_path, tmp_path):
    """The real case: the shipped int8 file seeds a float model that scores what its card says."""
    from emojitui.shared.model_card import card_path_for, read_card

    card = read_card(card_path_for(model_path))
    data = load_dataset(fer_dir, tmp_path)
    recipe = Recipe.from_dict({k: v for k, v in card.recipe.items() if k in Recipe.__dataclass_fields__})
    model = recipe_model(dataclasses.replace(recipe, mixed_precision=False))  # float32, as the export converts
    load_into(model, model_path, data["train"].images)
    predictions = keras_probabilities(model, data["val"].images).argmax(axis=1)
    accuracy = float((predictions == data["val"].labels).mean())
    assert abs(accuracy - card.metrics["val_int8_accuracy"]) < 0.01


def keras_probabilities(model, images: np.ndarray) -> np.ndarray:
    logits = np.asarray(model.predict(images[..., None].astype(np.float32), verbose=0))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_the_chain_trains_each_restart_from_the_previous_best_and_resumes(exported, tmp_path):
    from trainer.chain import final_folder, train_chain

    data, _ = exported
    restarts = ({"epochs": 1, "peak_lr": 0.001, "dropout": 0.1},)
    lines: list[str] = []
    last = train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=False, restarts=restarts, say=lines.append)
    assert last.root == tmp_path / "chain" / "restart1"
    recipe = json.loads(last.recipe.read_text())
    assert recipe["dropout"] == 0.1 and recipe["stem"] == TINY["stem"], "restart fields over the base recipe"
    assert recipe["init_from"]["file"] == "best.keras"
    assert recipe["init_from"]["recipe"]["dropout"] == Recipe().dropout, "lineage holds cycle 1's recipe"
    assert any(line.startswith("restart 1 of 1") for line in lines)
    # A resumed, finished chain trains nothing more; export picks the last cycle.
    lines.clear()
    train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=True, restarts=restarts, say=lines.append)
    assert sum("already finished" in line for line in lines) == 2
    assert final_folder(tmp_path / "chain").root == last.root
    assert export_and_report(data, final_folder(tmp_path / "chain"), tmp_path / "models", tolerance_points=100.0) == 0
    page = (tmp_path / "models" / "README.md").read_text()
    assert "A warm restart" in page and "from best.keras" in page and "from scratch" in page, "the card shows the chain"


def test_export_ships_the_last_finished_cycle_not_one_stopped_part_way(exported, tmp_path):
    from trainer.chain import final_folder, train_chain

    data, _ = exported
    seen: list[str] = []

    def stop_in_the_restart(line: str) -> None:
        seen.append(line)
        if line.startswith("epoch   1/") and any(s.startswith("restart 1 of 1") for s in seen):
            raise KeyboardInterrupt

    root = tmp_path / "chain"
    with pytest.raises(KeyboardInterrupt):
        train_chain(data, Recipe(**TINY), root, resume=False, restarts=({"epochs": 2},), say=stop_in_the_restart)
    said: list[str] = []
    assert final_folder(root, 1, say=said.append).root == root, "cycle 1 finished; restart 1 did not"
    assert said == [f"{root / 'restart1'} is unfinished (1 of 2 epochs): exporting {root}"]
    said.clear()
    assert final_folder(root, 0, say=said.append).root == root and said == [], "--restarts 0 looks at cycle 1 only"


def test_a_restart_may_deepen_the_network_and_keeps_the_previous_restarts_fields(exported, tmp_path):
    from trainer.chain import train_chain

    data, _ = exported
    restarts = ({"epochs": 1, "peak_lr": 0.001, "dropout": 0.1}, {"stages": [[8, 1], [16, 2]]})
    lines: list[str] = []
    last = train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=False, restarts=restarts, say=lines.append)
    assert last.root.name == "restart2"
    assert "new or widened layers, computing the source's function: conv2_2" in lines
    recipe = json.loads(last.recipe.read_text())
    assert recipe["stages"] == [[8, 1], [16, 2]]
    assert (recipe["dropout"], recipe["epochs"]) == (0.1, 1), "restart 2 keeps what restart 1 set"


def test_a_restart_may_distil_the_previous_cycle_exported_to_int8(exported, tmp_path):
    from trainer.chain import PREVIOUS_CYCLE, train_chain
    from trainer.teachers import teacher_targets

    data, _ = exported
    restarts = ({"epochs": 1}, {"teachers": [PREVIOUS_CYCLE], "teacher_shift": 1})
    lines: list[str] = []
    last = train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=False, restarts=restarts, say=lines.append)
    teacher = tmp_path / "chain" / "restart1" / "teacher" / "emotion.tflite"
    assert teacher.is_file() and (teacher.parent / "emotion.json").is_file(), "exported with its card"
    recipe = Recipe.from_dict(json.loads(last.recipe.read_text()))
    assert recipe.teachers == (str(teacher),) and recipe.teacher_shift == 1
    kept = np.load(last.root / "teacher_targets.npy")
    fresh = teacher_targets((str(teacher),), data["train"].images, RunFolder(tmp_path / "again"), lambda _: None, 1)
    assert np.allclose(kept, fresh, atol=1e-6), "the cycle learned from the previous cycle's own predictions"
    lines.clear()
    train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=True, restarts=restarts, say=lines.append)
    assert sum("already finished" in line for line in lines) == 3 and not any("exporting" in line for line in lines)
    assert export_and_report(data, last, tmp_path / "models", tolerance_points=100.0) == 0
    page = (tmp_path / "models" / "README.md").read_text()
    assert f"- Distilled: each training target is 0.5 of the mean probabilities of `{teacher}` over 10 views" in page


def test_a_restart_may_start_from_scratch_taught_by_named_earlier_cycles(exported, tmp_path):
    from trainer.chain import FROM_SCRATCH, train_chain

    data, _ = exported
    restarts = ({"epochs": 1}, {FROM_SCRATCH: True, "teachers": ["cycle-1", "cycle-2"], "seed": 7})
    lines: list[str] = []
    last = train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=False, restarts=restarts, say=lines.append)
    assert "restart 2 of 2: a new learning-rate cycle from fresh weights" in lines
    recipe = json.loads(last.recipe.read_text())
    assert recipe["init_from"] == {}, "no warm start, so no lineage"
    teachers = [
        tmp_path / "chain" / "teacher" / "emotion.tflite",
        tmp_path / "chain" / "restart1" / "teacher" / "emotion.tflite",
    ]
    assert recipe["teachers"] == [str(t) for t in teachers] and all(t.is_file() for t in teachers)
    assert FROM_SCRATCH not in recipe and recipe["seed"] == 7
    with pytest.raises(RunError, match="restart 1: teacher cycle-2 is not an earlier cycle"):
        train_chain(
            data,
            Recipe(**TINY),
            tmp_path / "bad",
            resume=False,
            restarts=({"teachers": ["cycle-2"]},),
            say=lambda _: None,
        )


def test_a_restart_with_an_unknown_field_is_a_run_error(exported, tmp_path):
    from trainer.chain import train_chain

    data, _ = exported
    with pytest.raises(RunError, match="restart 1: unknown recipe fields lr"):
        train_chain(data, Recipe(**TINY), tmp_path / "chain", resume=False, restarts=({"lr": 1},), say=lambda _: None)
