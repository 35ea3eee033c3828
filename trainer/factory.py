"""The model factory (`just train`): teachers -> students, in steps that each fit one session.

1. `teachers`: K networks trained from scratch with different seeds (`recipes/teacher.json`),
   each exported to int8 as `models/teachers/teacher-<k>.tflite` with its card. A CPU that fits
   fewer epochs than the recipe's into one session's budget writes the teacher all the same; the
   next run gives it another learning-rate cycle, from that committed file, for the epochs still
   owed, until it has had the recipe's epochs in all. With all K written, how they read PublicTest
   together is written beside them (`ensemble.json`);
2. `student`: the accurate tier, trained from scratch on the teachers' ensemble averaged over
   views (`recipes/student.json`), exported as `models/emotion.tflite`;
3. `fast`: the fast tier from the same teachers (`recipes/student-fast.json`), exported as
   `models/emotion-fast.tflite`;
4. `export`: the students' runs exported again, the teachers' ensemble measured where it is not
   yet, and the models page rewritten.

Each step resumes an interrupted run and is skipped when its output exists: a teacher file, or
a student whose card names the same teachers (by content). Runs live in `runs/factory/`, which
need not survive; the finished files in `models/` are what to commit after each step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emojitui.shared.atomic import write_text_atomic
from emojitui.shared.model_card import ModelCardError, card_path_for, read_card
from trainer.data import Dataset, Split
from trainer.recipe import RECIPES, Recipe, epochs_in_all
from trainer.run_folder import RunError, RunFolder, Say, read_json
from trainer.teachers import ensemble_report, teacher_targets, view_count

STEPS = ("teachers", "student", "fast", "export")
ENSEMBLE_FILE = "ensemble.json"  # beside the teachers: how they read PublicTest together
# A teacher with this share of its recipe's epochs is finished: a cycle of the few epochs still
# owed would restart the learning rate at its peak and end below where the teacher stands.
FINISHED_SHARE = 0.9
# step -> (recipe, shipped file name, tier)
STUDENTS = {"student": ("student", "emotion", "accurate"), "fast": ("student-fast", "emotion-fast", "fast")}


@dataclass
class Factory:
    """Where the factory reads and writes, and how: one object, so each step reads in a few lines."""

    dataset: Dataset
    runs: Path
    models: Path
    recipes: Path = RECIPES
    teachers: int = 4
    budget_minutes: float | None = None  # per training run; None: each recipe's own
    fresh: bool = False
    tolerance_points: float = 0.5
    say: Say = print
    wild_dev: Split | None = None  # in-the-wild crops, reported in each card beside PublicTest

    def run(self, steps: tuple[str, ...] = STEPS) -> None:
        for step in steps:
            if step == "teachers":
                self.train_teachers()
            elif step == "export":
                self.export_students()
            else:
                self.train_student(step)

    def teacher_files(self) -> list[Path]:
        return [self.models / "teachers" / f"teacher-{k}.tflite" for k in range(1, self.teachers + 1)]

    def written_teachers(self, step: str) -> list[Path]:
        """The teacher files, all of which `step` needs: a one-line error naming the step to run if any is missing."""
        teachers = self.teacher_files()
        missing = [str(t) for t in teachers if not t.is_file()]
        if missing:
            raise RunError(f"{step}: teachers missing ({', '.join(missing)}): run `just train --step teachers` first")
        return teachers

    def train_teachers(self) -> None:
        """Each teacher short of the recipe's epochs: train from scratch, or one more cycle from its
        committed file; then export, verify and write its card. Missing teachers come first: the
        students need every teacher, not every teacher's last few epochs."""
        base = self._recipe("teacher")
        owed = [(k, t, 0 if self.fresh else teacher_epochs(t)) for k, t in enumerate(self.teacher_files(), start=1)]
        for k, target, done in sorted(owed, key=lambda teacher: teacher[2] > 0):
            label = f"teacher {k}/{self.teachers}"
            if done >= base.epochs * FINISHED_SHARE:
                self.say(f"{label}: {target} has had its {done} epochs, skipped")
                continue
            recipe = dataclasses.replace(base, seed=base.seed + k - 1, epochs=base.epochs - done)
            if done:
                self.say(f"{label}: {done} of {base.epochs} epochs done; a new cycle of up to {recipe.epochs}")
                run = self._train(recipe, self.runs / f"teacher-{k}-after-{done}", label, init_from=target)
            else:
                run = self._train(recipe, self.runs / f"teacher-{k}", label)
            self._export(run, target.parent, target.stem, "teacher")
            self.say(f"{label} written: commit {target} and its card before the next step")
        self.report_ensemble()

    def report_ensemble(self) -> None:
        """How the teachers together read PublicTest (and wild-dev), averaged over the views the
        students' targets are made from: `models/teachers/ensemble.json`, shown on the models page."""
        teachers = self.teacher_files()
        if not all(t.is_file() for t in teachers):
            return
        shift = self._recipe("student").teacher_shift
        val, wild = self.dataset["val"], self.wild_dev if self.wild_dev is not None and len(self.wild_dev) else None
        key = {
            "teachers": [teacher_key(t) for t in teachers],
            "teacher_shift": shift,
            "val_images_sha256": hashlib.sha256(np.ascontiguousarray(val.images).data).hexdigest(),
            "wild_dev_images": len(wild) if wild is not None else 0,
        }
        target = self.models / "teachers" / ENSEMBLE_FILE
        with contextlib.suppress(OSError, ValueError, AttributeError):  # none, unreadable or not an object: made again
            if not self.fresh and json.loads(target.read_text()).get("key") == key:
                return
        names = tuple(str(t) for t in teachers)
        report = {"key": key, "views": view_count(shift)}
        report["val_int8"] = _summary(ensemble_report(names, val, shift))
        if wild is not None:
            report["wild_dev_int8"] = _summary(ensemble_report(names, wild, shift))
        write_text_atomic(target, json.dumps(report, indent=2) + "\n")
        self.say(
            f"the {len(teachers)} teachers together ({report['views']} views a face): PublicTest "
            f"{report['val_int8']['accuracy'] * 100:.2f}%, macro-F1 {report['val_int8']['macro_f1']:.3f}; "
            f"written to {target}"
        )

    def train_student(self, step: str) -> None:
        """The accurate (`student`) or fast (`fast`) tier, distilled from all K teachers."""
        recipe_name, name, tier = STUDENTS[step]
        teachers = self.written_teachers(step)
        target = self.models / f"{name}.tflite"
        if made_from(target, tier, teachers) and not self.fresh:
            self.say(f"{step}: {target} was made from these teachers, skipped")
            return
        recipe = dataclasses.replace(self._recipe(recipe_name), teachers=tuple(str(t) for t in teachers))
        run = self._train(recipe, self.runs / step, f"{step} ({tier} tier)")
        self._export(run, self.models, name, tier)

    def export_students(self) -> None:
        """Export the students' finished runs again (after a change to the export), measure the
        teachers' ensemble if it is not yet, rewrite the page."""
        from trainer.report import write_models_page

        self.report_ensemble()
        teachers = self.written_teachers("export")
        for step, (_, name, tier) in STUDENTS.items():
            run = RunFolder(self.runs / step)
            if run.finished() and not targets_from(run, teachers):
                shipped = self.models / f"{name}.tflite"
                self.say(f"export: {run.root} was trained from other teachers; {shipped} left as it is")
            elif run.finished():
                self._export(run, self.models, name, tier)
            else:
                self.say(f"export: no finished {step} run in {run.root}; {self.models / name}.tflite left as it is")
        write_models_page(self.models)

    def pack_students(self, folder: Path, steps: tuple[str, ...] = tuple(STUDENTS)) -> list[Path]:
        """Each student step's recipe, its teachers named as from the working directory, and its
        distillation targets, in `folder/<step>/`: what a run on a machine without LiteRT needs
        (`trainer/offline_gpu.sh`, run from the repository root), which then finds the targets
        and never loads a teacher. The targets are kept beside the teachers: made once, they serve every step."""
        named = tuple(os.path.relpath(t) for t in self.written_teachers("pack"))
        written: list[Path] = []
        for step in steps:
            recipe = dataclasses.replace(self._recipe(STUDENTS[step][0]), teachers=named)
            run = RunFolder(folder / step)
            run.root.mkdir(parents=True, exist_ok=True)
            teacher_targets(named, self.dataset["train"].images, run, self.say, recipe.teacher_shift, self._kept())
            recipe_file = run.root / f"{STUDENTS[step][0]}.json"
            write_text_atomic(recipe_file, json.dumps(recipe.as_dict(), indent=2) + "\n")
            written.append(recipe_file)
            self.say(f"{step}: {recipe_file} and its teachers' targets, for `offline_gpu.sh OUT SECONDS {recipe_file}`")
        return written

    def _kept(self) -> Path:
        """Where the teachers' targets are kept for the next clone: beside the teachers, committed with them."""
        return self.models / "teachers"

    def _recipe(self, name: str) -> Recipe:
        recipe = Recipe.named(name, self.recipes)
        if self.budget_minutes is not None:
            recipe = dataclasses.replace(recipe, budget_minutes=self.budget_minutes)
        return recipe

    def _train(self, recipe: Recipe, root: Path, label: str, init_from: Path | None = None) -> RunFolder:
        """Train or resume the run in `root`; a run begun with other teachers or another network starts
        over. Teachers are compared as files: a run from `just gpu-pack`'s recipe names them from the
        repository root, the factory by full path."""
        from trainer.train import train

        run = RunFolder(root)
        if run.recipe.is_file() and not self.fresh:
            saved = read_json(run.recipe)
            if (
                [Path(t).resolve() for t in saved.get("teachers", [])] != [Path(t).resolve() for t in recipe.teachers]
                or saved.get("stages") != [list(s) for s in recipe.stages]
                or not targets_from(run, [Path(t) for t in recipe.teachers])
            ):
                self.say(f"{label}: {root} was begun with other teachers or another network: starting over")
                shutil.rmtree(root)
        elif self.fresh and root.is_dir():
            shutil.rmtree(root)
        if recipe.teachers:  # made here, so that they are kept beside the teachers for the next clone
            teacher_targets(
                recipe.teachers, self.dataset["train"].images, run, self.say, recipe.teacher_shift, self._kept()
            )
        train(self.dataset, recipe, run, resume=True, say=self.say, name=label, init_from=init_from)
        return run

    def _export(self, run: RunFolder, models: Path, name: str, tier: str) -> None:
        from trainer.export import ExportError, export_and_report

        exported = export_and_report(
            self.dataset, run, models, self.tolerance_points, name=name, tier=tier, wild_dev=self.wild_dev
        )
        if exported != 0:
            raise ExportError(f"cannot export {run.root} as {models / name}.tflite")


def teacher_key(teacher: Path) -> dict:
    """A teacher file as the ensemble report names it: its name and content hash."""
    return {"file": teacher.name, "sha256": hashlib.sha256(teacher.read_bytes()).hexdigest()}


def _summary(report: dict) -> dict:
    return {k: report[k] for k in ("accuracy", "macro_f1", "balanced_accuracy", "images")}


def teacher_epochs(teacher: Path) -> int:
    """Epochs a teacher file has had: its last cycle's, plus those of each cycle it continued; 0 if absent."""
    if not teacher.is_file():
        return 0
    try:
        recipe = read_card(card_path_for(teacher)).recipe
    except ModelCardError as exc:
        raise RunError(f"{teacher}: {exc}: delete the file, or pass --fresh to train it again") from None
    return epochs_in_all(recipe)


def content_hashes(files: list[Path]) -> list[str]:
    """Each file's sha256, as the cards and the kept targets name a teacher by content."""
    return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]


def targets_from(run: RunFolder, teachers: list[Path]) -> bool:
    """Whether the run's kept teacher targets, if any, came from these teacher files as they are now:
    the same names with new content (a teacher's next cycle) make a finished student stale."""
    key = run.teacher_targets.with_suffix(".json")
    if not teachers or not key.is_file():
        return True
    kept = [t.get("sha256") for t in read_json(key).get("teachers", [])]
    return kept == content_hashes(teachers)


def made_from(model: Path, tier: str, teachers: list[Path]) -> bool:
    """Whether `model`'s card says the factory made it for `tier` from exactly these teacher files."""
    try:
        card = read_card(card_path_for(model))
    except ModelCardError:
        return False
    recorded = [t.get("sha256") for t in card.teachers]
    return model.is_file() and card.tier == tier and recorded == content_hashes(teachers)
