"""Keeping native libraries quiet: OpenCV's AVI parser and LiteRT print to fd 2 directly, which
would break the promise of one-line errors and a clean terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Point fd 2 at /dev/null for the block (Python-level writes are unaffected by design)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def screen_apart_from_native_stderr() -> Iterator[None]:
    """While a Textual app draws on fd 2, keep native libraries' messages off its screen.

    libpng's "IDAT: CRC error" for a damaged image in a slideshow, FFmpeg's chatter, LiteRT's
    notices: C code writes them to fd 2 from any thread, which is where Textual draws. For the
    block Textual gets a duplicate of fd 2 (it writes to `sys.__stderr__`, read when it starts)
    and fd 2 itself points at /dev/null. Python's `sys.stderr` goes to the screen as well, so what
    Python prints there still shows: Textual captures it while it runs, and prints a crash's
    traceback to it after its screen is gone. fd 2 is back before anything is printed after the block.
    """
    try:
        screen_fd = os.dup(2)
    except OSError:
        yield
        return
    original, python_stderr = sys.__stderr__, sys.stderr
    encoding = getattr(original, "encoding", None) or "utf-8"
    screen = open(screen_fd, "w", encoding=encoding, errors="backslashreplace")  # noqa: SIM115 (closed below)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        sys.__stderr__ = sys.stderr = screen
        yield
    finally:
        sys.__stderr__, sys.stderr = original, python_stderr
        with contextlib.suppress(OSError, ValueError):
            screen.flush()
        os.dup2(screen_fd, 2)
        screen.close()
