"""`emojitui serve`: the same app in a web browser, through textual-serve.

Each browser tab starts its own `emojitui` process with the options given to `serve`; the page
is xterm.js talking to that process over a websocket. A camera is held by one process at a
time (`emojitui.sources.lock`), so a second tab shows a message instead of the camera.

Browsers let any web page open a websocket to 127.0.0.1, and textual-serve checks nothing, so a
site visited while `serve` runs could start the app and read the camera's picture. The websocket
is therefore refused unless the browser says (`Origin`) the page is this server's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
import signal
import sys
import tempfile
from asyncio.base_subprocess import BaseSubprocessTransport
from pathlib import Path
from urllib.parse import urlsplit

import textual_serve
from aiohttp import web
from textual_serve.server import Server

from emojitui.shared.output import terminal_safe

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


# textual-serve's page links a web font from Google: the page would reach out to the internet
# each time it loads. Without it, the terminal uses the browser's own monospace font.
REMOTE_STYLESHEET = re.compile(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>", re.DOTALL)


def local_templates(folder: Path) -> Path:
    """textual-serve's templates copied into `folder` with every link to another host removed."""
    for template in (Path(textual_serve.__file__).parent / "templates").glob("*.html"):
        (folder / template.name).write_text(REMOTE_STYLESHEET.sub("", template.read_text(encoding="utf-8")))
    return folder


def origin_allowed(origin: str | None, host: str | None, public_url: str, everywhere: bool = False) -> bool:
    """Whether a websocket from a page of `origin` (the browser's `Origin` header) may start the app,
    asked of `host` (the request's `Host`): the page is `public_url`'s, or it is this server's own
    page under a name of this machine (localhost, 127.0.0.1 or ::1 for both, same scheme and port,
    so a site cannot pose as it by pointing its own name at 127.0.0.1), or under any name when
    `everywhere` (listening beyond this machine, which already lets anyone on the network in) and
    the same as `host`. No Origin, `null` or a malformed one: refused."""
    page = _origin_of(origin or "")
    if page is None:
        return False
    if page == _origin_of(public_url):
        return True
    asked = _origin_of(f"{page[0]}://{host}") if host else None
    if asked is None:
        return False
    if page[1] in LOCAL_HOSTS and asked[1] in LOCAL_HOSTS:  # localhost, 127.0.0.1 and ::1 are one machine
        return page[0::2] == asked[0::2]
    return everywhere and page == asked


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in, or None when `url` has none."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # "http://[::1", a port out of range
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


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

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.headers.get("Host"), self.public_url, self.host not in LOCAL_HOSTS):
            print(
                f"emojitui: refused a connection from {terminal_safe(origin or 'a client with no Origin')}: "
                f"open {self.public_url}, or pass --public-url with the address browsers use",
                file=sys.stderr,
                flush=True,
            )
            raise web.HTTPForbidden(text=f"emojitui serves only its own page: open {self.public_url}")
        return await super().handle_websocket(request)

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
    # Only this loop's transports: another loop's (a closed one's) may name a pid since reused.
    transports = [
        o for o in gc.get_objects() if isinstance(o, BaseSubprocessTransport) and o._loop is loop and not o.is_closing()
    ]
    deadline = loop.time() + seconds
    for transport in transports:
        await _exited(transport, deadline)
    overdue = [transport for transport in transports if transport.get_returncode() is None]
    for transport in overdue:
        # Not transport.kill() or close() on a running child: both poll it first and can take its
        # exit status from asyncio's watcher, which then reports 255. An exited child keeps its pid
        # until the watcher reaps it, so the signal cannot reach another process.
        with contextlib.suppress(ProcessLookupError):
            os.kill(transport.get_pid(), signal.SIGKILL)
    grace = loop.time() + 1.0
    for transport in transports:
        await _exited(transport, grace)
        transport.close()
    await asyncio.sleep(0)  # let the pipes' close callbacks run


async def _exited(transport: BaseSubprocessTransport, deadline: float) -> None:
    """Wait until asyncio has read the process's exit status, or until `deadline` (loop time)."""
    while transport.get_returncode() is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


def serve(command: str, host: str, port: int, public_url: str) -> None:
    """Serve `command` (an `emojitui` command line) until Ctrl+C or SIGTERM."""
    AppServer(command, host=host, port=port, title="emojitui", public_url=public_url).serve()
