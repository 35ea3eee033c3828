"""Standard output, the one way results leave: a result that cannot be delivered (a full disk,
a closed or read-only stdout) is a one-line error and exit code 1, never a traceback or a
silent exit 0. A reader that left (`| head`) stays the quiet BrokenPipeError it always was."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import unicodedata

from emojitui.shared.errors import UserError

_UNSAFE = ("Cc", "Zl", "Zp", "Cs")  # controls, line separators, and lone surrogates (undecodable file names)
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")  # what json.dumps(ensure_ascii=False) leaves


def terminal_safe(text: str) -> str:
    """`text` with each control character (C0 but tab, DEL, C1), line separator and lone surrogate
    written as an escape (`\\x1b`): a file name or a file's content is shown to the terminal, never
    obeyed by it, and a one-line message stays one line."""
    return "".join(
        char if char == "\t" or unicodedata.category(char) not in _UNSAFE else ascii(char)[1:-1] for char in text
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
    """One line, or several joined by newlines, each made `terminal_safe`."""
    write("\n".join(terminal_safe(part) for part in text.split("\n")) + "\n")


def json_line(payload: object) -> None:
    """`payload` as one JSON line, emoji as they are; the characters JSON leaves raw (DEL, C1, line
    separators, lone surrogates) as \\u escapes, so the line is valid JSON and safe on a terminal."""
    text = json.dumps(payload, ensure_ascii=False)
    write(_JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n")


def error_line(text: str) -> None:
    """A message on stderr, made `terminal_safe`."""
    print(terminal_safe(text), file=sys.stderr, flush=True)


def check_open() -> None:
    """Fail before any work when stdout is closed: nothing computed would reach the user."""
    if sys.stdout is None:
        raise OutputError("standard output is closed: the result cannot be printed (remove >&-)")


def abandon() -> None:
    """After a failed or broken stdout: point fd 1 at /dev/null so the exit flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
