"""Errors the user can fix: shown as one line with a hint, never as a traceback."""


class UserError(Exception):
    """A problem with the user's input or machine; the message says what to do."""

    exit_code = 2
