"""`just check-pi`: can a Raspberry Pi install emojitui from wheels alone?

Resolves and downloads, without installing, every runtime dependency in pyproject.toml (and
theirs) as wheels for 64-bit Raspberry Pi OS: linux aarch64 with the Python and glibc of each
release below. Fails naming each dependency that has no such wheel. The wheels land in
`.pi-wheels/cpXY/` (pip's cache makes a second run quick).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WHEELS = REPO / ".pi-wheels"
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


def main() -> int:
    parser = argparse.ArgumentParser(prog="just check-pi", description=__doc__.split("\n\n")[0])
    parser.parse_args()
    requirements = runtime_dependencies()
    failed = {release: check(release, python, glibc, requirements) for release, (python, glibc) in PI_OS.items()}
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
