"""`just check-pi`: can a Raspberry Pi install emojitui from wheels alone?

Resolves and downloads, without installing, every runtime dependency in pyproject.toml (and
theirs) as wheels for 64-bit Raspberry Pi OS: linux aarch64 with the Python and glibc of each
release below. Fails naming each dependency that has no such wheel. The wheels land in
`.pi-wheels/cpXY/` (pip's cache makes a second run quick).

`--emulate` then runs the app on an emulated Pi: a Debian bookworm arm64 root (debootstrap's
first stage from the Debian archive apt uses here, its packages unpacked, as root; cached in
~/.cache/emojitui/pi-bookworm-arm64), emojitui installed there from the aarch64 wheels by the
bookworm Python's own pip, and the bundled photos and a short video classified under QEMU user
emulation (QEMU 8 or newer: bookworm's 7.2 crashes in LiteRT; bookworm-backports has 10),
compared with the same run here. About 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WHEELS = REPO / ".pi-wheels"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "emojitui"
# 64-bit Raspberry Pi OS release: (its python3, the minor version of its glibc 2.x)
PI_OS = {"bookworm": ("3.11", 36), "trixie": ("3.13", 41)}


def runtime_dependencies() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def pip_download(requirements: list[str], python: str, glibc: int, dest: Path, deps: bool = True):
    platforms = ["manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, glibc + 1))]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python, "-d", str(dest)]
    command += [arg for platform in platforms for arg in ("--platform", platform)]
    command += [] if deps else ["--no-deps"]
    return subprocess.run([*command, *requirements], capture_output=True, text=True)


def check(release: str, python: str, glibc: int, requirements: list[str]) -> list[str]:
    """Download the wheels for one Pi OS release; the requirements without a wheel (none: success)."""
    dest = WHEELS / f"cp{python.replace('.', '')}"
    shutil.rmtree(dest, ignore_errors=True)  # only this run's wheels, for --emulate to install
    started = time.monotonic()
    result = pip_download(requirements, python, glibc, dest)
    if result.returncode == 0:
        wheels = sorted(dest.glob("*.whl"))
        size = sum(wheel.stat().st_size for wheel in wheels) / 2**20
        took = time.monotonic() - started
        print(
            f"check-pi: Raspberry Pi OS {release} (Python {python}, aarch64, glibc 2.{glibc}): all {len(wheels)} "
            f"wheels found, {size:.0f} MiB in {dest.relative_to(REPO)}/ ({took:.0f} s)"
        )
        return []
    # pip stops at the first miss: ask for each direct dependency alone, then name what pip named
    missing = [req for req in requirements if pip_download([req], python, glibc, dest, deps=False).returncode]
    missing += [
        name
        for name in re.findall(r"No matching distribution found for (\S+)", result.stderr)
        if not any(name.startswith(re.split(r"[<>=!~; ]", req)[0]) for req in missing)
    ]
    if not missing:  # not a missing wheel (no network?): show pip's own words
        print(result.stderr.strip(), file=sys.stderr)
        missing = ["(pip failed: see above)"]
    print(
        f"check-pi: Raspberry Pi OS {release} (Python {python}, aarch64): no wheel for {', '.join(missing)}",
        file=sys.stderr,
    )
    return missing


def debian_mirror() -> str:
    """The Debian archive apt is configured with here (deb822 or one-line sources)."""
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = path.read_text(errors="replace") if path.is_file() else ""
        for url in re.findall(r"^(?:URIs:|deb)\s+(\S+)", text, flags=re.M):
            if url.rstrip("/").endswith("/debian"):
                return url
    return "http://deb.debian.org/debian"


def pi_root() -> Path:
    """A bookworm arm64 root with python3 and pip, made once: debootstrap's first stage, then
    every package it fetched unpacked (no maintainer scripts: they would need the root to run)."""
    root = CACHE / "pi-bookworm-arm64"
    if (root / ".unpacked").is_file():
        return root
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise SystemExit(
            "check-pi --emulate: making the Pi's root needs root and debootstrap (apt install debootstrap)"
        )
    fresh = root.with_name(root.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    mirror = debian_mirror()
    print(f"check-pi: debootstrap bookworm arm64 from {mirror} into {fresh}", flush=True)
    options = ["--foreign", "--arch=arm64", "--variant=minbase", "--include=python3,python3-pip"]
    subprocess.run(
        ["debootstrap", *options, "bookworm", str(fresh), mirror],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for deb in sorted((fresh / "var/cache/apt/archives").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(fresh)], check=True)
    (fresh / ".unpacked").touch()
    shutil.rmtree(root, ignore_errors=True)
    fresh.rename(root)
    return root


def qemu() -> str:
    binary = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
    hint = "apt install -t bookworm-backports qemu-user (QEMU 10; bookworm's 7.2 crashes inside LiteRT)"
    if not binary:
        raise SystemExit(f"check-pi --emulate: no qemu-aarch64: {hint}")
    found = re.search(r"version (\d+)", subprocess.run([binary, "--version"], capture_output=True, text=True).stdout)
    if not found or int(found.group(1)) < 8:
        raise SystemExit(f"check-pi --emulate: {binary} is QEMU {found.group(1) if found else '?'}: {hint}")
    return binary


def emulated(root: Path, *args: str) -> list[str]:
    """A command for the Pi's Python under QEMU, with an empty environment: no pip settings,
    paths or caches of this machine leak in (QEMU looks up absolute paths in `root` first)."""
    env = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent", "PIP_CONFIG_FILE=/dev/null", "LANG=C.UTF-8"]
    return [*env, "nice", "-n", "10", qemu(), "-L", str(root), str(root / "usr/bin/python3.11"), *args]


def short_video(path: Path) -> Path:
    """Two seconds of two bundled photos, written by OpenCV, read by both runs."""
    import cv2
    import numpy as np

    demo = REPO / "emojitui/assets/demo"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (640, 480))
    for name in ("02-obama.jpg", "03-lin-manuel-miranda.jpg"):
        photo = cv2.imread(str(demo / name))
        scale = min(640 / photo.shape[1], 480 / photo.shape[0])
        frame = np.full((480, 640, 3), 30, np.uint8)
        small = cv2.resize(photo, (int(photo.shape[1] * scale), int(photo.shape[0] * scale)))
        top, left = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
        frame[top : top + small.shape[0], left : left + small.shape[1]] = small
        for _ in range(15):
            writer.write(frame)
    writer.release()
    return path


def compare(here: dict, pi: dict) -> list[str]:
    """Differences beyond rounding: boxes off by more than 2 px, other labels, probabilities 0.03 apart."""
    problems, worst = [], 0.0
    pairs = [(f"{name}", here["photos"][name], pi["photos"].get(name, [])) for name in here["photos"]]
    pairs += [(f"video frame {n}", a, b) for n, (a, b) in enumerate(zip(here["video"], pi["video"], strict=False))]
    if len(here["video"]) != len(pi["video"]):
        problems.append(f"video: {len(here['video'])} frames here, {len(pi['video'])} on the Pi")
    for where, ours, theirs in pairs:
        if len(ours) != len(theirs):
            problems.append(f"{where}: {len(ours)} faces here, {len(theirs)} on the Pi")
            continue
        for a, b in zip(ours, theirs, strict=True):
            if max(abs(x - y) for x, y in zip(a["box"], b["box"], strict=True)) > 2:
                problems.append(f"{where}: box {a['box']} here, {b['box']} on the Pi")
            if a["label"] != b["label"]:
                problems.append(f"{where}: {a['label']} here, {b['label']} on the Pi")
            gap = max(abs(a["probabilities"][k] - b["probabilities"][k]) for k in a["probabilities"])
            worst = max(worst, gap)
            if gap > 0.03:
                problems.append(f"{where}: probabilities {gap:.3f} apart")
    here["worst_gap"] = worst
    return problems


def emulate(wheels: Path) -> int:
    root = pi_root()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="emojitui-pi-") as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work), str(REPO)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        site = work / "site"
        install = [
            "-m",
            "pip",
            "install",
            "--isolated",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--root-user-action=ignore",
        ]
        install += ["--disable-pip-version-check", "--target", str(site)]
        print("check-pi: installing the app from its aarch64 wheels with the Pi's Python 3.11 (emulated)", flush=True)
        subprocess.run(
            emulated(root, *install, *map(str, sorted(wheels.glob("*.whl"))), *map(str, work.glob("emojitui-*.whl"))),
            check=True,
        )
        video = short_video(work / "clip.avi")
        script = str(REPO / ".ci/pi_classify.py")
        print("check-pi: classifying the bundled photos and a 2 s video, here and on the emulated Pi", flush=True)
        subprocess.run([sys.executable, script, "", str(video), str(work / "here.json")], check=True, cwd=work)
        subprocess.run(emulated(root, "-s", script, str(site), str(video), str(work / "pi.json")), check=True, cwd=work)
        here, pi = (json.loads((work / f"{name}.json").read_text()) for name in ("here", "pi"))
    if pi["machine"] != "aarch64" or not pi["emojitui"].startswith(str(site)):
        raise SystemExit(f"check-pi --emulate: the Pi's run was not the installed aarch64 app: {pi['emojitui']}")
    problems = compare(here, pi)
    faces = sum(map(len, here["photos"].values())) + sum(map(len, here["video"]))
    print(
        f"check-pi: emulated Pi (bookworm arm64, Python {pi['python']}): {len(here['photos'])} photos and "
        f"{len(here['video'])} video frames, {faces} faces; labels and boxes "
        f"{'differ' if problems else 'the same'} as here, probabilities at most {here['worst_gap']:.4f} apart "
        f"(imports {pi['import_s']} s, the run {pi['total_s']} s emulated; "
        f"{time.monotonic() - started:.0f} s in all)"
    )
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="just check-pi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulate", action="store_true", help="also run the app on an emulated Pi (root, ~10 min)")
    args = parser.parse_args()
    requirements = runtime_dependencies()
    failed = {release: check(release, python, glibc, requirements) for release, (python, glibc) in PI_OS.items()}
    if any(failed.values()):
        return 1
    return emulate(WHEELS / "cp311") if args.emulate else 0


if __name__ == "__main__":
    sys.exit(main())
