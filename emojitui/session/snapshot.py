"""Snapshots: the current frame with boxes, labels and emoji drawn over each face ("emojify
my face"), as a PNG plus a JSON sidecar with the probabilities; both written atomically."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from emojitui.engine.engine import FaceResult
from emojitui.session.overlay import draw_faces
from emojitui.shared.atomic import write_bytes_new, write_text_atomic
from emojitui.shared.errors import UserError


def save_snapshot(
    folder: Path,
    image: np.ndarray,
    faces: list[FaceResult],
    labels: list[str],
    source: str = "",
    remedy: str = "name a writable folder",
) -> Path:
    """Write `emojitui-<time>.png` and its `.json`; returns the PNG path. `remedy`: what the error
    tells the user to do, which depends on how they chose the folder."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    ok, encoded = cv2.imencode(".png", draw_faces(image, faces))
    if not ok:
        raise UserError("could not encode the snapshot as PNG")
    try:
        png = write_bytes_new(snapshot_names(folder, stamp), encoded.tobytes())
        sidecar = {
            "image": png.name,
            "time": dt.datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "source": source,
            "size": [int(image.shape[1]), int(image.shape[0])],
            "faces": [face.as_json(labels) for face in faces],
        }
        write_text_atomic(png.with_suffix(".json"), json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        problem = "a file, not a folder" if folder.is_file() else exc.strerror
        raise UserError(f"could not write the snapshot to {folder} ({problem}): {remedy}") from None
    return png


def snapshot_names(folder: Path, stamp: str) -> Iterator[Path]:
    """`emojitui-<stamp>.png`, then `-2`, `-3`...: snapshots taken in the same millisecond (`s`
    pressed fast, each saved on its own thread) each keep their file."""
    yield folder / f"emojitui-{stamp}.png"
    for number in itertools.count(2):
        yield folder / f"emojitui-{stamp}-{number}.png"
