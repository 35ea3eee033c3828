"""Frame sources: camera, video file, still image, folder of images, Pi camera, demo loop.

Every source yields `Frame`s with a time in seconds: media time for files (so smoothing is
reproducible however fast frames are processed), monotonic time for live cameras. Opening a
source checks it delivers a first frame, so bad input fails before the app starts.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from emojitui.errors import UserError
from emojitui.native import quiet_native_stderr

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


class SourceError(UserError):
    """A source that cannot be opened or read."""


class CameraUnavailable(SourceError):
    """No camera at that index (the app may fall back to the demo)."""


@dataclass(slots=True)
class Frame:
    image: np.ndarray  # BGR uint8
    time: float
    index: int
    mirrored: bool = False  # flipped left-right on the way in (`m`, --mirror)


class FrameSource(Protocol):
    name: str
    live: bool  # frames come in real time (a camera, the live demo); a camera may fail transiently
    fps: float

    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended (or a live one failed)."""

    def reopen(self) -> bool:
        """Try to reopen after a failure; True when frames flow again."""

    def close(self) -> None: ...


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Grey, BGRA or 16-bit images as 8-bit BGR."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def read_image(path: Path) -> np.ndarray:
    """Decode an image file to BGR, with one-line errors for each way it can be bad."""
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path} is a folder: pass it as --source to read its images")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise SourceError(f"{path} is empty (0 bytes): pass an image file")
    # IMREAD_UNCHANGED would ignore EXIF orientation (phone photos come out sideways, faces unfound);
    # colour + any depth applies it and keeps 16-bit images, dropping alpha as to_bgr would.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if image is None:
        raise SourceError(f"{path} is not an image OpenCV can read (JPEG, PNG, BMP, WebP, TIFF)")
    return to_bgr(image)


class StillSource:
    """One or more still images; `hold` seconds each when live, else each image once.

    Images are given decoded or as paths decoded when shown (one kept at a time): a folder of
    500 phone photos would otherwise need gigabytes before the first frame. A file that turns
    out unreadable when its turn comes is dropped and named in `skipped`.
    """

    live = False

    def __init__(
        self, images: list[tuple[str, np.ndarray | Path]], name: str, hold: float | None = None, fps: float = 15.0
    ):
        self.images, self.name, self.hold, self.fps = images, name, hold, fps
        self.index = 0
        self.current_name = images[0][0]
        self.skipped: list[str] = []
        self._decoded: tuple[int, np.ndarray] | None = None

    def read(self) -> Frame | None:
        while self.images:
            if self.hold is None:
                if self.index >= len(self.images):
                    return None
                position = self.index
            else:
                position = int(self.index / (self.hold * self.fps)) % len(self.images)
            image = self._image(position)
            if image is None:
                self.skipped.append(self.images.pop(position)[0])
                self._decoded = None
                continue
            self.current_name = self.images[position][0]
            frame = Frame(image, self.index / self.fps, self.index)
            self.index += 1
            return frame
        return None

    def _image(self, position: int) -> np.ndarray | None:
        image = self.images[position][1]
        if isinstance(image, np.ndarray):
            return image
        if self._decoded is None or self._decoded[0] != position:
            try:
                self._decoded = (position, read_image(image))
            except SourceError:
                return None
        return self._decoded[1]

    def reopen(self) -> bool:
        return False

    def close(self) -> None:
        pass


def open_folder(path: Path, hold: float | None) -> StillSource:
    """The folder's images in name order; the first readable one is checked now, the rest when shown."""
    try:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the folder ({exc.strerror})") from None
    for index, file in enumerate(files):
        try:
            first = read_image(file)
        except SourceError as exc:
            print(f"skipping {exc}", file=sys.stderr)
            continue
        images: list[tuple[str, np.ndarray | Path]] = [(str(file), first)]
        return StillSource(images + [(str(f), f) for f in files[index + 1 :]], str(path), hold)
    raise SourceError(f"{path}: no readable images in this folder")


class VideoSource:
    """A video file read frame by frame; its end is a clean finish."""

    live = False

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        with quiet_native_stderr():
            self._capture = cv2.VideoCapture(str(path))
            opened = self._capture.isOpened()
            ok, first = self._capture.read() if opened else (False, None)
        if not opened:
            raise SourceError(f"{path} is not a video or image OpenCV can read")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.index = 0
        if not ok or first is None:
            raise SourceError(f"{path}: the video has no frames it can decode (empty or truncated)")
        self._pending: np.ndarray | None = first

    def read(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._capture.read()
            if not ok or image is None:
                return None
        frame = Frame(image, self.index / self.fps, self.index)
        self.index += 1
        return frame

    def reopen(self) -> bool:
        return False

    def close(self) -> None:
        self._capture.release()


class CameraSource:
    """A camera through OpenCV (V4L2 on Linux) at the requested resolution."""

    live = True
    is_camera = True

    def __init__(self, device: int | str, resolution: tuple[int, int] | None = None) -> None:
        self.device, self.resolution = device, resolution
        self.name = f"camera {device}"
        self.fps = 30.0
        self.index = 0
        self._capture: cv2.VideoCapture | None = None
        if not self._open(quiet=True):
            raise CameraUnavailable(f"no camera found at {device}: pass --source with another index, a file or demo")

    def _open(self, quiet: bool = False) -> bool:
        """Open the device; `quiet` silences OpenCV's native warnings, only before the UI runs
        (redirecting fd 2 later would also swallow the terminal UI's output)."""
        if (
            isinstance(self.device, int)
            and sys.platform.startswith("linux")
            and not Path(f"/dev/video{self.device}").exists()
        ):
            return False
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        with quiet_native_stderr() if quiet else contextlib.nullcontext():
            capture = cv2.VideoCapture(self.device, backend)
        if not capture.isOpened():
            return False
        if self.resolution:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        ok, _ = capture.read()
        if not ok:
            capture.release()
            return False
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self._capture = capture
        return True

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, image = self._capture.read()
        if not ok or image is None:
            return None
        frame = Frame(image, time.monotonic(), self.index)
        self.index += 1
        return frame

    def reopen(self) -> bool:
        self.close()
        return self._open()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class PiCameraSource:
    """The Raspberry Pi camera through picamera2 (install it with apt: python3-picamera2)."""

    live = True
    is_camera = True

    def __init__(self, resolution: tuple[int, int] | None = None) -> None:
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]
        except ImportError:
            raise SourceError(
                "picamera2 is not installed: `sudo apt install python3-picamera2` and create the venv "
                "with --system-site-packages, or use --source 0 for a USB camera"
            ) from None
        self.name, self.fps, self.index = "picamera", 30.0, 0
        self._resolution = resolution or (640, 480)
        self._factory = Picamera2
        self._camera = None
        if not self.reopen():
            raise CameraUnavailable("the Pi camera did not start: check the ribbon cable and `rpicam-hello`")

    def read(self) -> Frame | None:
        if self._camera is None:
            return None
        try:
            bgr = self._camera.capture_array()  # picamera2's "RGB888" is [B, G, R] in memory: OpenCV's order
        except Exception:
            return None
        frame = Frame(bgr, time.monotonic(), self.index)
        self.index += 1
        return frame

    def reopen(self) -> bool:
        self.close()
        camera = None
        try:
            camera = self._factory()
            camera.configure(camera.create_video_configuration(main={"size": self._resolution, "format": "RGB888"}))
            camera.start()
        except Exception:
            if camera is not None:  # a half-opened camera holds the device: every retry would find it busy
                _close_quietly(camera)
            return False
        self._camera = camera
        return True

    def close(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            _close_quietly(camera)


def _close_quietly(camera) -> None:
    """Stop and close a Picamera2 that may already be broken; closing must not raise out of a finally."""
    with contextlib.suppress(Exception):
        camera.stop()
    with contextlib.suppress(Exception):
        camera.close()


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


def open_source(
    spec: str,
    resolution: tuple[int, int] | None = None,
    live_stills: bool = True,
    demo_live: bool = True,
) -> FrameSource:
    """Open whatever `spec` names: a camera index or device, file, folder, picamera or demo."""
    if spec == "demo":
        from emojitui.demo import DemoSource

        return DemoSource(live=demo_live)
    if spec == "picamera":
        return PiCameraSource(resolution)
    if spec.isascii() and spec.isdigit():  # "²" is a digit to str.isdigit, not to int()
        return CameraSource(int(spec), resolution)
    path = Path(spec).expanduser()
    if spec.startswith("/dev/video"):
        return CameraSource(spec, resolution)
    if not path.exists():
        raise SourceError(f"{spec}: no such file, folder or camera (try 0, a path, picamera or demo)")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"{path}: the folder is not readable (check its permissions)")
        return open_folder(path, hold=2.0 if live_stills else None)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return StillSource([(str(path), read_image(path))], str(path), hold=1.0 if live_stills else None)
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty (0 bytes): pass a video or image file")
    return VideoSource(path)
