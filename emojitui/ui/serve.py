"""`emojitui serve`: the same app in a web browser, through textual-serve.

Each browser tab starts its own `emojitui` process with the options given to `serve`; the page
is xterm.js talking to that process over a websocket. A camera is held by one process at a
time (`emojitui.sources.lock`), so a second tab shows a message instead of the camera.
"""

from __future__ import annotations

import logging

from textual_serve.server import Server

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class AppServer(Server):
    """textual-serve's server, saying in one line where it serves, without its banner."""

    def initialize_logging(self) -> None:
        super().initialize_logging()
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # not one line per page load

    async def on_startup(self, app) -> None:
        print(f"emojitui: serving on {self.public_url} (Ctrl+C to stop)", flush=True)


def serve(command: str, host: str, port: int, public_url: str) -> None:
    """Serve `command` (an `emojitui` command line) until Ctrl+C or SIGTERM."""
    AppServer(command, host=host, port=port, title="emojitui", public_url=public_url).serve()
