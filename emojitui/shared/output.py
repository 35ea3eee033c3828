"""Standard output, the one way results leave: a result that cannot be delivered (a full disk,
a closed or read-only stdout) is a one-line error and exit code 1, never a traceback or a
silent exit 0. A reader that left (`| head`) stays the quiet BrokenPipeError it always was."""

from __future__ import annotations

import contextlib
import os
import sys
import unicodedata

from emojitui.shared.errors import UserError


def terminal_safe(text: str) -> str:
    """`text` with each control character (C0 but tab, DEL, C1) and line separator written as an
    escape (`\\x1b`): a file name or a file's content is shown to the terminal, never obeyed by it,
    and a one-line message stays one line."""
    return "".join(
        char if char == "\t" or unicodedata.category(char) not in ("Cc", "Zl", "Zp") else ascii(char)[1:-1]
        for char in text
    )


class OutputError(UserError):
    """The result could not be written to standard output."""

    exit_code = 1


def write(text: str) -> None:
    """Write `text` to stdout and flush it, so a failure is seen here and not at exit."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`>&-`)
        raise OutputError("standard output is closed: the result cannot be printed (remove >&-)")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: the stream itself was closed
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"cannot write the result to standard output ({reason})") from None


def line(text: str) -> None:
    write(text + "\n")


def check_open() -> None:
    """Fail before any work when stdout is closed: nothing computed would reach the user."""
    if sys.stdout is None:
        raise OutputError("standard output is closed: the result cannot be printed (remove >&-)")


def abandon() -> None:
    """After a failed or broken stdout: point fd 1 at /dev/null so the exit flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
