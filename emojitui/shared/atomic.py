"""Atomic file writes: a reader (or a killed process) never leaves half a file behind."""

from __future__ import annotations

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
    """Write `data` under the first of `paths` (all in one folder) that no file has, and return it:
    the file appears whole or not at all (a hard link to a written temporary file, which fails if
    the name is taken meanwhile), and nothing is ever replaced."""
    paths = iter(paths)
    first = next(paths)
    tmp = _written_temporary(first, data)
    try:
        for path in itertools.chain([first], paths):
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"every name in {first.parent} is taken")
    finally:
        Path(tmp).unlink(missing_ok=True)
