"""One camera user at a time: a lock file per camera, held with `flock` by the process using it.

The kernel drops the lock when the process ends, however it ends, so a crash leaves no stale
lock. A second emojitui (another terminal, another browser tab of `emojitui serve`) finds the
camera taken and says so instead of opening a second handle on the device.
"""

from __future__ import annotations

import os
import re

from emojitui.shared import locations
from emojitui.sources.base import SourceError

try:
    import fcntl
except ImportError:  # not on Windows: no lock there, the device itself decides
    fcntl = None  # type: ignore[assignment]


class CameraBusy(SourceError):
    """Another emojitui process holds this camera."""


class CameraLock:
    """Held from construction until `release()` or the end of the process."""

    def __init__(self, key: str, camera: str) -> None:
        """`key` names the device (`video0`, `picamera`); `camera` is how messages name it."""
        self._fd: int | None = None
        if fcntl is None:
            return
        path = locations.lock_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # no writable lock folder: run unguarded rather than not at all
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 16, 0).decode("ascii", "replace").strip()
            os.close(fd)
            holder = f"emojitui (process {owner})" if owner.isdigit() else "another emojitui"
            raise CameraBusy(
                f"{camera} is in use by {holder}: one camera user at a time. Close the other session "
                "(another browser tab or terminal) and try again, or use --source demo"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock
