"""`emojitui render`: a video, a folder of images or a camera in; a video or GIF out, with every
face covered by its emoji exactly as snapshots draw it (`emojitui.session.overlay.draw_faces`).

Frames go through the API's `Analyzer.session_frames` (a Session: tracking and the app's
smoothing, so labels do not flicker). The output is written to a hidden temporary file in the
output's folder and renamed over the output name only when complete: Ctrl-C, a kill or an error
leaves no half file under that name. Audio is not copied.

Formats, by the output's suffix (what the installed OpenCV can write, checked in the tests):
- `.mp4`: MPEG-4 Part 2 (`mp4v`); plays in VLC, mpv, QuickTime and most desktop players, not in
  web browsers.
- `.webm`: VP9; plays in web browsers (Chrome, Firefox, Edge, Safari 14.1+) and VLC.
- `.gif`: animated GIF (OpenCV's own encoder), loops forever, plays everywhere; all frames are
  held in memory until the end, so keep GIFs short and small (`--width 320`).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from emojitui.api import Analyzer
from emojitui.session.overlay import draw_faces
from emojitui.shared.atomic import file_mode
from emojitui.shared.errors import NotWritten, UserError
from emojitui.shared.native import quiet_native_stderr
from emojitui.shared.output import error_line, terminal_safe
from emojitui.sources import Frame, FrameSource, StillSource

VIDEO_CODECS = {".mp4": ("mp4v",), ".webm": ("VP90", "VP80")}
FORMATS = (*VIDEO_CODECS, ".gif")
FOLDER_HOLD_S = 1.0  # each image of a folder is shown this long (its faces settle, as in the app's slideshow)
FOLDER_FPS = 15.0


@dataclass(frozen=True, slots=True)
class RenderSummary:
    output: Path
    frames: int
    size: tuple[int, int]
    fps: float
    faces_seen: int  # frames with at least one face
    labels: dict[str, float]  # share of face-frames per shown label
    seconds: float  # wall time taken

    def to_text(self) -> str:
        width, height = self.size
        shares = ", ".join(f"{name} {share * 100:.0f}%" for name, share in self.labels.items()) or "no faces"
        speed = self.frames / self.seconds if self.seconds else 0.0
        return (
            f"wrote {self.output}: {self.frames} frames, {width}x{height} at {self.fps:g} fps "
            f"({self.frames / self.fps:.1f} s of video), faces in {self.faces_seen} frames ({shares}); "
            f"took {self.seconds:.1f} s ({speed:.1f} fps)"
        )


class _FpsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:5.1f} fps" if speed else "  --- fps", style="progress.data.speed")


class HeldStills:
    """A folder's images, each repeated for `hold` seconds at `fps`, once through: a finite slideshow."""

    live = False

    def __init__(self, stills: StillSource, hold: float = FOLDER_HOLD_S, fps: float = FOLDER_FPS) -> None:
        self.stills, self.name, self.fps = stills, stills.name, fps
        self.repeat = max(1, round(hold * fps))
        self.frame_count = len(stills.images) * self.repeat
        self._current: np.ndarray | None = None
        self._still: int | None = None
        self._index = 0

    def read(self) -> Frame | None:
        if self._index % self.repeat == 0:
            frame = self.stills.read()
            if frame is None:
                return None
            self._current, self._still = frame.image, frame.still
        assert self._current is not None
        frame = Frame(self._current, self._index / self.fps, self._index, still=self._still)
        self._index += 1
        return frame

    def reopen(self) -> bool:
        return False

    def close(self) -> None:
        self.stills.close()


def output_size(frame_size: tuple[int, int], width: int | None) -> tuple[int, int]:
    """The input's size, or `width` wide with its aspect kept; even sides (video codecs want them)."""
    in_width, in_height = frame_size
    if width is None:
        out_width, out_height = in_width, in_height
    else:
        out_width, out_height = width, max(2, round(in_height * width / in_width))
    return max(2, out_width - out_width % 2), max(2, out_height - out_height % 2)


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` at `size`: scaled when only the size differs, letterboxed when the aspect does too."""
    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    scale = min(size[0] / width, size[1] / height)
    resized = cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    if resized.shape[1] == size[0] and resized.shape[0] == size[1]:
        return resized
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    top, left = (size[1] - resized.shape[0]) // 2, (size[0] - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def check_output(path: Path) -> None:
    """Fail now, before any work, when `path` cannot be written: one line that says why."""
    if path.is_dir():
        raise UserError(f"{path} is a folder: pass a file name ending in .mp4, .webm or .gif")
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"{path}: the output must end in .mp4, .webm or .gif")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise UserError(f"cannot write {path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: the folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path}: the folder {folder} is not writable")


class _Output:
    """The output file, written under a temporary name in its folder and renamed at the end."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path, self.fps, self.size = path, fps, size
        self.suffix = path.suffix.lower()
        check_output(path)
        try:
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=self.suffix, dir=path.parent)
        except OSError as exc:
            raise UserError(f"cannot write {path} ({exc.strerror}): choose another output folder") from None
        os.close(handle)
        self.temporary = Path(temporary)
        self.frames: list[np.ndarray] = []
        self.written = 0
        self.writer: cv2.VideoWriter | None = None
        if self.suffix in VIDEO_CODECS:
            try:
                self.writer = self._open_writer()
            except BaseException:
                self.discard()
                raise

    def _open_writer(self) -> cv2.VideoWriter:
        for codec in VIDEO_CODECS[self.suffix]:
            with quiet_native_stderr():  # FFmpeg's "tag ... not supported, fallback" chatter
                writer = cv2.VideoWriter(str(self.temporary), cv2.VideoWriter_fourcc(*codec), self.fps, self.size)
            if writer.isOpened():
                return writer
        raise UserError(f"this OpenCV cannot write {self.suffix} video: use .mp4 or .gif")

    def write(self, image: np.ndarray) -> None:
        if self.writer is not None:
            self.writer.write(image)
        else:
            self.frames.append(image)
        self.written += 1

    def finish(self) -> None:
        """Close the file, check it reads back whole, and rename it over the output name."""
        if self.writer is not None:
            self.writer.release()
        else:
            animation = cv2.Animation()
            animation.frames = self.frames
            animation.durations = [max(10, round(1000 / self.fps))] * len(self.frames)
            animation.loop_count = 0  # forever
            with quiet_native_stderr():
                ok = cv2.imwriteanimation(str(self.temporary), animation)
            self.frames = []
            if not ok:
                raise NotWritten(f"could not write {self.path} as GIF (the disk may be full): free some space")
        if self._frames_readable() < self.written:
            raise NotWritten(f"could not write all of {self.path} (the disk may be full): free some space")
        os.chmod(self.temporary, file_mode())  # mkstemp makes 0600; give what open() would
        os.replace(self.temporary, self.path)

    def _frames_readable(self) -> int:
        """How many frames the written file gives back: OpenCV's writers drop a failed write (a full
        disk, a file-size limit) without a word, and the file is then cut short or unreadable."""
        with quiet_native_stderr():  # FFmpeg's own complaint about a broken file
            capture = cv2.VideoCapture(str(self.temporary))
            try:
                count = 0
                while capture.isOpened() and capture.grab():
                    count += 1
                return count
            finally:
                capture.release()

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.release()
        self.frames = []
        self.temporary.unlink(missing_ok=True)


def render(
    source: FrameSource,
    analyzer: Analyzer,
    output: Path,
    *,
    width: int | None = None,
    labels: bool = True,
    seconds: float | None = None,
    mirror: bool | None = None,
    progress: bool = True,
) -> RenderSummary:
    """Render `source` with emoji over the faces to `output`; nothing appears under that name unless complete."""
    try:
        check_output(output)
    except UserError:
        source.close()
        raise
    if isinstance(source, StillSource):
        source = HeldStills(source)
    if source.live and not seconds:
        source.close()
        raise UserError(f"{source.name} is a camera: pass --seconds N to say how long to record")
    fps = float(source.fps) if source.fps and source.fps > 0 else 30.0
    total = round(seconds * fps) if seconds else getattr(source, "frame_count", 0) or getattr(source, "total_frames", 0)
    steps = analyzer.session_frames(source, mirror=mirror)
    out: _Output | None = None
    started = time.perf_counter()
    written, faces_seen, shown = 0, 0, Counter()
    bar = Progress(
        TextColumn("{task.description}", style="progress.description", markup=False),  # a file name is no markup
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        _FpsColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not progress,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    try:
        with bar:
            task = bar.add_task(terminal_safe(f"rendering {output.name}"), total=total or None)
            first_time: float | None = None
            picture: np.ndarray | None = None
            for step in steps:
                frame = step.frame
                first_time = frame.time if first_time is None else first_time
                elapsed = frame.time - first_time
                if seconds and elapsed >= seconds:
                    break
                if out is None:
                    out = _Output(output, fps, output_size((frame.image.shape[1], frame.image.shape[0]), width))
                picture = _fit(draw_faces(frame.image, step.faces, emojify=True, annotate=labels), out.size)
                # A live camera keeps real time: a frame is written as often as the clock says (0 when behind).
                copies = max(0, min(round(elapsed * fps) + 1, total) - written) if source.live else 1
                for _ in range(copies):
                    out.write(picture)
                written += copies
                if step.faces:
                    faces_seen += copies
                    shown.update(f.label for f in step.faces for _ in range(copies))
                bar.update(task, completed=written)
            if out is None:
                raise UserError(f"{source.name}: no frames to render")
            if source.live and seconds and picture is not None:  # the clock ran on past the last frame processed
                for _ in range(max(0, round(seconds * fps) - written)):
                    out.write(picture)
                    written += 1
            out.finish()
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        steps.close()
    total_faces = sum(shown.values())
    return RenderSummary(
        output,
        written,
        out.size,
        fps,
        faces_seen,
        {name: count / total_faces for name, count in shown.most_common()},
        time.perf_counter() - started,
    )


def print_summary(summary: RenderSummary) -> None:
    error_line(summary.to_text())
