"""`emojitui serve`: the same app in a web browser, through textual-serve.

Each browser tab starts its own `emojitui` process with the options given to `serve`; the page
is xterm.js talking to that process over a websocket. A camera is held by one process at a
time (`emojitui.sources.lock`), so a second tab shows a message instead of the camera.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import tempfile
from asyncio.base_subprocess import BaseSubprocessTransport
from pathlib import Path

import textual_serve
from textual_serve.server import Server

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


# textual-serve's page links a web font from Google: the page would reach out to the internet
# each time it loads. Without it, the terminal uses the browser's own monospace font.
REMOTE_STYLESHEET = re.compile(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>", re.DOTALL)


def local_templates(folder: Path) -> Path:
    """textual-serve's templates copied into `folder` with every link to another host removed."""
    for template in (Path(textual_serve.__file__).parent / "templates").glob("*.html"):
        (folder / template.name).write_text(REMOTE_STYLESHEET.sub("", template.read_text(encoding="utf-8")))
    return folder


class AppServer(Server):
    """textual-serve's server, saying in one line where it serves, without its banner, and with a
    page that loads nothing from other hosts."""

    def __init__(self, *args, **kwargs) -> None:
        self._templates = tempfile.TemporaryDirectory(prefix="emojitui-serve-")  # removed with the server
        super().__init__(*args, templates_path=local_templates(Path(self._templates.name)), **kwargs)

    def initialize_logging(self) -> None:
        super().initialize_logging()
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # not one line per page load

    async def on_startup(self, app) -> None:
        print(f"emojitui: serving on {self.public_url} (Ctrl+C to stop)", flush=True)

    async def _make_app(self):
        app = await super()._make_app()
        app.on_cleanup.append(finish_app_processes)  # after the tabs' connections have closed
        return app


async def finish_app_processes(app=None, seconds: float = 10.0) -> None:
    """Wait for each tab's app process to exit and close its pipes while the event loop still runs.

    textual-serve asks a tab's app to quit and reads its output to the end, but neither waits for
    the process nor closes the pipes; the garbage collector then frees them after the loop has
    closed, which prints a traceback ("Event loop is closed") when the server stops.
    """
    loop = asyncio.get_running_loop()
    transports = [
        o for o in gc.get_objects() if isinstance(o, BaseSubprocessTransport) and o._loop is loop and not o.is_closing()
    ]
    deadline = loop.time() + seconds
    for transport in transports:  # only this loop's: another loop's may name a pid since reused
        if await _returncode(transport, deadline) is None:
            transport.kill()
            # close() polls a running child itself, racing asyncio's watcher for its exit status
            # (which then reports 255): let the watcher reap the killed child first.
            await _returncode(transport, loop.time() + 1.0)
        transport.close()
    await asyncio.sleep(0)  # let the pipes' close callbacks run


async def _returncode(transport: BaseSubprocessTransport, deadline: float) -> int | None:
    """The process's exit status once asyncio has read it, or None if that has not happened by `deadline`."""
    while transport.get_returncode() is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    return transport.get_returncode()


def serve(command: str, host: str, port: int, public_url: str) -> None:
    """Serve `command` (an `emojitui` command line) until Ctrl+C or SIGTERM."""
    AppServer(command, host=host, port=port, title="emojitui", public_url=public_url).serve()
