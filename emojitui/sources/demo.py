"""The built-in demo source: a loop of real faces from bundled photos, gently moving.

Used by `--source demo` and whenever no camera is found, so `just run` always shows something
real. Live mode paces frames at 30 fps in real time; otherwise frames carry media time and
the loop plays `loops` times, so tests and benchmarks are deterministic.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from emojitui.shared.locations import DEMO_DIR
from emojitui.sources.base import Frame, SourceError

FRAME_SIZE = (640, 480)
SCENE_SECONDS = 3.0


class DemoSource:
    name = "demo"

    def __init__(self, live: bool = True, loops: int = 1, fps: float = 30.0) -> None:
        files = sorted(DEMO_DIR.glob("*.jpg"))
        self.scenes = [self._fit(cv2.imread(str(f))) for f in files]
        if not self.scenes or any(s is None for s in self.scenes):
            raise SourceError(f"demo images missing or unreadable in {DEMO_DIR}: reinstall emojitui")
        self.scene_names = [f.stem for f in files]
        self.live, self.loops, self.fps = live, loops, fps
        self.index = 0
        self._started = time.monotonic()
        self._frames_per_scene = round(SCENE_SECONDS * fps)

    @staticmethod
    def _fit(image: np.ndarray | None) -> np.ndarray | None:
        if image is None:
            return None
        # the frame's full height, as a webcam's picture fills it; a wide scene's sides are cut off. Fitted
        # whole, the two-people photo's faces were too small for the detector at the default --detect-width
        scale = FRAME_SIZE[1] / image.shape[0]
        return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

    @property
    def total_frames(self) -> int:
        return self._frames_per_scene * len(self.scenes) * self.loops

    def render(self, index: int) -> np.ndarray:
        """Frame `index` of the loop: the scene, slowly zooming and drifting."""
        scene, step = divmod(index % (self._frames_per_scene * len(self.scenes)), self._frames_per_scene)
        image = self.scenes[scene]
        progress = step / self._frames_per_scene
        zoom = 1.0 + 0.08 * progress
        width, height = FRAME_SIZE
        drift = 12 * np.sin(2 * np.pi * progress)
        matrix = np.array(
            [
                [zoom, 0, (width - image.shape[1] * zoom) / 2 + drift],
                [0, zoom, (height - image.shape[0] * zoom) / 2],
            ],
            np.float32,
        )
        return cv2.warpAffine(image, matrix, FRAME_SIZE, flags=cv2.INTER_LINEAR, borderValue=(40, 36, 32))

    def scene_name(self, index: int) -> str:
        return self.scene_names[(index // self._frames_per_scene) % len(self.scenes)]

    def read(self) -> Frame | None:
        if self.live:
            due = self._started + self.index / self.fps
            delay = due - time.monotonic()
            if delay < -0.5:  # resumed after a pause (or a stall): carry on from now, no fast-forward
                self._started, delay = time.monotonic() - self.index / self.fps, 0.0
            if delay > 0:
                time.sleep(delay)
            now = time.monotonic()
        else:
            if self.index >= self.total_frames:
                return None
            now = self.index / self.fps
        frame = Frame(self.render(self.index), now, self.index)
        self.index += 1
        return frame

    def reopen(self) -> bool:
        return False

    def close(self) -> None:
        pass
