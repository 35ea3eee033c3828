"""Mixed bfloat16 training, for CPUs that compute bfloat16 natively.

On a CPU with AMX-BF16 a training step of the shipped network can be faster in mixed
bfloat16 than in float32 (`python -m bench.train_step` measures it); on a CPU without
bfloat16 units the same policy is emulated and slower, so `auto` asks the CPU (only the CPU:
on an accelerator it means float32). It is opt-in, not the default: one warm start of a
widened network diverged in its first epoch in mixed bfloat16 where float32 trained normally.
Weights stay float32 either way, so warm starts and the int8 export can use any run;
`.keras` checkpoints keep each layer's policy, so a resumed run goes on in its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keras

CHOICES = ("auto", "float32", "mixed_bfloat16")
BF16_FLAGS = {"amx_bf16", "avx512_bf16"}


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU advertises native bfloat16 arithmetic (Linux; False where unknown)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return bool(BF16_FLAGS & set(flags))


def resolve_precision(choice: str) -> str:
    """The policy `choice` means here: `auto` is mixed bfloat16 on a bf16-capable CPU backend, else float32."""
    if choice not in CHOICES:
        raise ValueError(f"precision {choice!r}: use one of {', '.join(CHOICES)}")
    if choice != "auto":
        return choice
    on_cpu = keras.backend.backend() != "jax" or _jax_platform() == "cpu"
    return "mixed_bfloat16" if on_cpu and cpu_has_bf16() else "float32"


def _jax_platform() -> str:
    import jax

    return jax.default_backend()


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build and train models under the policy `name`, restoring the previous one afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
