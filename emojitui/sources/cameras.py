"""Live cameras: USB or built-in through OpenCV (V4L2 on Linux), and the Raspberry Pi camera."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import cv2

from emojitui.shared.native import quiet_native_stderr
from emojitui.sources.base import CameraUnavailable, Frame, SourceError, shown
from emojitui.sources.lock import CameraLock


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
        self._lock = CameraLock(_device_key(device), self.name)  # before the device: CameraBusy opens nothing
        if not self._open(quiet=True):
            self._lock.release()
            raise CameraUnavailable(
                f"no camera found at {shown(str(device))}: name another camera index, a video or image file, or demo"
            )

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
        self._release_capture()
        return self._open()

    def _release_capture(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def close(self) -> None:
        self._release_capture()
        self._lock.release()


def _device_key(device: int | str) -> str:
    """Camera 2, /dev/video2 and a link to it (/dev/v4l/by-id/...) are one device, one lock."""
    return f"video{device}" if isinstance(device, int) else Path(device).resolve().name


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
        self._lock = CameraLock("picamera", "the Pi camera")
        if not self.reopen():
            self._lock.release()
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
        self._release_camera()
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

    def _release_camera(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            _close_quietly(camera)

    def close(self) -> None:
        self._release_camera()
        self._lock.release()


def _close_quietly(camera) -> None:
    """Stop and close a Picamera2 that may already be broken; closing must not raise out of a finally."""
    with contextlib.suppress(Exception):
        camera.stop()
    with contextlib.suppress(Exception):
        camera.close()
