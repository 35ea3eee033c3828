"""Distillation targets: earlier int8 models' mean probabilities over several views of each face."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from emojitui.shared.atomic import write_bytes_atomic
from emojitui.shared.emotions import CLASS_NAMES
from trainer.litert_runner import TFLiteClassifier
from trainer.run_folder import RunError, RunFolder


def teacher_targets(
    teachers: tuple[str, ...], images: np.ndarray, run: RunFolder, say=print, shift: int = 0
) -> np.ndarray:
    """Mean probabilities of the teacher files over each image's views, kept in the run folder for --resume.

    The views are the image and its mirror, and with `shift` each of those moved by that many
    pixels in four directions: test-time averaging makes a stronger teacher than a single pass.
    """
    cache = run.root / "teacher_targets.npy"
    if cache.is_file():
        targets = np.load(cache)
        if targets.shape[0] == len(images):
            return targets
    missing = [t for t in teachers if not Path(t).is_file()]
    if missing:
        raise RunError(f"teacher model not found: {', '.join(missing)}")
    views = teacher_views(images, shift)
    say(f"teacher targets from {len(teachers)} model(s), each averaged over {len(views)} views of every image")
    total = np.zeros((len(images), len(CLASS_NAMES)), np.float64)
    for teacher in teachers:
        model = TFLiteClassifier(Path(teacher))
        for view in views:
            total += model.probabilities(view)
    targets = (total / (len(views) * len(teachers))).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, targets)
    write_bytes_atomic(cache, buffer.getvalue())
    return targets


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
