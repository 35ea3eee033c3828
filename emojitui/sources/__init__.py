"""Frame sources: camera, video file, still image, folder of images, Pi camera, demo loop.

`open_source(spec)` opens whatever a `--source` names; the modules hold one kind each:
`base` (the `Frame`, the `FrameSource` protocol, the errors), `files`, `cameras`, `demo`, and
`lock` (one camera user at a time), `capture` (the thread that always hands over the newest frame).
"""

from __future__ import annotations

import os
from pathlib import Path

from emojitui.shared.errors import UserError
from emojitui.sources.base import CameraUnavailable, Frame, FrameSource, SourceError, missing_path, path_exists
from emojitui.sources.cameras import CameraSource, PiCameraSource
from emojitui.sources.demo import DemoSource
from emojitui.sources.files import IMAGE_SUFFIXES, StillSource, VideoSource, open_folder, read_image, to_bgr
from emojitui.sources.lock import CameraBusy, CameraLock

__all__ = [
    "IMAGE_SUFFIXES",
    "CameraBusy",
    "CameraLock",
    "CameraSource",
    "CameraUnavailable",
    "DemoSource",
    "Frame",
    "FrameSource",
    "PiCameraSource",
    "SourceError",
    "StillSource",
    "VideoSource",
    "names_camera_device",
    "open_folder",
    "open_source",
    "parse_resolution",
    "read_image",
    "to_bgr",
]


def parse_resolution(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"resolution {text!r} must look like 640x480") from None
    if not (1 <= width <= 16384 and 1 <= height <= 16384):
        raise UserError(f"resolution {text!r} must be two sizes from 1 to 16384, like 640x480")
    return width, height


def names_camera_device(spec: str) -> bool:
    """/dev/videoN, or any other name of a character device: the stable /dev/v4l/by-id/... and
    by-path/... links, a udev rule's /dev/webcam (as files they are empty, not videos)."""
    if spec.startswith("/dev/video"):
        return True
    try:
        return Path(spec).is_char_device()
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return False


def open_source(
    spec: str,
    resolution: tuple[int, int] | None = None,
    live_stills: bool = True,
    demo_live: bool = True,
) -> FrameSource:
    """Open whatever `spec` names: a camera index or device, file, folder, picamera or demo."""
    if spec == "demo":
        return DemoSource(live=demo_live)
    if spec == "picamera":
        return PiCameraSource(resolution)
    if not spec.strip():
        raise SourceError("--source is empty: pass a camera index, a file, a folder, picamera or demo")
    if spec.isascii() and spec.isdigit():  # "²" is a digit to str.isdigit, not to int()
        return CameraSource(int(spec), resolution)
    try:
        path = Path(spec).expanduser()
    except RuntimeError:  # `~someone` with no such user
        path = Path(spec)
    if names_camera_device(str(path)):
        return CameraSource(str(path), resolution)
    if not path_exists(path, spec):
        raise missing_path(path, spec, "no such file, folder or camera (try 0, a path, picamera or demo)")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"{path}: the folder is not readable (check its permissions)")
        return open_folder(path, hold=2.0 if live_stills else None)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return StillSource([(str(path), read_image(path))], str(path), hold=1.0 if live_stills else None)
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty (0 bytes): pass a video or image file")
    return VideoSource(path)
