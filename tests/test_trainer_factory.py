"""The model factory on tiny data: teachers -> accurate and fast students -> export, resumable and skipping."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.model_card import read_card
from tests.test_trainer_data import make_folder_dataset
from trainer.cli import main as trainer_main
from trainer.data import load_dataset, load_wild_dev
from trainer.evaluate import model_probabilities
from trainer.factory import Factory, made_from, teacher_epochs
from trainer.metrics import classification_report
from trainer.recipe import RECIPES, Recipe
from trainer.report import write_models_page
from trainer.run_folder import RunError, read_json
from trainer.teachers import teacher_views

TINY = {"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "stem": 8, "stages": [[8, 1], [16, 1]], "teacher_shift": 1}


def tiny_recipes(folder):
    """The shipped recipes shrunk: same fields and distillation, a network of a few thousand weights."""
    folder.mkdir()
    for name in ("teacher", "student", "student-fast"):
        raw = read_json(RECIPES / f"{name}.json") | TINY
        if name == "student-fast":
            raw["stages"] = [[8, 1], [8, 1]]
        (folder / f"{name}.json").write_text(json.dumps(raw))
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("factory")
    data = load_dataset(make_folder_dataset(root / "fer", per_class=8))
    said: list[str] = []
    factory = Factory(data, root / "runs", root / "models", tiny_recipes(root / "recipes"), teachers=2, say=said.append)
    factory.tolerance_points = 100.0
    factory.wild_dev = load_wild_dev(root / "fer" / "test")  # a folder of <class>/<image>, as wild-dev is
    factory.run()
    return factory, root, said


def test_the_shipped_recipes_are_complete_and_readable():
    teacher = Recipe.named("teacher")
    assert teacher == Recipe(), "Recipe()'s defaults are the teacher recipe"
    for name in ("teacher", "student", "student-fast"):
        fields = set(read_json(RECIPES / f"{name}.json")) - {"about"}
        assert fields >= set(Recipe().as_dict()) - {"teachers", "init_from", "distill_weight", "teacher_shift"}
    assert Recipe.named("student").stages == teacher.stages
    with pytest.raises(RunError, match="no recipe"):
        Recipe.named("nonsense")


def test_teachers_then_students_are_written_with_cards_that_name_their_teachers(made):
    factory, root, said = made
    val, test = (len(factory.dataset[split]) for split in ("val", "test"))
    models = root / "models"
    teachers = [models / "teachers" / f"teacher-{k}.tflite" for k in (1, 2)]
    seeds = [read_card(t.with_suffix(".json")).recipe["seed"] for t in teachers]
    assert seeds[1] == seeds[0] + 1, "each teacher its own seed"
    for teacher in teachers:
        card = read_card(teacher.with_suffix(".json"))
        assert card.tier == "teacher" and "test_int8" not in card.metrics, "teachers never read PrivateTest"
        assert card.metrics["val_int8"]["images"] == val
    for name, tier in (("emotion", "accurate"), ("emotion-fast", "fast")):
        card = read_card(models / f"{name}.json")
        assert card.tier == tier and card.metrics["test_int8"]["images"] == test
        assert [t["file"] for t in card.teachers] == [str(t) for t in teachers]
        assert made_from(models / f"{name}.tflite", tier, teachers)
        probabilities = model_probabilities(models / f"{name}.tflite", np.zeros((2, 48, 48), np.uint8))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=0.02)
    wild = read_card(models / "emotion.json").metrics["wild_dev_int8"]
    assert wild["images"] == len(factory.wild_dev) and sum(wild["predicted"].values()) == wild["images"]
    assert sum(wild["labelled"].values()) == wild["images"] and 0 <= wild["balanced_accuracy"] <= 1
    fast, accurate = (read_card(models / f"{n}.json").metrics["multiply_adds"] for n in ("emotion-fast", "emotion"))
    assert fast < accurate
    page = (models / "README.md").read_text()
    assert "## Teachers" in page and "`emotion-fast.tflite` | fast" in page and "wild-dev" in page
    assert any(line.startswith("teacher 2/2: 2 epochs x ~") for line in said), "the estimate is printed"


def test_the_teachers_targets_are_made_once_and_kept_beside_them_for_a_fresh_clone(made, tmp_path):
    """Four teachers' targets cost 14-30 minutes of LiteRT: the student steps share one file beside
    the committed teachers, and a clone elsewhere (other runs, other paths) reuses it."""
    factory, root, said = made
    assert sum("model(s), each averaged over" in line for line in said) == 1, "made once for both students"
    kept = sorted((root / "models" / "teachers").glob("targets-*.npy"))
    assert len(kept) == 1 and kept[0].with_suffix(".json").is_file()
    targets = np.load(kept[0])
    assert targets.shape == (len(factory.dataset["train"]), len(CLASS_NAMES))
    np.testing.assert_array_equal(targets, np.load(root / "runs" / "fast" / "teacher_targets.npy"))

    clone = tmp_path / "clone"
    shutil.copytree(root / "models" / "teachers", clone / "models" / "teachers")
    clone_said: list[str] = []
    elsewhere = Factory(factory.dataset, clone / "runs", clone / "models", factory.recipes, 2, say=clone_said.append)
    elsewhere.pack_students(tmp_path / "pack", ("fast",))
    assert not any("each averaged over" in line for line in clone_said), clone_said
    assert any(f"teacher targets from {clone / 'models' / 'teachers' / kept[0].name}" in line for line in clone_said)
    np.testing.assert_array_equal(np.load(tmp_path / "pack" / "fast" / "teacher_targets.npy"), targets)

    swapped = clone / "models" / "teachers"  # other teachers (by content) under the same names: made again
    first, second = (swapped / f"teacher-{k}.tflite" for k in (1, 2))
    first_bytes = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(first_bytes)
    clone_said.clear()
    elsewhere.pack_students(tmp_path / "pack-2", ("fast",))
    assert any("each averaged over" in line for line in clone_said), clone_said
    assert len(list(swapped.glob("targets-*.npy"))) == 2


def test_the_teachers_ensemble_is_measured_on_publictest_and_shown_while_the_teachers_are_those(made, tmp_path):
    factory, root, said = made
    teachers = factory.teacher_files()
    ensemble = read_json(root / "models" / "teachers" / "ensemble.json")
    assert [t["file"] for t in ensemble["key"]["teachers"]] == ["teacher-1.tflite", "teacher-2.tflite"]
    assert ensemble["views"] == 10, "teacher_shift 1: each face, its mirror, and both moved four ways"
    val = factory.dataset["val"]
    mean = sum(  # the ensemble worked out here, teacher by teacher and view by view
        model_probabilities(t, np.ascontiguousarray(view)) for t in teachers for view in teacher_views(val.images, 1)
    )
    expected = classification_report(val.labels, mean.argmax(axis=1), list(CLASS_NAMES))
    assert ensemble["val_int8"] == {k: expected[k] for k in ("accuracy", "macro_f1", "balanced_accuracy", "images")}
    assert ensemble["wild_dev_int8"]["images"] == len(factory.wild_dev)
    assert any(line.startswith("the 2 teachers together (10 views a face): PublicTest") for line in said)
    assert "Together (teacher-1.tflite, teacher-2.tflite;" in (root / "models" / "README.md").read_text()
    report = root / "models" / "teachers" / "ensemble.json"
    saved = report.read_text()
    report.write_text("{not json")
    factory.report_ensemble()
    assert report.read_text() == saved, "a damaged report is made again"
    copied = shutil.copytree(root / "models", tmp_path / "copied")
    (copied / "teachers" / "ensemble.json").unlink()
    again = Factory(factory.dataset, tmp_path / "no-runs", copied, factory.recipes, teachers=2, say=said.append)
    again.wild_dev = factory.wild_dev
    again.run(("export",))  # no finished student runs here: the students are left as they are
    assert (copied / "teachers" / "ensemble.json").read_text() == saved, "the export step measures it where missing"
    changed = shutil.copytree(root / "models", tmp_path / "models")
    (changed / "teachers" / "teacher-2.tflite").write_bytes(teachers[1].read_bytes() + b"\0")
    write_models_page(changed)
    page = (changed / "README.md").read_text()
    assert "## Teachers" in page and "Together" not in page, "a report of other teacher files is not shown"
    assert "Made from earlier teachers" not in (root / "models" / "README.md").read_text()
    (changed / "teachers" / "teacher-3.tflite").write_bytes(teachers[0].read_bytes())
    write_models_page(changed)
    since = "Made from earlier teachers (since then: `teacher-2.tflite` replaced or removed, `teacher-3.tflite` added)"
    assert (changed / "README.md").read_text().count(since) == 2, "both students say they are stale"


def test_a_second_run_skips_every_step_whose_output_exists(made):
    factory, root, _ = made
    said: list[str] = []
    factory.say = said.append
    before = {p: p.stat().st_mtime_ns for p in (root / "models").rglob("*") if p.suffix in (".tflite", ".json")}
    factory.run(("teachers", "student", "fast"))
    assert sum("skipped" in line for line in said) == 4, said
    after = {p: p.stat().st_mtime_ns for p in (root / "models").rglob("*") if p.suffix in (".tflite", ".json")}
    assert after == before, "nothing written again, the teachers' ensemble report included"


def test_a_new_teacher_makes_the_students_stale(made, tmp_path):
    factory, root, _ = made
    teachers = factory.teacher_files()
    other = tmp_path / "other.tflite"
    other.write_bytes(teachers[0].read_bytes() + b"\0")
    assert not made_from(root / "models" / "emotion.tflite", "accurate", [other, teachers[1]])
    assert not made_from(root / "models" / "emotion.tflite", "fast", teachers), "nor is a student another tier"


def test_a_finished_student_from_an_earlier_cycle_of_its_teachers_is_trained_again_not_relabelled(tmp_path):
    """Same teacher names, new content (a teacher's next cycle): the kept run is stale. The export
    step leaves the shipped student alone, and the student step starts over from the new targets."""
    factory, said = one_teacher_cut_short(tmp_path)
    factory.budget_minutes = None
    factory.run(("teachers", "fast"))
    teacher, fast = factory.teacher_files()[0], factory.models / "emotion-fast.tflite"
    card_before = fast.with_suffix(".json").read_bytes()
    teacher.write_bytes(fast.read_bytes())  # another real model under the teacher's name: its next cycle, say
    said.clear()
    factory.run(("export",))
    assert f"export: {factory.runs / 'fast'} was trained from other teachers; {fast} left as it is" in said
    assert fast.with_suffix(".json").read_bytes() == card_before and not made_from(fast, "fast", [teacher])
    said.clear()
    factory.run(("fast",))
    assert any("was begun with other teachers or another network: starting over" in line for line in said), said
    assert made_from(fast, "fast", [teacher])


def test_students_without_their_teachers_are_a_one_line_error(made, tmp_path, capsys):
    data = ["--data", str(made[1] / "fer"), "--cache", str(tmp_path), "--models", str(tmp_path / "none")]
    assert trainer_main(["factory", "--step", "student", *data]) == 1
    error = capsys.readouterr().err
    assert "teachers missing" in error and "--step teachers" in error and error.count("\n") == 1


def test_a_teacher_with_a_broken_card_is_a_one_line_error(made, tmp_path, capsys):
    root = made[1]
    shutil.copytree(root / "models" / "teachers", tmp_path / "models" / "teachers")
    (tmp_path / "models" / "teachers" / "teacher-1.json").write_text('{"labels": [')
    for kept in (tmp_path / "models" / "teachers").glob("targets-*"):  # so the targets are made, reading the cards
        kept.unlink()
    data = ["--data", str(root / "fer"), "--cache", str(tmp_path), "--models", str(tmp_path / "models")]
    places = ["--runs", str(tmp_path / "runs"), "--recipes", str(tiny_recipes(tmp_path / "recipes")), "--teachers", "2"]
    assert trainer_main(["factory", "--step", "student", *data, *places]) == 2
    error = capsys.readouterr().err
    assert "teacher-1.json is not readable JSON" in error and error.count("\n") == 1, error


def one_teacher_cut_short(tmp_path) -> tuple[Factory, list[str]]:
    """A factory of one teacher on tiny data, with a budget that fits one epoch of the recipe's two."""
    data = load_dataset(make_folder_dataset(tmp_path / "fer", per_class=4))
    said: list[str] = []
    recipes = tiny_recipes(tmp_path / "recipes")
    factory = Factory(data, tmp_path / "runs", tmp_path / "models", recipes, teachers=1, budget_minutes=1e-4)
    factory.tolerance_points, factory.say = 100.0, said.append
    return factory, said


def test_a_teacher_cut_short_by_its_budget_gets_more_cycles_until_it_has_had_its_epochs(tmp_path):
    factory, said = one_teacher_cut_short(tmp_path)
    teacher = factory.teacher_files()[0]
    factory.train_teachers()
    assert teacher_epochs(teacher) == 1, "a budget that fits one epoch of two: the teacher is written after one"
    first = teacher.read_bytes()
    factory.train_teachers()
    assert "teacher 1/1: 1 of 2 epochs done; a new cycle of up to 1" in said
    assert teacher_epochs(teacher) == 2 and teacher.read_bytes() != first
    lineage = read_card(teacher.with_suffix(".json")).recipe["init_from"]
    assert lineage["file"] == "teacher-1.tflite" and lineage["recipe"]["epochs_run"] == 1
    factory.train_teachers()
    assert said[-1] == f"teacher 1/1: {teacher} has had its 2 epochs, skipped"


def test_missing_teachers_are_trained_before_a_written_one_gets_another_cycle(tmp_path):
    factory, said = one_teacher_cut_short(tmp_path)
    factory.train_teachers()  # teacher 1, cut short after one epoch of two
    factory.teachers = 2
    said.clear()
    factory.train_teachers()
    written = [line for line in said if " written: " in line]
    assert [line.split(" written")[0] for line in written] == ["teacher 2/2", "teacher 1/2"], said


@pytest.mark.parametrize("budget", ["0", "-3", "nan", "inf", "soon"])
def test_a_budget_that_is_not_minutes_is_a_usage_error(budget, capsys):
    with pytest.raises(SystemExit) as exit_:
        trainer_main(["factory", "--budget", budget])
    assert exit_.value.code == 2 and "minutes" in capsys.readouterr().err


def test_wild_dev_reads_every_class_folder_and_is_none_when_absent(made, tmp_path):
    wild = load_wild_dev(made[1] / "fer" / "test")
    assert wild is not None and wild.images.shape[1:] == (48, 48)
    assert sorted(set(wild.labels.tolist())) == list(range(7))
    assert load_wild_dev(tmp_path / "absent") is None


def test_a_card_names_files_in_the_checkout_as_every_clone_sees_them(tmp_path):
    """A committed student card names its teachers `models/teachers/...`, not this machine's path."""
    from emojitui.shared.locations import PACKAGE_DIR
    from trainer.export import shown_path

    inside = PACKAGE_DIR.parent / "models" / "teachers" / "teacher-1.tflite"
    assert shown_path(inside) == "models/teachers/teacher-1.tflite"
    assert shown_path(tmp_path / "teacher-1.tflite") == str(tmp_path / "teacher-1.tflite")


def test_packed_students_train_elsewhere_from_their_teachers_targets_alone(made, tmp_path, monkeypatch):
    """`just gpu-pack`: each student's recipe and its teachers' targets, made here, so a run on a
    machine without LiteRT (`offline_gpu.sh`) never loads a teacher; exported back here, the
    student's card names the same teachers, so the factory takes it as made from them."""
    from trainer.export import export_and_report
    from trainer.run_folder import RunFolder
    from trainer.train import train

    factory, root, _ = made
    monkeypatch.chdir(root)  # the repository root, where the packed recipes name the teachers from
    said: list[str] = []
    factory.say = said.append
    recipes = factory.pack_students(tmp_path / "pack")
    assert [r.relative_to(tmp_path / "pack").as_posix() for r in recipes] == [
        "student/student.json",
        "fast/student-fast.json",
    ]
    assert not any("each averaged over" in line for line in said), "kept beside the teachers by the factory: reused"
    packed = Recipe.named(str(recipes[0]))
    assert packed.teachers == ("models/teachers/teacher-1.tflite", "models/teachers/teacher-2.tflite")
    targets = np.load(recipes[0].parent / "teacher_targets.npy")
    assert targets.shape == (len(factory.dataset["train"]), len(CLASS_NAMES))
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-4)

    run = RunFolder(tmp_path / "elsewhere")  # what offline_gpu.sh does with a packed recipe
    run.root.mkdir()
    for suffix in (".npy", ".json"):
        shutil.copy(recipes[0].parent / f"teacher_targets{suffix}", run.root)
    said.clear()
    train(factory.dataset, packed, run, resume=False, say=said.append)
    assert run.finished() and not any("teacher targets from" in line for line in said), said
    models = tmp_path / "models"
    assert export_and_report(factory.dataset, run, models, 100.0, "emotion", "accurate") == 0
    assert made_from(models / "emotion.tflite", "accurate", factory.teacher_files())

    # the same run where the factory keeps its student step (a CPU taking up a packed run): kept, not begun again
    clone = tmp_path / "clone"
    elsewhere = Factory(factory.dataset, clone / "runs", clone / "models", factory.recipes, 2, say=said.append)
    shutil.copytree(root / "models" / "teachers", elsewhere.models / "teachers")
    shutil.copytree(run.root, elsewhere.runs / "student")
    monkeypatch.chdir(clone)
    said.clear()
    elsewhere.tolerance_points = 100.0
    elsewhere.run(("student",))
    assert not any("starting over" in line for line in said), said
    assert any("already finished" in line for line in said), said


def test_packing_a_step_that_is_no_student_is_a_usage_error(tmp_path, capsys):
    assert trainer_main(["factory", "--step", "teachers", "--pack", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "--pack" in error and "student" in error and error.count("\n") == 1
