"""CPU use of the whole app on the live demo source (30 fps), in a real terminal (tmux), and what a
preview picture costs the UI thread.

Usage: python -m bench.cpu_use [SECONDS] [APP OPTIONS]  -> prints {"seconds": S, "cpu_cores": C, "status": ...}
       python -m bench.cpu_use graphics [SECONDS] [ROUNDS]  -> the whole app with the preview as half-blocks, sixel
           and kitty pictures (`--graphics`), in turn ROUNDS times (default 1), so a busy machine weighs on each alike
       python -m bench.cpu_use pictures  -> the UI thread's CPU per preview picture, each mode, at 10x20- and
           16x32-pixel cells

Both graphics runs need the graphics extra (Python 3.12+). tmux shows neither kind of picture, but
the app encodes and writes each one all the same. The whole app's figure is only as good as the
CPU the machine gives it: where it is starved, the preview's adaptive rate (`emojitui.ui.graphics`)
draws fewer pictures. The CPU per picture does not depend on that: it is measured in-process, the
preview alone at the 120x40 layout's 80x30 cells, under Textual's test driver (which renders, then
discards the output), every picture drawn.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRAPHICS = ("off", "sixel", "kitty")
CELLS = ((10, 20), (16, 32))  # pixels a cell: textual-image's default, and a HiDPI terminal (tmux answered this here)
PICTURES = 6
START_TIMEOUT = 30.0  # seconds for the app to show its first frames


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process and its threads, or of one of its threads, from /proc."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(seconds: float, options: list[str]) -> dict:
    """The app with `options` in a 120x40 tmux terminal: its CPU cores over `seconds` once it shows frames."""
    # a tmux server of its own each time, its socket in a folder removed after: no race with other users,
    # nor with the last server as it exits
    with tempfile.TemporaryDirectory(prefix="emojitui-cpu-") as folder:
        tmux = ["tmux", "-S", str(Path(folder) / "tmux")]
        command = f"{sys.executable} -m emojitui --source demo --no-history {' '.join(options)}"
        subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", command], check=True, cwd=REPO)
        try:
            deadline = time.monotonic() + START_TIMEOUT  # start-up: imports, model, first frames (slow when busy)
            while _fps(status := _status(tmux)) == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
            pid = int(subprocess.check_output([*tmux, "list-panes", "-F", "#{pane_pid}"]).split()[0])
            written = Path(folder) / "written"  # what the app sends the terminal (over SSH, the network)
            subprocess.run([*tmux, "pipe-pane", "-o", f"cat > {written}"], check=True)
            start_cpu, start_ui, start = cpu_seconds(pid), cpu_seconds(pid, pid), time.monotonic()
            time.sleep(seconds)
            used, ui = cpu_seconds(pid) - start_cpu, cpu_seconds(pid, pid) - start_ui
            elapsed = time.monotonic() - start
            subprocess.run([*tmux, "pipe-pane"], check=True)
            sent = written.stat().st_size if written.is_file() else 0
            status = _status(tmux)
        finally:
            subprocess.run([*tmux, "kill-server"], check=False)
    return {
        "seconds": round(elapsed, 1),
        "cpu_cores": round(used / elapsed, 3),
        "ui_thread_cores": round(ui / elapsed, 3),  # the main thread: Textual and every panel
        "terminal_kib_per_s": round(sent / elapsed / 1024, 1),
        "status": status,
    }


def _status(tmux: list[str]) -> str:
    """The app's status bar ("demo · 29.8 fps · ..."), or "" before it shows."""
    screen = subprocess.check_output([*tmux, "capture-pane", "-p"], text=True)
    return next((line.strip() for line in screen.splitlines() if " fps " in line), "")


def _fps(status: str) -> float:
    found = re.search(r"([\d.]+) fps", status)
    return float(found.group(1)) if found else 0.0


def graphics(seconds: float, rounds: int) -> dict:
    """Each preview mode in turn, `rounds` times: every run, and each mode's mean."""
    if sys.version_info < (3, 12) or importlib.util.find_spec("textual_image") is None:
        return {"skipped": "needs the graphics extra on Python 3.12+: pip install -e '.[graphics]'"}
    runs: dict[str, list[dict]] = {mode: [] for mode in GRAPHICS}
    for _ in range(rounds):
        for mode in GRAPHICS:
            # the tier pinned: `auto` times the model at start-up, and a busy moment would change it between runs
            runs[mode].append(measure(seconds, ["--model", "accurate", "--graphics", mode]))
    mean = {mode: round(sum(r["cpu_cores"] for r in runs[mode]) / rounds, 3) for mode in GRAPHICS}
    return {"cpu_cores_mean": mean, "runs": runs}


def pictures() -> dict:
    """Milliseconds of UI-thread CPU per preview picture, each mode, at each of CELLS."""
    if sys.version_info < (3, 12) or importlib.util.find_spec("textual_image") is None:
        return {"skipped": "needs the graphics extra on Python 3.12+: pip install -e '.[graphics]'"}
    out = {}
    for width, height in CELLS:
        result = subprocess.run(
            [sys.executable, "-m", "bench.cpu_use", "pictures-here"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "TEXTUAL_CELL_WIDTH": str(width), "TEXTUAL_CELL_HEIGHT": str(height)},
        )  # a process per cell size: textual-image asks (or reads) it once; stdout is no terminal, so it reads these
        out[f"{width}x{height}"] = json.loads(result.stdout) if result.returncode == 0 else result.stderr
    return out


def pictures_here() -> dict:
    """`pictures` at this process's cell size: the preview alone, in-process, every picture drawn."""
    import asyncio

    with _stdout_discarded():  # kitty's pictures go to the terminal directly (sys.__stdout__): not into this report
        return asyncio.run(_pictures())


async def _pictures() -> dict:
    from textual.app import App, ComposeResult

    from emojitui.sources.demo import DemoSource
    from emojitui.ui.graphics import GraphicsPreview
    from emojitui.ui.layout import preview_size
    from emojitui.ui.widgets.preview import Preview

    source = DemoSource(live=False)
    frames = [source.read().image for _ in range(5 * PICTURES)][::5]  # the face moves between them
    columns, rows = preview_size(120, 40, 4 / 3)

    class PreviewOnly(App):
        CSS = f"Preview {{ width: {columns}; height: {rows}; border: round white; }}"

        def __init__(self, preview: Preview) -> None:
            super().__init__()
            self.preview = preview

        def compose(self) -> ComposeResult:
            yield self.preview

    out = {}
    for mode in GRAPHICS:
        async with PreviewOnly(Preview() if mode == "off" else GraphicsPreview(mode)).run_test(size=(120, 40)) as pilot:
            preview = pilot.app.query_one(Preview)
            await pilot.pause(0.2)
            start, drawn, last = time.thread_time(), 0, None
            for frame in frames:
                preview.show(frame, [], None)
                await pilot.pause(0.6)  # drawn, and past the graphics preview's wait before the next picture
                shown = preview.content if mode == "off" else preview.picture.image
                drawn, last = drawn + (shown is not last), shown
            out[mode] = round((time.thread_time() - start) / drawn * 1000, 1)
    return out


@contextmanager
def _stdout_discarded() -> Iterator[None]:
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.__stdout__.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def main() -> int:
    if sys.argv[1:2] in (["pictures"], ["pictures-here"]):  # pictures-here: one cell size, for `pictures`
        print(json.dumps(pictures() if sys.argv[1] == "pictures" else pictures_here()))
        return 0
    if not shutil.which("tmux"):
        print(json.dumps({"skipped": "tmux not installed"}))
        return 0
    if sys.argv[1:2] == ["graphics"]:
        seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
        print(json.dumps(graphics(seconds, int(sys.argv[3]) if len(sys.argv) > 3 else 1)))
        return 0
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    print(json.dumps(measure(seconds, sys.argv[2:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
