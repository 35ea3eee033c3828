"""The whole trainer on tiny data: train, checkpoint, resume, export int8, load in LiteRT,
evaluate. Seconds, not hours: a few images per class and a narrow network."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

from emojitui.engine.classifier import ExpressionClassifier
from emojitui.shared.cpu import CpuInfo
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.model_card import read_card
from tests.conftest import REPO, assert_one_line_error
from tests.test_trainer_data import make_folder_dataset
from trainer.augment import AugmentConfig, TrainingBatches, one_hot
from trainer.cli import main as trainer_main
from trainer.data import Split, load_dataset
from trainer.evaluate import evaluate_model, model_probabilities
from trainer.export import ExportError, export_and_report
from trainer.noise import camera_noise
from trainer.recipe import Recipe
from trainer.run_folder import RunError, RunFolder, read_json
from trainer.teachers import teacher_targets, teacher_views
from trainer.train import (
    EpochRecorder,
    Replan,
    compiled_model,
    float32_model,
    minutes_left,
    replanned_epochs,
    train,
    with_precision_chosen,
)
from trainer.warmstart import folded_weights

TINY = {"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "stem": 8, "stages": ((8, 1), (16, 1))}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    data = load_dataset(make_folder_dataset(root / "fer"))
    run = RunFolder(root / "run")

    def interrupt_after_first_epoch(line: str) -> None:
        if line.startswith("epoch   1/"):
            raise KeyboardInterrupt  # as Ctrl-C would, right after the epoch's checkpoint

    with pytest.raises(KeyboardInterrupt):
        train(data, Recipe(**TINY), run, resume=False, say=interrupt_after_first_epoch)
    interrupted_state = run.read_state()
    train(data, Recipe(**TINY), run, resume=True, say=lambda _: None)
    return data, run, root, interrupted_state


def test_training_checkpoints_every_epoch_and_resumes(tiny_run):
    _, run, _, interrupted = tiny_run
    assert interrupted["epoch"] == 1
    assert run.last.is_file() and run.best.is_file()
    with run.log.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2], "resume continued at epoch 2, not from scratch"
    assert run.read_state()["epoch"] == 2


@pytest.mark.parametrize("log_written", [False, True])
def test_a_kill_between_an_epochs_files_neither_repeats_nor_duplicates_it(tiny_run, tmp_path, log_written):
    """Killed after epoch 2's last.keras but before its state.json: resume records epoch 2, then trains 3."""
    data = tiny_run[0]
    run = RunFolder(tmp_path / "run")
    recipe = Recipe(**TINY | {"epochs": 3})
    after_first: dict[str, str] = {}

    def kill_after_second_epoch(line: str) -> None:
        if line.startswith("epoch   1/"):
            after_first.update(state=run.state.read_text(), log=run.log.read_text())
        if line.startswith("epoch   2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(data, recipe, run, resume=False, say=kill_after_second_epoch)
    second = log_rows(run)[1]
    run.state.write_text(after_first["state"])
    if not log_written:
        run.log.write_text(after_first["log"])
    lines: list[str] = []
    train(data, recipe, run, resume=True, say=lines.append)
    assert any(line.startswith("recorded epoch 2") for line in lines)
    trained = [line.split()[1] for line in lines if line.startswith("epoch ")]
    assert trained == ["3/3"], "epoch 2 is not trained twice"
    rows = log_rows(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3], "one log line per epoch"
    assert float(rows[1]["val_accuracy"]) == pytest.approx(float(second["val_accuracy"]), abs=1e-6)
    assert (rows[1]["loss"] == second["loss"]) is log_written, "the logged line is reused, else PublicTest re-measured"
    assert run.read_state()["epoch"] == 3


def log_rows(run: RunFolder) -> list[dict]:
    with run.log.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_an_existing_run_is_never_overwritten_by_accident(tiny_run):
    data, run, _, _ = tiny_run
    with pytest.raises(RunError, match="--resume to continue or --fresh"):
        train(data, Recipe(**TINY), run, resume=False, say=lambda _: None)
    assert run.read_state()["epoch"] == 2, "and the run is intact"
    longer = Recipe(**TINY)
    longer.epochs = 5
    with pytest.raises(RunError, match="schedule is fixed"):
        train(data, longer, run, resume=True, say=lambda _: None, epochs_given=True)


def test_a_new_run_can_start_from_a_finished_runs_weights(tiny_run, tmp_path):
    data, run, _, _ = tiny_run
    warm = RunFolder(tmp_path / "warm")
    recipe = Recipe(**TINY)
    recipe.epochs = 1
    train(data, recipe, warm, resume=False, say=lambda _: None, init_from=run.best)
    assert warm.read_state()["epoch"] == 1 and warm.best.is_file()
    with pytest.raises(RunError, match="cannot start from"):
        train(
            data, recipe, RunFolder(tmp_path / "bad"), resume=False, say=lambda _: None, init_from=tmp_path / "x.keras"
        )


def test_distillation_mixes_flip_averaged_teacher_targets_and_keeps_them_for_resume(tiny_run, tmp_path, model_path):
    data, _, _, _ = tiny_run
    images = data["train"].images
    run = RunFolder(tmp_path / "distilled")
    run.root.mkdir()
    targets = teacher_targets((str(model_path), str(model_path)), images, run, say=lambda _: None)
    mirrored = teacher_targets((str(model_path),), images[:, :, ::-1], RunFolder(tmp_path / "m"), say=lambda _: None)
    assert targets.shape == (len(images), len(CLASS_NAMES))
    assert np.allclose(targets.sum(axis=1), 1.0, atol=0.02)
    assert np.allclose(targets, mirrored, atol=1e-6), "flip-averaged: a mirrored face gets the same target"
    assert (run.root / "teacher_targets.npy").is_file()

    recipe = Recipe(**TINY)
    recipe.epochs, recipe.teachers, recipe.distill_weight = 1, (str(model_path),), 0.5
    train(data, recipe, run, resume=False, say=lambda _: None)
    assert run.read_state()["epoch"] == 1 and run.best.is_file()
    assert Recipe.from_dict(read_json(run.recipe)).teachers == (str(model_path),)

    batches = TrainingBatches(images, data["train"].labels, 8, np.ones(7), AugmentConfig(), 0, 0.1, targets, 0.5)
    _, y, _ = batches[0]
    picks = batches.order[:8]
    assert np.allclose(y, 0.5 * one_hot(data["train"].labels[picks], 7, 0.1) + 0.5 * targets[picks])
    with pytest.raises(RunError, match="teacher model not found"):
        teacher_targets(("missing.tflite",), images, RunFolder(tmp_path / "x"))


def test_teacher_views_are_the_mirror_and_four_reflected_shifts_of_each():
    images = np.random.default_rng(3).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    assert len(teacher_views(images, 0)) == 2
    views = teacher_views(images, 2)
    assert len(views) == 10 and all(v.shape == images.shape for v in views)
    left, right, up, down = views[2:6]
    assert np.array_equal(left[:, :, 2:], images[:, :, :-2]) and np.array_equal(left[:, :, 1], images[:, :, 1])
    assert np.array_equal(right[:, :, :-2], images[:, :, 2:])
    assert np.array_equal(up[:, 2:], images[:, :-2]) and np.array_equal(down[:, :-2], images[:, 2:])
    assert np.array_equal(views[6], left[:, :, ::-1]), "each shifted view is mirrored too"
    mirrored = {v.tobytes() for v in teacher_views(images[:, :, ::-1], 2)}
    assert mirrored == {v.tobytes() for v in views}, "so a mirrored face gets the same views, hence the same target"


def test_shifted_teacher_targets_stay_mirror_symmetric_and_differ_from_flip_only(tiny_run, tmp_path, model_path):
    images = tiny_run[0]["train"].images
    shifted = teacher_targets((str(model_path),), images, RunFolder(tmp_path / "s"), lambda _: None, shift=2)
    mirrored = teacher_targets((str(model_path),), images[:, :, ::-1], RunFolder(tmp_path / "m"), lambda _: None, 2)
    flip_only = teacher_targets((str(model_path),), images, RunFolder(tmp_path / "f"), lambda _: None)
    assert np.allclose(shifted.sum(axis=1), 1.0, atol=0.02)
    assert np.allclose(shifted, mirrored, atol=1e-6)
    assert not np.allclose(shifted, flip_only, atol=1e-4)
    reread = teacher_targets((str(model_path),), images, RunFolder(tmp_path / "f"), lambda _: None, shift=2)
    assert np.allclose(reread, shifted, atol=1e-6), "targets kept for other views are not reused"
    others = np.ascontiguousarray(images[::-1])  # as many images, other faces
    assert np.allclose(
        teacher_targets((str(model_path),), others, RunFolder(tmp_path / "f"), lambda _: None, shift=2), shifted[::-1]
    ), "nor targets kept for other images"


def test_export_writes_a_model_litert_runs_and_a_card(tiny_run, capsys):
    data, run, root, _ = tiny_run
    models = root / "models"
    assert export_and_report(data, run, models, tolerance_points=100.0) == 0
    card = read_card(models / "emotion.json")
    assert card.labels == list(CLASS_NAMES)
    assert card.input.width == 48 and card.input.pixels == "raw"
    test_metrics = card.metrics["test_int8"]
    assert card.recipe["epochs_run"] == 2
    assert set(test_metrics["per_class"]) == set(CLASS_NAMES)
    assert test_metrics["images"] == 14
    assert test_metrics["accuracy"] == evaluate_model(models / "emotion.tflite", data["test"])["accuracy"]
    assert (models / "emotion-confusion.png").stat().st_size > 1000
    assert (models / "emotion-curves.png").stat().st_size > 1000
    noisy = evaluate_model(models / "emotion.tflite", Split(camera_noise(data["val"].images), data["val"].labels))
    assert card.metrics["val_camera_noise_int8_accuracy"] == noisy["accuracy"]
    predicted_sad = int(np.asarray(noisy["confusion"])[:, CLASS_NAMES.index("sad")].sum())
    assert card.metrics["val_sad_images"] == 2 and card.metrics["val_camera_noise_predicted_sad"] == predicted_sad
    assert card.tier == "accurate" and card.teachers == []
    assert card.data["batch_norm_statistics"].startswith(("recomputed: ", "as trained: "))
    page = (models / "README.md").read_text()
    assert "accuracy" in page and "webcam-like noise" in page
    classifier = ExpressionClassifier(models / "emotion.tflite")
    probabilities = classifier.classify(data["test"].images[:3])
    assert probabilities.shape == (3, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=0.02)
    neutral = data["val"].images[data["val"].labels == CLASS_NAMES.index("neutral")]
    mean = classifier.classify(neutral).mean(axis=0)  # as the app classifies: each face and its mirror
    assert list(card.typical_neutral) == list(CLASS_NAMES), "the model's own aim for neutral calibration"
    np.testing.assert_allclose(list(card.typical_neutral.values()), mean, atol=1e-3)


def test_the_recipes_logit_offsets_reach_the_exported_model_and_its_card(tiny_run, tmp_path):
    """An offset on a class's logit multiplies its odds by exp(offset) in the int8 file, and nothing else."""
    data, run, _, _ = tiny_run
    base, offset = exported_tiny_model(tiny_run), tmp_path / "models" / "emotion.tflite"
    shifted = RunFolder(tmp_path / "run")
    shutil.copytree(run.root, shifted.root)
    recipe = json.loads(shifted.recipe.read_text()) | {"logit_offsets": {"sad": 1.5}}
    shifted.recipe.write_text(json.dumps(recipe))
    assert export_and_report(data, shifted, offset.parent, tolerance_points=100.0, tier="teacher") == 0
    card = read_card(offset.with_suffix(".json"))
    assert card.recipe["logit_offsets"] == {"sad": 1.5}
    assert card.data["batch_norm_statistics"].endswith("(before the logit offsets)")
    assert card.metrics["val_int8_accuracy"] == evaluate_model(offset, data["val"])["accuracy"]
    before, after = (model_probabilities(path, data["val"].images) for path in (base, offset))
    expected = before * np.exp(1.5 * (np.arange(7) == CLASS_NAMES.index("sad")))
    np.testing.assert_allclose(after, expected / expected.sum(axis=1, keepdims=True), atol=0.03)
    assert after[:, CLASS_NAMES.index("sad")].mean() > before[:, CLASS_NAMES.index("sad")].mean() + 0.1
    as_trained, taken_back = (folded_weights(path)["logits"][1] for path in (base, offset))
    np.testing.assert_allclose(taken_back, as_trained, atol=0.01, err_msg="fine-tuning takes the offsets back out")


def test_a_mixed_bfloat16_run_trains_in_bfloat16_and_exports_from_a_float32_copy(tiny_run, tmp_path):
    import keras

    data, _, _, _ = tiny_run
    run, recipe = RunFolder(tmp_path / "bf16"), Recipe(**(TINY | {"epochs": 1, "mixed_precision": True}))
    train(data, recipe, run, resume=False, say=lambda _: None)
    trained = keras.models.load_model(run.best)
    assert trained.get_layer("conv1_1").compute_dtype == "bfloat16"
    assert trained.get_layer("logits").compute_dtype == "float32", "logits and loss stay float32"
    assert keras.config.dtype_policy().name == "float32", "the global policy is left as it was"
    copy = float32_model(recipe, run.best)
    assert {layer.compute_dtype for layer in copy.layers if layer.weights} == {"float32"}
    faces = data["val"].images[:8, ..., None].astype(np.float32)
    np.testing.assert_allclose(copy.predict(faces, verbose=0), trained.predict(faces, verbose=0), atol=0.1)
    models = tmp_path / "models"
    assert export_and_report(data, run, models, tolerance_points=100.0) == 0
    probabilities = ExpressionClassifier(models / "emotion.tflite").classify(data["test"].images[:3])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=0.02)


def test_a_bfloat16_checkpoint_exports_as_float32_whatever_its_recipe_says(tiny_run, tmp_path):
    """A run's recipe said "auto" and this machine would choose otherwise: the checkpoint's own
    layers decide, so the int8 converter never gets a bfloat16 network."""
    data, _, _, _ = tiny_run
    run = RunFolder(tmp_path / "bf16")
    train(data, Recipe(**(TINY | {"epochs": 1, "mixed_precision": True})), run, resume=False, say=lambda _: None)
    copy = float32_model(Recipe(**(TINY | {"mixed_precision": False})), run.best)
    assert {layer.compute_dtype for layer in copy.layers if layer.weights} == {"float32"}


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_amx_bf16(tiny_run):
    amx = CpuInfo("Intel(R) Xeon(R) Processor", frozenset({"avx2", "avx512_bf16", "amx_bf16"}))
    avx512_bf16 = CpuInfo("AMD EPYC", frozenset({"avx2", "avx512_bf16"}))
    auto = Recipe(**(TINY | {"mixed_precision": "auto"}))
    assert with_precision_chosen(auto, amx, backend="tensorflow").mixed_precision is True
    assert with_precision_chosen(auto, avx512_bf16, backend="tensorflow").mixed_precision is False, "1.2x at most"
    assert with_precision_chosen(Recipe(mixed_precision=False), amx).mixed_precision is False, "the recipe's word"
    assert with_precision_chosen(Recipe(mixed_precision=True), avx512_bf16).mixed_precision is True
    assert with_precision_chosen(auto, amx, backend="jax").mixed_precision is False, "the GPU's runs: float32"
    _, run, _, _ = tiny_run  # a run started from "auto" (the default) wrote what this machine chose
    assert read_json(run.recipe)["mixed_precision"] is with_precision_chosen(auto).mixed_precision


def test_export_over_a_better_model_says_so_and_how_to_get_it_back(tiny_run, tmp_path, capsys, model_path):
    """A short trial exported into `models/` replaces the shipped model; the user is told, not left to find out."""
    data, run, _, _ = tiny_run
    models = tmp_path / "models"
    models.mkdir()
    shipped_card = read_card(model_path.with_suffix(".json"))
    (models / "emotion.json").write_text(model_path.with_suffix(".json").read_text())
    (models / "emotion.tflite").write_bytes(model_path.read_bytes())
    assert export_and_report(data, run, models, tolerance_points=100.0) == 0
    warning = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and f"{shipped_card.metrics['val_int8_accuracy']:.2%}" in warning[0]
    assert "--models DIR" in warning[0]
    assert export_and_report(data, run, models, tolerance_points=100.0) == 0
    assert "warning:" not in capsys.readouterr().out, "replacing an equal model is not a downgrade"


def test_export_that_fails_its_check_leaves_the_shipped_model_alone(tiny_run):
    data, run, root, _ = tiny_run
    models = root / "untouched"
    models.mkdir()
    shipped = {"emotion.tflite": b"the shipped model", "emotion.json": b'{"the": "shipped card"}'}
    for name, content in shipped.items():
        (models / name).write_bytes(content)
    with pytest.raises(ExportError, match="below float"):
        export_and_report(data, run, models, tolerance_points=-1.0)
    assert {p.name: p.read_bytes() for p in models.iterdir()} == shipped


def exported_tiny_model(tiny_run) -> Path:
    """The tiny run's int8 file, exported once for the tests that evaluate it."""
    data, run, root, _ = tiny_run
    models = root / "models"
    if not (models / "emotion.tflite").is_file():
        export_and_report(data, run, models, tolerance_points=100.0)
    return models / "emotion.tflite"


def evaluate_tiny_model(tiny_run, cache: Path, *options: str) -> int:
    model, fer = exported_tiny_model(tiny_run), tiny_run[2] / "fer"
    return trainer_main(["evaluate", "--model", str(model), "--data", str(fer), "--cache", str(cache), *options])


def test_evaluate_command_reports_accuracy_and_confusion(tiny_run, capsys, tmp_path):
    code = evaluate_tiny_model(tiny_run, tmp_path, "--out", str(tmp_path))
    output = capsys.readouterr().out
    assert code == 0
    assert "accuracy" in output and "macro-F1" in output and "confusion" in output
    assert (tmp_path / "confusion_test.png").is_file()


def test_evaluate_into_a_file_instead_of_a_folder_is_a_one_line_error(tiny_run, capsys, tmp_path):
    taken = tmp_path / "report.txt"
    taken.write_text("mine")
    assert evaluate_tiny_model(tiny_run, tmp_path, "--out", str(taken)) == 2
    assert "is a file" in capsys.readouterr().err and taken.read_text() == "mine"


def test_evaluate_with_a_missing_model_is_a_one_line_error(tiny_run, capsys, tmp_path):
    fer = tiny_run[2] / "fer"
    code = trainer_main(
        ["evaluate", "--model", str(tmp_path / "none.tflite"), "--data", str(fer), "--cache", str(tmp_path)]
    )
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_evaluate_refuses_a_broken_card_as_the_app_does(tiny_run, capsys, tmp_path):
    model = tmp_path / "emotion.tflite"
    model.write_bytes(exported_tiny_model(tiny_run).read_bytes())
    model.with_suffix(".json").write_text('{"labels": [')
    fer = tiny_run[2] / "fer"
    assert trainer_main(["evaluate", "--model", str(model), "--data", str(fer), "--cache", str(tmp_path)]) == 2
    assert "is not readable JSON" in capsys.readouterr().err


def test_export_without_a_trained_model_says_so_on_stderr(tiny_run, capsys, tmp_path):
    data = ["--data", str(tiny_run[2] / "fer"), "--cache", str(tmp_path)]
    assert trainer_main(["export", *data, "--out", str(tmp_path / "none"), "--models", str(tmp_path / "m")]) == 2
    captured = capsys.readouterr()
    assert "no trained model" in captured.err and "no trained model" not in captured.out


def test_cost_measures_the_float32_networks_int8_file_whatever_the_precision(tmp_path):
    """`trainer cost` converts as export does, from float32: a bfloat16 recipe costs the same."""
    from trainer.cost import measure

    as_trained = {mixed: measure(Recipe(**(TINY | {"mixed_precision": mixed})), repeats=5) for mixed in (False, True)}
    assert as_trained[True]["file_bytes"] == as_trained[False]["file_bytes"] > 0
    assert as_trained[True]["multiply_adds"] == as_trained[False]["multiply_adds"] > 0


def test_a_trainer_error_is_one_line_without_tensorflows_start_up_lines():
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "cost", "nosuchrecipe"], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert_one_line_error(result, "error: no recipe")


def test_the_command_line_trains_exports_and_reexports_a_tiny_run(tiny_run, tmp_path, capsys):
    """`python -m trainer train` of a recipe file, then `export` of its run folder, twice."""
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY | {"stages": [list(s) for s in TINY["stages"]]}))
    data = ["--data", str(tiny_run[2] / "fer"), "--cache", str(tmp_path)]
    run = ["--out", str(tmp_path / "run")]
    shipping = ["--models", str(tmp_path / "models"), "--tolerance", "100"]
    assert trainer_main(["train", *data, *run, "--resume", "--recipe", str(recipe)]) == 0
    assert trainer_main(["export", *data, *run, *shipping, "--name", "emotion-fast", "--tier", "fast"]) == 0
    card = read_card(tmp_path / "models" / "emotion-fast.json")
    assert card.recipe["stem"] == TINY["stem"] and card.recipe["epochs_run"] == TINY["epochs"]
    assert card.tier == "fast" and card.name == "emotion-fast"
    assert trainer_main(["export", *data, *run, *shipping]) == 0
    assert capsys.readouterr().out.count("converting") == 2, "both exported the run"
    page = (tmp_path / "models" / "README.md").read_text()
    assert "`emotion.tflite` | accurate" in page and "`emotion-fast.tflite` | fast" in page
    assert trainer_main(["train", *data, *run, "--resume", "--recipe", str(tmp_path / "none.json")]) == 1
    assert "no recipe" in capsys.readouterr().err


def test_fine_tuning_from_a_shipped_file_keeps_its_network(tiny_run, tmp_path):
    """`--init-from X.tflite` trains the recipe's network from X's weights; another shape is refused."""
    model = exported_tiny_model(tiny_run)
    recipe = tmp_path / "more.json"
    recipe.write_text(json.dumps(TINY | {"stages": [list(s) for s in TINY["stages"]], "peak_lr": 0.01}))
    common = ["--data", str(tiny_run[2] / "fer"), "--cache", str(tmp_path), "--epochs", "1"]
    warm = ["--out", str(tmp_path / "more"), "--init-from", str(model), "--recipe", str(recipe)]
    assert trainer_main(["train", *common, *warm]) == 0
    trained = read_json(tmp_path / "more" / "recipe.json")
    assert trained["init_from"]["file"] == "emotion.tflite" and trained["peak_lr"] == 0.01
    wider = tmp_path / "wider.json"
    wider.write_text(json.dumps(TINY | {"stages": [[8, 1], [24, 1]]}))
    again = ["--out", str(tmp_path / "wider"), "--init-from", str(model), "--recipe", str(wider)]
    assert trainer_main(["train", *common, *again]) == 1, "a shape the file cannot fill is refused"


def test_a_tiny_budget_fits_the_schedule_into_one_epoch(tiny_run, tmp_path):
    data = tiny_run[0]
    run, said = RunFolder(tmp_path / "short"), []
    train(data, Recipe(**TINY | {"epochs": 5, "budget_minutes": 0.001}), run, resume=False, say=said.append)
    assert any("1 epochs x ~" in line and "cut from 5 to fit" in line for line in said), said
    assert read_json(run.recipe)["epochs"] == 1 and run.finished() and run.best.is_file()


def stop_after_first_epoch(line: str) -> None:
    """A `say` that stops a run as Ctrl-C would, right after its first epoch's checkpoint."""
    if line.startswith("epoch   1/"):
        raise KeyboardInterrupt


def test_a_run_stopped_by_its_budget_keeps_its_best_epoch_and_exports_it(tiny_run, tmp_path):
    """Fitted to 3 epochs, interrupted after 1, resumed with almost no time left: it stops after epoch 2."""
    data = tiny_run[0]
    run = RunFolder(tmp_path / "budget")

    with pytest.raises(KeyboardInterrupt):
        train(data, Recipe(**TINY | {"epochs": 3}), run, resume=False, say=stop_after_first_epoch)
    said: list[str] = []
    train(data, Recipe(**TINY | {"epochs": 3, "budget_minutes": 0.0001}), run, resume=True, say=said.append)
    assert any(line.startswith("budget spent after epoch 2 of 3") for line in said), said
    state = run.read_state()
    assert state["epoch"] == 2 and state["stopped"] == "budget" and run.finished()
    assert export_and_report(data, run, tmp_path / "models", tolerance_points=100.0) == 0
    assert read_card(tmp_path / "models" / "emotion.json").recipe["best_epoch"] == state["best_epoch"]


def test_train_resume_goes_on_with_a_run_its_budget_stopped(tiny_run, tmp_path, capsys):
    """A run longer than a session: `train --resume` next session trains the epochs still owed."""
    data, _, root, _ = tiny_run
    run = RunFolder(tmp_path / "long")
    with pytest.raises(KeyboardInterrupt):
        train(data, Recipe(**TINY | {"epochs": 3}), run, resume=False, say=stop_after_first_epoch)
    train(data, Recipe(**TINY | {"epochs": 3, "budget_minutes": 0.0001}), run, resume=True, say=lambda _: None)
    assert run.read_state()["stopped"] == "budget"
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY | {"stages": [list(s) for s in TINY["stages"]]}))
    common = ["--data", str(root / "fer"), "--cache", str(tmp_path), "--recipe", str(recipe), "--out", str(run.root)]
    assert trainer_main(["train", *common, "--resume"]) == 0
    assert "stopped by its budget after epoch 2: going on" in capsys.readouterr().out
    assert run.read_state()["epoch"] == 3 and "stopped" not in run.read_state() and run.finished()
    assert run.reopen_after_budget() is None, "a finished run is not reopened"


def test_time_left_ignores_one_stalled_epoch():
    """A paused or suspended epoch (here 2120 s among 250-420 s ones) must not multiply the estimate."""
    steady = [398.0, 419.0, 251.0, 297.0]
    assert minutes_left([*steady, 2120.0], 29) == pytest.approx(29 * 398.0 / 60)
    assert minutes_left([], 10) == 0.0


def test_refitted_epochs_follow_the_real_pace_within_the_recipes_count():
    """The H200 run of 2026-12-04: the probe said ~3 s an epoch, the first three took 11, 5 and 5 s."""
    assert replanned_epochs(3, [11.0, 5.0, 5.0], 285.0, 88) == 3 + int((285 * 0.9 - 6) // 5)
    assert replanned_epochs(3, [4.0, 1.0, 1.0], 3600.0, 95) == 95, "a faster machine: never past the recipe"
    assert replanned_epochs(3, [11.0, 5.0, 5.0], -4.0, 95) == 3, "no time left: the epochs done"


def test_a_run_slower_than_its_probe_is_fitted_again_and_its_learning_rate_still_decays(tmp_path):
    """The probe fitted 40 epochs; the machine is busier than it was (each epoch here sleeps half a
    second), so at the end of the warm-up the count is fitted to the real pace: the cosine then
    ends inside the budget instead of the budget stopping a run still at a high learning rate."""
    import time

    import keras

    recipe = Recipe(**TINY | {"epochs": 40, "warmup_epochs": 2})
    images = np.random.default_rng(0).integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    labels = one_hot(np.arange(16) % len(CLASS_NAMES), len(CLASS_NAMES))
    steps = 2  # 16 images in batches of 8
    model = compiled_model(recipe, steps)
    run = RunFolder(tmp_path / "slow")
    run.root.mkdir()
    run.recipe.write_text(json.dumps(recipe.as_dict()))
    state = {"epoch": 0, "best_val": 0.0, "best_epoch": 0, "wait": 0}
    said: list[str] = []
    recorder = EpochRecorder(run, state, recipe, said.append, replan=Replan(after=2, most=40, steps_per_epoch=steps))
    compiled: list = []

    class BusyMachine(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            time.sleep(0.25)  # inside the epoch the recorder times, whatever the callbacks' order

        def on_epoch_end(self, epoch, logs=None):
            compiled.append(model.train_function)
            if epoch == 0:  # the budget: 20 s from here (the first epoch's compile is slow on a busy machine)
                recorder.deadline = time.monotonic() + 20.0

    model.fit(images, labels, batch_size=8, epochs=40, validation_data=(images, labels), verbose=0,
              callbacks=[BusyMachine(), recorder])  # fmt: skip
    fitted = read_json(run.recipe)["epochs"]
    assert any(f"{fitted} epochs instead of 40" in line for line in said), said
    assert 2 < fitted < 40 and recorder.recipe.epochs == fitted
    assert compiled[1] is compiled[0] and compiled[2] is not compiled[1], "the step compiled again after the refit"
    schedule = model.optimizer._learning_rate
    assert float(schedule(fitted * steps)) == pytest.approx(0.0, abs=1e-9), "the decay ends at the new count"
    # it runs the new count; a machine busier still (a test run beside training) may stop it a little short
    assert state["epoch"] == fitted or (state.get("stopped") == "budget" and state["epoch"] > 2), state
    if state["epoch"] == fitted:
        assert recorder._lr() == pytest.approx(0.0, abs=1e-9), "and ended at the bottom of its decay"


def test_a_resume_decays_over_the_epochs_its_recipe_holds_now(tiny_run, tmp_path):
    """Killed after a refit rewrote the recipe but before the next checkpoint: the checkpoint's
    schedule is the old length, the recipe's count is what the resumed run keeps to."""
    import keras

    data = tiny_run[0]
    run = RunFolder(tmp_path / "refit")

    with pytest.raises(KeyboardInterrupt):
        train(data, Recipe(**TINY | {"epochs": 2}), run, resume=False, say=stop_after_first_epoch)
    refitted = read_json(run.recipe) | {"epochs": 4}  # what a refit writes
    run.recipe.write_text(json.dumps(refitted))
    train(data, Recipe(**TINY), run, resume=True, say=lambda _: None)
    steps = len(data["train"]) // TINY["batch_size"]
    schedule = keras.models.load_model(run.last).optimizer._learning_rate
    assert run.read_state()["epoch"] == 4 and schedule.decay_steps == (4 - TINY["warmup_epochs"]) * steps


def test_after_a_refit_the_compiled_step_follows_the_new_schedule(tmp_path):
    """The step is compiled with the schedule's length in it: a refit that did not compile it again
    would train on the old learning rates while the log showed the new ones."""
    import time

    recipe = Recipe(**TINY | {"epochs": 40, "warmup_epochs": 0, "momentum": 0.0})  # an update is -lr * gradient
    images = np.random.default_rng(0).integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    labels = one_hot(np.arange(16) % len(CLASS_NAMES), len(CLASS_NAMES))
    model = compiled_model(recipe, steps_per_epoch=2)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    run = RunFolder(tmp_path / "refit")
    run.root.mkdir()
    recorder = EpochRecorder(run, {}, recipe, lambda _: None, time.monotonic(), Replan(1, 40, steps_per_epoch=2))
    recorder.set_model(model)
    recorder.epoch_seconds = [1.0]
    recorder._fit_again(1)  # no time left: the run ends at 1 epoch, so the learning rate is 0 from here
    assert read_json(run.recipe)["epochs"] == 1
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.trainable_weights, before, strict=True))
