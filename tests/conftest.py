"""Shared fixtures: the real model, real photos and FER-2013 from ../shared, videos made here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EMOJITUI_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "media" / "photos"
FER = SHARED / "datasets" / "fer2013"
MODEL = REPO / "models" / "emotion.tflite"


@pytest.fixture(scope="session")
def photos() -> Path:
    if not PHOTOS.is_dir():
        pytest.skip(f"real photos not found at {PHOTOS} (set EMOJITUI_SHARED to the shared folder)")
    return PHOTOS


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    if not (FER / "test").is_dir():
        pytest.skip(f"FER-2013 not found at {FER} (set EMOJITUI_SHARED to the shared folder)")
    return FER


@pytest.fixture(scope="session")
def model_path() -> Path:
    assert MODEL.is_file(), f"the shipped model {MODEL} is missing: run `just train`"
    return MODEL


@pytest.fixture(scope="session")
def classifier(model_path):
    from emojitui.engine.classifier import ExpressionClassifier

    return ExpressionClassifier(model_path)


@pytest.fixture
def engine(classifier):
    from emojitui.engine.engine import Engine

    return Engine(classifier)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    """Write BGR frames with OpenCV's VideoWriter (MJPG in AVI: available in every build)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV could not open a VideoWriter"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def place(photo: np.ndarray, size: tuple[int, int] = (640, 480), zoom: float = 1.0, dx: float = 0.0) -> np.ndarray:
    """`photo` fitted into a frame of `size`, zoomed and shifted: a camera-like view of a face."""
    width, height = size
    scale = min(width / photo.shape[1], height / photo.shape[0]) * zoom
    matrix = np.array(
        [[scale, 0, (width - photo.shape[1] * scale) / 2 + dx], [0, scale, (height - photo.shape[0] * scale) / 2]],
        np.float32,
    )
    return cv2.warpAffine(photo, matrix, size, borderValue=(30, 30, 30))


def run_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `emojitui` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "emojitui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
