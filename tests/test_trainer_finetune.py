"""Fine-tuning from an int8 `.tflite` of the same network, and recipe files, on tiny data and on the shipped model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

import keras

from tests.test_trainer_data import make_folder_dataset
from trainer.data import load_dataset
from trainer.evaluate import model_probabilities
from trainer.export import export_and_report
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
    shipped = model_probabilities(tflite, images)
    # The file's activations are int8 too, so agreement is close, not exact.
    assert np.abs(rebuilt - shipped).max() < 0.06


@pytest.mark.parametrize("stages", [((8, 1), (12, 1)), ((8, 2), (16, 1)), ((12, 1), (16, 1))])
def test_a_narrower_deeper_or_wider_model_is_refused(exported, stages):
    data, tflite = exported
    with pytest.raises(WarmStartError, match="does not match"):
        load_into(recipe_model(Recipe(**TINY | {"stages": stages})), tflite, data["train"].images)


def test_a_separable_network_does_not_fine_tune_from_a_tflite(exported):
    data, tflite = exported
    with pytest.raises(WarmStartError, match=r"separable network fine-tunes from its run.s \.keras"):
        load_into(recipe_model(Recipe(**TINY | {"network": "separable"})), tflite, data["train"].images)


def test_batch_norm_is_reinflated_from_the_data(exported):
    data, tflite = exported
    model = recipe_model(Recipe(**TINY))
    load_into(model, tflite, data["train"].images)
    norm = model.get_layer("bn_stem")
    gamma, _, mean, var = (np.asarray(w) for w in norm.get_weights())
    assert np.allclose(gamma, np.sqrt(var + norm.epsilon)), "inference passes conv + bias through unchanged"
    images = data["train"].images[..., None].astype(np.float32)  # fewer than STAT_IMAGES: all of them
    inputs = keras.Model(model.input, norm.input).predict(images, verbose=0).astype(np.float32)  # bf16 under "auto"
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
        ('{"mixed_precision": 1}', 'mixed_precision should be true, false or "auto"'),
        ('{"mixed_precision": "yes"}', 'mixed_precision should be true, false or "auto"'),
        ('{"stages": 5}', "stages should be a list of"),
        ('{"stages": [[48, 1], [96]]}', "stages should be a list of"),
        ('{"teachers": "x.tflite"}', "teachers should be a list of .tflite paths"),
        ('{"augment": 3}', "augment should be an object"),
        ('{"augment": {"erase_area": 0.1}}', "erase_area should be"),
        ('{"network": "resnet"}', "network should be one of vgg, separable"),
        ('{"budget_minutes": 0}', "budget_minutes should be a number of minutes above 0"),
        ('{"logit_offsets": {"sadness": -0.1}}', "logit_offsets should be an object of class names"),
        ('{"logit_offsets": {"sad": "less"}}', "logit_offsets should be an object of class names"),
        ('{"logit_offsets": {"sad": NaN}}', "logit_offsets should be an object of class names"),
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
    recipe = Recipe.from_dict(
        Recipe().as_dict() | {k: v for k, v in card.recipe.items() if k in Recipe.__dataclass_fields__}
    )
    model = recipe_model(dataclasses.replace(recipe, mixed_precision=False))  # float32, as the export converts
    load_into(model, model_path, data["train"].images)
    predictions = keras_probabilities(model, data["val"].images).argmax(axis=1)
    accuracy = float((predictions == data["val"].labels).mean())
    assert abs(accuracy - card.metrics["val_int8_accuracy"]) < 0.01


def keras_probabilities(model, images: np.ndarray) -> np.ndarray:
    logits = np.asarray(model.predict(images[..., None].astype(np.float32), verbose=0))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
