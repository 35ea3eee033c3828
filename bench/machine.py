"""One line naming the machine a benchmark ran on: its figures mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# Vector units that int8 inference (XNNPACK) and bfloat16 training use, when the CPU has them.
UNITS = ("avx2", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16", "amx_bf16", "asimddp", "i8mm", "bf16")


def machine_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """Architecture, CPU model, the vector units present and the core count."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return f"{platform.machine()} {platform.processor()} ({os.cpu_count()} cores)".strip()
    first = text.split("\n\n", 1)[0]
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in first.splitlines())}
    model = fields.get("model name") or fields.get("Model") or platform.processor()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    units = [unit for unit in UNITS if unit in flags]
    return f"{platform.machine()} {model} ({', '.join([*units, f'{os.cpu_count()} cores'])})"
