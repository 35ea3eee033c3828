"""CPU use of the whole app on the live demo source (30 fps), in a real terminal (tmux).

Usage: python -m bench.cpu_use [SECONDS]  -> prints {"seconds": S, "cpu_cores": C}
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    if not shutil.which("tmux"):
        print(json.dumps({"skipped": "tmux not installed"}))
        return 0
    session = f"emojitui-cpu-{os.getpid()}"
    extra = " ".join(sys.argv[2:])
    command = f"{sys.executable} -m emojitui --source demo --no-history {extra}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True, cwd=REPO)
    try:
        time.sleep(6)  # start-up: imports, model, first frames
        pid = int(subprocess.check_output(["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"]).split()[0])
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        used = cpu_seconds(pid) - start_cpu
        elapsed = time.monotonic() - start
        screen = subprocess.check_output(["tmux", "capture-pane", "-p", "-t", session], text=True)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    status = next((line.strip() for line in screen.splitlines() if " fps " in line), "")
    print(json.dumps({"seconds": round(elapsed, 1), "cpu_cores": round(used / elapsed, 3), "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
