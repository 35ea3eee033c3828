"""Errors the user can fix: shown as one line with a hint, never as a traceback."""


class UserError(Exception):
    """A problem with the user's input or machine; the message says what to do."""

    exit_code = 2


class NotWritten(UserError):
    """A file the disk or folder would not take (full, not a folder): exit 1, as for a full stdout;
    bad input is 2."""

    exit_code = 1
