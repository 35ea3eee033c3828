"""Training runs under jemalloc where it is installed, because glibc's malloc makes a CPU epoch
spend a third of its time zero-filling pages.

TensorFlow's buffers for a batch's activations are megabytes each. Once TensorFlow's generator
dataset has set M_TRIM_THRESHOLD (which also freezes glibc's mmap threshold at 128 KB), glibc
maps each buffer fresh from the kernel and unmaps it when it is freed, so every step faults its
memory in again. On 2026-12-05, training the accurate student on a 2-core AVX2-only EPYC: 238,000 page
faults a second, 31% system time, 492-515 s an epoch under glibc; under jemalloc told never to
hand memory back, 0 faults, 1% system time, 266 s an epoch (docs/model-history.md, Training).
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Mapping

# Never return freed pages to the kernel: the same buffers are needed again the next step.
KEEP_PAGES = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
GLIBC = "glibc malloc (`sudo apt install libjemalloc2` trains about twice as fast on a CPU: trainer/README.md)"


def jemalloc_environment(environ: Mapping[str, str], library: str | None) -> dict[str, str] | None:
    """The environment to run the trainer again in, or None when jemalloc is loaded or missing."""
    preloaded = environ.get("LD_PRELOAD", "")
    if library is None or "jemalloc" in preloaded:
        return None
    env = dict(environ)
    env["LD_PRELOAD"] = f"{library} {preloaded}".strip()
    env.setdefault("MALLOC_CONF", KEEP_PAGES)
    return env


def rerun_under_jemalloc(argv: list[str]) -> None:
    """Replace this process by `python -m trainer ARGV` with jemalloc preloaded (Linux, once,
    where it is installed). Call before TensorFlow is imported."""
    if not sys.platform.startswith("linux"):
        return
    library = ctypes.util.find_library("jemalloc")
    env = jemalloc_environment(os.environ, library)
    if env is None:
        return
    try:
        os.execve(sys.executable, [sys.executable, "-m", "trainer", *argv], env)
    except OSError:
        return  # training still works under glibc, only slower


def allocator_in_use() -> str:
    """`jemalloc` when this process has it mapped, else glibc's with what to install (said when
    training starts, so a slow machine's reason is on screen)."""
    try:
        with open("/proc/self/maps") as maps:
            return "jemalloc" if "jemalloc" in maps.read() else GLIBC
    except OSError:
        return "the system's malloc"
