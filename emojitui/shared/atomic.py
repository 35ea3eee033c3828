"""Atomic file writes: a reader (or a killed process) never leaves half a file behind."""

from __future__ import annotations

import errno
import itertools
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

# Read once at import: os.umask can only be read by setting it, which is not safe while threads write.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def file_mode() -> int:
    """The permissions open() would give a new file under this process's umask."""
    return 0o666 & ~_UMASK


def _written_temporary(path: Path, data: bytes) -> str:
    """`data` in a new hidden file beside `path`, synced to disk, with the permissions open() would give."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; give what open() would, so a strict umask holds
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over `path`."""
    tmp = _written_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_new(paths: Iterable[Path], data: bytes) -> Path:
    """Write `data` under the first of `paths` (all in one folder) that no file has, and return it;
    nothing is ever replaced. The file appears whole or not at all: a hard link to a written
    temporary file, which fails if the name is taken meanwhile. Where the filesystem has no hard
    links (FAT on a USB stick or SD card, some FUSE and SMB mounts), the name is reserved empty
    (O_EXCL) and the temporary renamed over it, so only a kill in between leaves an empty file."""
    paths = iter(paths)
    first = next(paths)
    tmp = _written_temporary(first, data)
    try:
        for path in itertools.chain([first], paths):
            try:
                if not _linked(tmp, path):
                    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode()))
                    os.replace(tmp, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"every name in {first.parent} is taken")
    finally:
        Path(tmp).unlink(missing_ok=True)


NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _linked(tmp: str, path: Path) -> bool:
    """Name `tmp`'s file `path` too: True, or False where the filesystem has no hard links
    (FileExistsError when the name is taken)."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:  # FileExistsError (EEXIST) among the rest
            raise
        return False
    return True
