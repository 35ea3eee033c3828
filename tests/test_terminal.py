"""The TUI in a real terminal (a pseudo-terminal), where C libraries' own messages reach the screen."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import cv2
import numpy as np

from emojitui.shared.locations import DEMO_DIR as BUNDLED  # real faces shipped with the app
from tests.conftest import REPO

ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def crc_broken_png(path: Path) -> None:
    """A PNG that ends as a PNG should (so not caught as truncated) but whose image data fails its
    checksum: OpenCV gives up, and libpng writes "libpng error: IDAT: CRC error" to fd 2."""
    _, encoded = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))
    data = bytearray(encoded.tobytes())
    data[data.find(b"IDAT") + 8] ^= 0xFF
    path.write_bytes(bytes(data))


class Terminal:
    """`emojitui ARGS` (or `python -c CODE`) on a pseudo-terminal of `size`; `screen` is everything it
    drew, escapes removed."""

    def __init__(self, *args: str, size: tuple[int, int] = (100, 30), code: str | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", code] if code else [sys.executable, "-m", "emojitui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.raw = b""

    @property
    def screen(self) -> str:
        return ESCAPES.sub("", self.raw.decode("utf-8", "replace"))

    def read_until(self, text: str, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if text in self.screen:
                return True
            self._read(0.2)
        return text in self.screen

    def quit(self, seconds: float = 30.0) -> int:
        os.write(self.master, b"q")
        end = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < end:
            self._read(0.2)
        if self.process.poll() is None:
            self.process.kill()
        self._read(0.5)
        os.close(self.master)
        return self.process.wait(10)

    def _read(self, seconds: float) -> None:
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                self.raw += os.read(self.master, 65536)
            except OSError:  # the program has gone and closed its side
                time.sleep(seconds)


def test_a_damaged_image_in_a_slideshow_is_named_and_libpng_stays_off_the_screen(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    crc_broken_png(folder / "b.png")
    terminal = Terminal("--source", str(folder), "--no-history")
    try:
        # the slideshow holds each image 2 s: b.png's turn, then a.jpg again
        said = terminal.read_until("skipped", 60)
        terminal.read_until("a.jpg", 5)
    finally:
        code = terminal.quit()
    screen = terminal.screen
    assert said, screen[-2000:]
    assert "libpng" not in screen and "CRC error" not in screen, "a C library's message drawn over the app"
    assert code == 0, screen[-2000:]


CRASHING_APP = """
from textual.app import App
from emojitui.shared.native import screen_apart_from_native_stderr

class Crashing(App):
    def on_mount(self):
        raise RuntimeError("a bug of ours")

with screen_apart_from_native_stderr():
    Crashing().run()
"""


def test_a_crash_inside_the_tui_still_shows_its_traceback():
    """fd 2 points at /dev/null while the TUI runs: Textual's traceback, printed after its screen
    is gone, once went there too and a crash ended without a word."""
    terminal = Terminal(code=CRASHING_APP)
    terminal.read_until("a bug of ours", 30)
    terminal.quit(10)
    assert "RuntimeError" in terminal.screen and "a bug of ours" in terminal.screen, terminal.screen[-2000:]
