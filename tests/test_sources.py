"""Sources and the capture thread, on real files written here."""

import os
import struct
import sys
import threading
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from emojitui.engine.faces import FaceDetector
from emojitui.shared.errors import UserError
from emojitui.sources import (
    CameraUnavailable,
    SourceError,
    VideoSource,
    open_source,
    parse_resolution,
    read_image,
)
from emojitui.sources.capture import LatestFrameCapture
from emojitui.sources.demo import DemoSource
from tests.conftest import write_video


def numbered_frames(count, size=(160, 120)):
    frames = []
    for n in range(count):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:, : (n + 1) * size[0] // count] = 200
        frames.append(frame)
    return frames


def test_video_plays_to_a_clean_end_with_media_time(tmp_path):
    source = open_source(str(write_video(tmp_path / "v.avi", numbered_frames(12), fps=24)))
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert len(frames) == 12
    assert frames[-1].time == pytest.approx(11 / 24)
    assert source.read() is None


def test_image_folder_and_demo_sources(tmp_path):
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), numbered_frames(1)[0])
    still = open_source(str(image), live_stills=False)
    assert still.read() is not None and still.read() is None
    folder = tmp_path / "folder"
    folder.mkdir()
    for n in range(3):
        cv2.imwrite(str(folder / f"{n}.jpg"), numbered_frames(3)[n])
    (folder / "notes.txt").write_text("not an image")
    (folder / "1b.jpg").write_bytes(b"not a jpeg either")  # found unreadable only when its turn comes
    source = open_source(str(folder), live_stills=False)
    assert [Path(name).name for name, _ in source.images[1:]] == ["1.jpg", "1b.jpg", "2.jpg"], "decoded when shown"
    shown = [frame.image[0, 0].tolist() for frame in iter(source.read, None)]
    assert len(shown) == 3 and [str(folder / "1b.jpg") in reason for reason in source.take_skipped()] == [True]
    assert source.take_skipped() == [], "each said once"
    assert [f.index for f in iter(open_source(str(folder), live_stills=False).read, None)] == [0, 1, 2]
    slideshow = open_source(str(folder), live_stills=True)
    assert len({slideshow.read().image.tobytes() for _ in range(int(3 * slideshow.hold * slideshow.fps) + 2)}) == 3
    demo = DemoSource(live=False)
    assert demo.read().image.shape == (480, 640, 3)
    assert demo.total_frames >= 30 * 3 * 5


def write_file(name, content: bytes):
    def make(folder):
        path = folder / name
        path.write_bytes(content)
        return path

    return make


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda folder: folder / "missing.mp4", "no such file"),
        (write_file("empty.jpg", b""), "empty"),
        (write_file("text.png", b"hello"), "not an image"),
        (write_file("notes.txt", b"hello"), "not a video"),
        (write_file("zero.mp4", b""), "empty"),
    ],
)
def test_bad_sources_are_one_line_errors(tmp_path, make, fragment):
    with pytest.raises(SourceError, match=fragment) as error:
        open_source(str(make(tmp_path)))
    assert "\n" not in str(error.value)


def test_truncated_video_plays_what_it_has_then_ends_cleanly(tmp_path):
    """A download cut in half (MJPG in AVI has no index to lose): the frames before the cut, then the end."""
    path = write_video(tmp_path / "v.avi", numbered_frames(30))
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    frames = list(iter(VideoSource(cut).read, None))
    assert 0 < len(frames) < 30
    assert [f.index for f in frames] == list(range(len(frames)))


def test_video_with_no_frames_is_an_error(tmp_path):
    header_only = tmp_path / "header.avi"
    header_only.write_bytes(write_video(tmp_path / "v.avi", numbered_frames(2)).read_bytes()[:300])
    with pytest.raises(SourceError, match="is not a video or image OpenCV can read") as error:
        open_source(str(header_only))
    assert str(header_only) in str(error.value) and "\n" not in str(error.value)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SourceError, match="no readable images"):
        open_source(str(tmp_path / "nothing"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder, so unreadable cannot be set up")
def test_unreadable_folder_is_an_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        with pytest.raises(SourceError, match="not readable"):
            open_source(str(folder))
    finally:
        folder.chmod(0o755)


def test_missing_camera_and_picamera_explain_themselves(monkeypatch):
    with pytest.raises(CameraUnavailable, match="no camera found at 97"):
        open_source("97")
    monkeypatch.setitem(sys.modules, "picamera2", None)  # not installed, even on a Pi that has it
    with pytest.raises(SourceError, match="picamera2 is not installed"):
        open_source("picamera")


def test_a_stable_camera_name_is_a_camera_and_shares_the_devices_lock(tmp_path):
    """/dev/v4l/by-id/... and udev links are character devices that read as empty files: they were
    refused as "empty (0 bytes)". /dev/null stands in for a camera device that gives no frames."""
    from emojitui.sources.cameras import _device_key

    link = tmp_path / "webcam"
    link.symlink_to("/dev/null")
    for spec in ("/dev/null", str(link)):
        with pytest.raises(CameraUnavailable, match=f"no camera found at {spec}"):
            open_source(spec)
    assert _device_key(str(link)) == _device_key("/dev/null") == "null", "one device, one lock"
    assert _device_key("/dev/video2") == _device_key(2) == "video2"


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an EXIF APP1 segment holding only the Orientation tag, as phone cameras write."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01" + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\x00" * 4
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_a_phone_photo_stored_sideways_is_turned_upright_by_its_exif_orientation(photos, tmp_path):
    upright = cv2.imread(str(photos / "obama_small.jpg"))
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # orientation 6: turn 90 degrees clockwise to view
    path = tmp_path / "phone.jpg"
    path.write_bytes(with_exif_orientation(cv2.imencode(".jpg", stored)[1].tobytes(), 6))
    image = read_image(path)
    assert image.shape == upright.shape
    assert len(FaceDetector().detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))) == 1


class FakePicamera2:
    """Stands in for picamera2.Picamera2 (not ours, and no Pi here); `fail_start` breaks start()."""

    fail_start = False
    opened: list = []  # every camera made, to check each was closed

    def __init__(self) -> None:
        self.closed = False
        FakePicamera2.opened.append(self)

    def create_video_configuration(self, main: dict) -> dict:
        return {"main": main}

    def configure(self, config: dict) -> None:
        self.size = config["main"]["size"]

    def start(self) -> None:
        if FakePicamera2.fail_start:
            raise RuntimeError("Camera __init__ sequence did not complete")

    def capture_array(self) -> np.ndarray:
        bgr = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        bgr[..., 2] = 255  # "RGB888" arrives as [B, G, R]: this frame is red
        return bgr

    def stop(self) -> None:
        raise RuntimeError("camera was not started")

    def close(self) -> None:
        self.closed = True


def test_pi_camera_frames_keep_their_colours_and_a_failed_start_releases_the_camera(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    FakePicamera2.opened, FakePicamera2.fail_start = [], False
    camera = open_source("picamera", resolution=(64, 48))
    frame = camera.read()
    assert frame is not None and frame.image.shape == (48, 64, 3)
    assert frame.image[0, 0].tolist() == [0, 0, 255], "red stays red in OpenCV's BGR"
    FakePicamera2.fail_start = True
    assert camera.reopen() is False
    assert all(c.closed for c in FakePicamera2.opened), "the old camera and the half-opened one are both closed"
    assert camera.read() is None
    camera.close()


def test_resolution_parsing():
    assert parse_resolution("640x480") == (640, 480)
    with pytest.raises(UserError, match="640x480"):
        parse_resolution("big")
    for nonsense in ("0x0", "-640x480", "640x99999"):
        with pytest.raises(UserError, match="from 1 to 16384"):
            parse_resolution(nonsense)


def test_a_superscript_digit_is_not_a_camera_index():
    with pytest.raises(SourceError, match="no such file, folder or camera"):
        open_source("²")  # str.isdigit says yes; int() would raise a traceback


class NumberedFeed:
    """A source producing numbered frames as fast as asked (the base of a flaky camera)."""

    name, live, fps = "feed", False, 1000.0

    def __init__(self, count):
        self.video = numbered_frames(count)
        self.index = 0

    def read(self):
        from emojitui.sources import Frame

        if self.index >= len(self.video):
            return None
        frame = Frame(self.video[self.index], self.index / self.fps, self.index)
        self.index += 1
        return frame

    def reopen(self):
        return False

    def close(self):
        pass


class GatedFeed(NumberedFeed):
    """Numbered frames, each read only when the test lets one through: capture steps without sleeps."""

    def __init__(self, count):
        super().__init__(count)
        self.gate = threading.Semaphore(0)
        self.reads = 0

    def read(self):
        self.reads += 1
        self.gate.acquire()
        return super().read()

    def let_through(self, frames: int) -> None:
        """Let `frames` reads return, then wait until the capture thread is back for the next (all published)."""
        self._wait_for_reads(1)  # the thread is inside its first read
        start = self.reads
        for _ in range(frames):
            self.gate.release()
        self._wait_for_reads(start + frames)
        assert self.reads == start + frames, "one read waiting at the gate, no more"

    def _wait_for_reads(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.reads < count and time.monotonic() < deadline:
            time.sleep(0.001)
        assert self.reads >= count, f"{self.reads} reads, expected {count}"


def test_capture_hands_over_the_newest_frame_and_counts_the_stale_ones():
    feed = GatedFeed(10)
    capture = LatestFrameCapture(feed, pace=False)
    capture.start()
    feed.let_through(4)
    assert capture.latest(timeout=1.0).index == 3, "the newest of four, not the oldest"
    assert capture.dropped == 3 and capture.latest(timeout=0.05) is None, "three never seen; nothing twice"
    feed.let_through(6)
    assert capture.latest(timeout=1.0).index == 9, "the last frame is not lost"
    assert capture.dropped == 8
    feed.gate.release()  # the end of the feed
    capture.stop()
    assert capture.ended


def test_capture_mirrors_and_pauses(tmp_path):
    left_bright = np.zeros((120, 160, 3), np.uint8)
    left_bright[:, :40] = 220
    source = VideoSource(write_video(tmp_path / "v.avi", [left_bright] * 10))
    capture = LatestFrameCapture(source, mirror=True, pace=False)
    capture.set_paused(True)
    capture.start()
    assert capture.latest(timeout=0.3) is None, "paused: nothing is read"
    capture.set_paused(False)
    frame = capture.latest(timeout=2.0)
    capture.stop()
    assert frame is not None
    assert frame.image[:, -1].mean() > frame.image[:, 0].mean(), "mirrored: the bright left edge is now on the right"


class FlakyCamera(NumberedFeed):
    """A live source that stops once, then comes back after two reopen attempts."""

    live = True

    def __init__(self):
        super().__init__(5)
        self.failed = False
        self.reopens = 0

    def read(self):
        if self.index == 2 and not self.failed:
            self.failed = True
            return None
        return super().read()

    def reopen(self):
        self.reopens += 1
        return self.reopens >= 2


def test_lost_camera_is_reported_and_reopened_with_backoff():
    messages = []
    camera = FlakyCamera()
    capture = LatestFrameCapture(camera, pace=False, on_status=messages.append)
    capture.start()
    deadline = time.monotonic() + 10  # the real back-off: 0.5 s, then 1.0 s
    while camera.index < 5 and time.monotonic() < deadline:
        capture.latest(timeout=0.1)
    capture.stop()
    assert camera.index == 5, "frames flowed again after the reconnection"
    assert messages[:3] == [
        "feed lost: reconnecting in 0.5s",
        "feed lost: reconnecting in 1.0s",
        "feed reconnected",
    ], "reported, retried with a doubling wait, then back"
