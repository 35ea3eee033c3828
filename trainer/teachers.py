"""Distillation targets: earlier int8 models' mean probabilities over several views of each face."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from emojitui.shared.atomic import write_bytes_atomic, write_text_atomic
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.litert import LiteRTModel, LiteRTUnavailable
from trainer.data import Split
from trainer.evaluate import chunked_probabilities, model_labels
from trainer.metrics import classification_report
from trainer.run_folder import RunError, RunFolder, Say, read_json


def teacher_targets(
    teachers: tuple[str, ...],
    images: np.ndarray,
    run: RunFolder,
    say: Say = print,
    shift: int = 0,
    keep_in: Path | None = None,
) -> np.ndarray:
    """Mean probabilities of the teacher files over each image's views, kept in the run folder for --resume
    and, with `keep_in`, in that folder too (`kept_targets`), where a fresh clone finds them: four
    teachers' targets take 14 minutes of LiteRT on a CPU with VNNI, 33 on one without, and the file
    is under a megabyte, so the factory keeps them beside the committed teachers, where any run
    naming those teachers (`python -m trainer train --recipe`) looks first.

    The views are the image and its mirror, and with `shift` each of those moved by that many
    pixels in four directions: test-time averaging makes a stronger teacher than a single pass.
    The kept targets are reused only for the same teacher files (by content), views and images.
    """
    missing = [t for t in teachers if not Path(t).is_file()]
    if missing:
        raise RunError(f"teacher model not found: {', '.join(missing)}")
    key = {
        "teachers": [{"file": t, "sha256": hashlib.sha256(Path(t).read_bytes()).hexdigest()} for t in teachers],
        "shift": shift,
        "images": len(images),
        "images_sha256": hashlib.sha256(np.ascontiguousarray(images).data).hexdigest(),
    }
    key_file = run.teacher_targets.with_suffix(".json")
    if run.teacher_targets.is_file() and key_file.is_file() and read_json(key_file) == key:
        return np.load(run.teacher_targets)
    named = [{"file": Path(t["file"]).name, "sha256": t["sha256"]} for t in key["teachers"]]
    portable = key | {"teachers": named}  # the same targets wherever the checkout lies
    # looked for beside the teachers (where the factory keeps them) or in `keep_in`; written only there
    beside = kept_targets(keep_in if keep_in is not None else Path(teachers[0]).parent, portable)
    if beside.is_file():
        say(f"teacher targets from {beside}")
        targets = np.load(beside)
    else:
        views = view_count(shift)
        say(f"teacher targets from {len(teachers)} model(s), each averaged over {views} views of every image")
        try:
            targets = ensemble_probabilities(teachers, images, shift)
        except LiteRTUnavailable as exc:  # a GPU machine: the targets should have come packed (just gpu-pack)
            kept = f"those in {run.root} are for other teachers or images; " if run.teacher_targets.is_file() else ""
            raise RunError(
                f"cannot make teacher targets without LiteRT ({exc}): {kept}"
                "make them where LiteRT runs (`just gpu-pack`) and bring them with the recipe"
            ) from None
        if keep_in is not None:
            with contextlib.suppress(OSError):  # a read-only checkout still trains
                _save(beside, targets, portable)
                say(f"teacher targets kept in {beside}: commit it with the teachers, a fresh clone reuses it")
    _save(run.teacher_targets, targets, key)
    return targets


def kept_targets(folder: Path, portable_key: dict) -> Path:
    """The file in `folder` for targets of this key (teachers by file name and content, views, images)."""
    digest = hashlib.sha256(json.dumps(portable_key, sort_keys=True).encode()).hexdigest()[:16]
    return folder / f"targets-{digest}.npy"


def _save(path: Path, targets: np.ndarray, key: dict) -> None:
    buffer = io.BytesIO()
    np.save(buffer, targets)
    write_bytes_atomic(path, buffer.getvalue())
    write_text_atomic(path.with_suffix(".json"), json.dumps(key, indent=2) + "\n")


def ensemble_probabilities(teachers: tuple[str, ...], images: np.ndarray, shift: int) -> np.ndarray:
    """The teachers' mean probabilities (CLASS_NAMES order) over each image's views (`teacher_views`)."""
    views = teacher_views(images, shift)
    total = np.zeros((len(images), len(CLASS_NAMES)), np.float64)
    for teacher in teachers:
        # loaded once for all views; every core: the targets are the step's only work while they are made
        order, runner = _class_order(Path(teacher)), LiteRTModel(Path(teacher), threads=os.cpu_count() or 1)
        for view in views:
            total += chunked_probabilities(runner, np.ascontiguousarray(view))[:, order]
    return (total / (len(views) * len(teachers))).astype(np.float32)


def ensemble_report(teachers: tuple[str, ...], split: Split, shift: int) -> dict:
    """How the teachers' ensemble (what the students learn from) reads `split`: a classification report."""
    predicted = ensemble_probabilities(teachers, split.images, shift).argmax(axis=1)
    return classification_report(split.labels, predicted, list(CLASS_NAMES))


def _class_order(teacher: Path) -> list[int]:
    """The teacher's output index of each CLASS_NAMES class: a teacher with a card may list them in another order."""
    labels = model_labels(teacher)
    if sorted(labels) != sorted(CLASS_NAMES):
        raise RunError(f"teacher {teacher} predicts {', '.join(labels)}, not the 7 FER-2013 classes")
    return [labels.index(name) for name in CLASS_NAMES]


def view_count(shift: int) -> int:
    """How many views `teacher_views` makes of each image with `shift`."""
    return len(teacher_views(np.zeros((1, 2, 2), np.uint8), shift))


def teacher_views(images: np.ndarray, shift: int) -> list[np.ndarray]:
    """The images and their mirrors, and with `shift` > 0 each moved left, right, up and down (edges reflected)."""
    views = [images, images[:, :, ::-1]]
    if shift <= 0:
        return views
    pad = np.pad(images, ((0, 0), (shift, shift), (shift, shift)), mode="reflect")
    height, width = images.shape[1:]
    moved = []
    for dy, dx in ((0, -shift), (0, shift), (-shift, 0), (shift, 0)):
        # the view's pixel (y, x) is the image's (y + dy, x + dx)
        moved.append(pad[:, shift + dy : shift + dy + height, shift + dx : shift + dx + width])
    moved += [view[:, :, ::-1] for view in moved]
    return views + moved  # slices of one padded copy: the classifier converts each face anyway
