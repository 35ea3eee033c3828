"""File sources: a video, a still image, a folder of images (decoded one at a time)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emojitui.shared.native import quiet_native_stderr
from emojitui.shared.output import error_line
from emojitui.sources.base import Frame, SourceError, missing_path, path_exists, shown

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Grey, BGRA or 16-bit images as 8-bit BGR."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def read_image(path: Path) -> np.ndarray:
    """Decode an image file to BGR, with one-line errors for each way it can be bad; the native
    decoders' own messages (`libpng error: ...`) silenced, the error says it instead."""
    if not path_exists(path, str(path)):
        raise missing_path(path, str(path), "no such file (check the path)")
    if path.is_dir():
        raise SourceError(f"{path} is a folder: pass it as --source to read its images")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror}): check its permissions") from None
    if not data:
        raise SourceError(f"{path} is empty (0 bytes): pass an image file")
    # IMREAD_UNCHANGED would ignore EXIF orientation (phone photos come out sideways, faces unfound);
    # colour + any depth applies it and keeps 16-bit images, dropping alpha as to_bgr would.
    if data.startswith(PNG_SIGNATURE) and not data.endswith(PNG_END):
        raise SourceError(f"{path} is a truncated PNG (it ends before its last chunk): pass a complete image")
    with quiet_native_stderr():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if image is None:
        raise SourceError(f"{path} is not an image OpenCV can read: pass a whole JPEG, PNG, BMP, WebP or TIFF file")
    return to_bgr(image)


class StillSource:
    """One or more still images; `hold` seconds each when live, else each image once.

    Images are given decoded or as paths decoded when shown (one kept at a time): a folder of
    500 phone photos would otherwise need gigabytes before the first frame. A file that turns
    out unreadable when its turn comes is dropped, its one-line reason kept in `skipped` for the
    app to say (`take_skipped`): a slideshow that quietly loses a photo looks like a bug.
    """

    live = False

    def __init__(
        self, images: list[tuple[str, np.ndarray | Path]], name: str, hold: float | None = None, fps: float = 15.0
    ):
        self.images, self.name, self.hold, self.fps = images, name, hold, fps
        self.index = 0
        self.current_name = images[0][0]
        self.skipped: list[str] = []
        self._said = 0
        self._decoded: tuple[int, np.ndarray] | None = None
        self._still, self._shown_position = -1, -1  # a new still number each time another image shows

    def read(self) -> Frame | None:
        while self.images:
            if self.hold is None:
                if self.index >= len(self.images):
                    return None
                position = self.index
            else:
                position = int(self.index / (self.hold * self.fps)) % len(self.images)
            try:
                image = self._image(position)
            except SourceError as exc:
                self.images.pop(position)
                self.skipped.append(str(exc))
                self._decoded, self._shown_position = None, -1  # positions shifted: the next one shown is new
                continue
            self.current_name = self.images[position][0]
            if position != self._shown_position or self.hold is None:
                self._still, self._shown_position = self._still + 1, position
            frame = Frame(image, self.index / self.fps, self.index, still=self._still)
            self.index += 1
            return frame
        return None

    def take_skipped(self) -> list[str]:
        """The reasons for images dropped since the last call (the capture thread appends them)."""
        taken = self.skipped[self._said :]
        self._said += len(taken)
        return taken

    def _image(self, position: int) -> np.ndarray:
        image = self.images[position][1]
        if isinstance(image, np.ndarray):
            return image
        if self._decoded is None or self._decoded[0] != position:
            self._decoded = (position, read_image(image))
        return self._decoded[1]

    def reopen(self) -> bool:
        return False

    def close(self) -> None:
        pass


def take_skipped(source: object) -> list[str]:
    """The reasons for images a slideshow dropped since last asked; none for other sources."""
    return source.take_skipped() if isinstance(source, StillSource) else []


def open_folder(path: Path, hold: float | None) -> StillSource:
    """The folder's images in name order; the first readable one is checked now, the rest when shown."""
    try:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the folder ({exc.strerror})") from None
    skipped: list[str] = []  # said once a readable image is found; otherwise the one error says it
    for index, file in enumerate(files):
        try:
            first = read_image(file)
        except SourceError as exc:
            skipped.append(str(exc))
            continue
        for reason in skipped:
            error_line(f"skipping {reason}")
        images: list[tuple[str, np.ndarray | Path]] = [(str(file), first)]
        return StillSource(images + [(str(f), f) for f in files[index + 1 :]], str(path), hold)
    unreadable = f" ({len(skipped)} unreadable: {skipped[0]}{', ...' if len(skipped) > 1 else ''})" if skipped else ""
    raise SourceError(
        f"{shown(str(path))}: no readable images in this folder{unreadable}: add JPEG, PNG, BMP, WebP or TIFF "
        "images, or pass a video, a camera index or demo"
    )


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
            raise SourceError(
                f"{path} is not a video or image OpenCV can read: pass a video (MP4, AVI, MKV, WebM) or an image"
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))  # the container's claim; 0: unknown
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
