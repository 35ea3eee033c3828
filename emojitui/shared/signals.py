"""The signals that end a run the way `q` or Ctrl-C does, so the session summary is still written."""

from __future__ import annotations

import signal

# `kill` and an SSH hangup. SIGHUP does not exist on Windows, so only the ones this platform has.
QUIT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
