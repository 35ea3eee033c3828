"""One line naming the machine a benchmark ran on: its figures mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from emojitui.shared.cpu import read_cpu_info

# Vector units that int8 inference (XNNPACK) and bfloat16 training use, when the CPU has them.
UNITS = ("avx2", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16", "amx_bf16", "asimddp", "i8mm", "bf16")


def machine_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """Architecture, CPU model, the vector units present and the core count."""
    cpu = read_cpu_info(cpuinfo)
    if cpu is None:
        return f"{platform.machine()} {platform.processor()} ({os.cpu_count()} cores)".strip()
    units = [unit for unit in UNITS if unit in cpu.flags]
    model = cpu.model or platform.processor()
    return f"{platform.machine()} {model} ({', '.join([*units, f'{os.cpu_count()} cores'])})"
