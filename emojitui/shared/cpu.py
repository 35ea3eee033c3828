"""The CPU's model name and vector units, from /proc/cpuinfo: a benchmark's figures mean little
without them, and training picks its precision by them (bfloat16 pays only on some CPUs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuInfo:
    """The first CPU's model name and flags ("Features" on ARM)."""

    model: str
    flags: frozenset[str]


def read_cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo | None:
    """The first CPU listed in `cpuinfo`; None where it cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    first = text.split("\n\n", 1)[0]
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in first.splitlines())}
    model = fields.get("model name") or fields.get("Model") or ""
    return CpuInfo(model, frozenset((fields.get("flags") or fields.get("Features") or "").split()))
