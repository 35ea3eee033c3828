"""`python -m bench.train_step`: a training step of the shipped network, fed as the trainer feeds it,
under two settings: glibc malloc against jemalloc (`--compare allocator`, the default), or float32
against mixed bfloat16 (`--compare precision`).

Why: both choices must rest on a measurement, and the answers depend on the host
(docs/model-history.md, Training). The allocator: once TensorFlow's generator dataset has set
M_TRIM_THRESHOLD, glibc maps every activation buffer fresh from the kernel each step
(trainer/allocator.py); the trainer reruns itself under jemalloc where it is installed. Bfloat16:
on 2026-12-01 a step took 256 ms against 443 on an AMX Xeon, elsewhere no gain. The step is the
shipped recipe's own (network, L2, dropout, optimizer, loss) on batches of 128 from a
`keras.utils.PyDataset`, as in training; settings alternate in fresh processes, because a shared
host's speed drifts within minutes. Prints JSON.
"""

from __future__ import annotations

import argparse
import ctypes.util
import dataclasses
import json
import os
import subprocess
import sys
import time

from bench.machine import machine_description
from trainer.allocator import jemalloc_environment

STEPS = 24


def settings(compare: str) -> dict[str, tuple[bool, dict[str, str]]]:
    """Each setting's name -> (mixed bfloat16?, the environment its process runs in)."""
    glibc = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    if compare == "precision":
        return {"float32": (False, dict(os.environ)), "mixed_bfloat16": (True, dict(os.environ))}
    jemalloc = jemalloc_environment(glibc, ctypes.util.find_library("jemalloc"))
    if jemalloc is None:
        raise SystemExit("error: jemalloc is not installed (`sudo apt install libjemalloc2`), nothing to compare")
    return {"glibc": (False, glibc), "jemalloc": (False, jemalloc)}


def measure(mixed: bool) -> dict:
    """Mean milliseconds per step over STEPS steps, after a warm-up pass, and the batch size."""
    import keras
    import numpy as np

    from trainer.recipe import Recipe
    from trainer.train import compiled_model

    recipe = dataclasses.replace(Recipe(), mixed_precision=mixed)  # the teacher's network
    model = compiled_model(recipe, steps_per_epoch=STEPS)
    rng = np.random.default_rng(0)
    faces = rng.uniform(0, 255, (recipe.batch_size * STEPS, 48, 48, 1)).astype(np.float32)
    labels = np.eye(7, dtype=np.float32)[rng.integers(0, 7, len(faces))]

    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return STEPS

        def __getitem__(self, index: int) -> tuple:
            part = slice(index * recipe.batch_size, (index + 1) * recipe.batch_size)
            return faces[part], labels[part]

    model.fit(Batches(), epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(Batches(), epochs=1, verbose=0)
    return {"ms": (time.perf_counter() - start) / STEPS * 1000, "batch": recipe.batch_size}


def main(argv: list[str] | None = None) -> int:
    """Alternate the two settings for `--rounds` rounds, each measurement in its own process."""
    parser = argparse.ArgumentParser(prog="python -m bench.train_step", description=__doc__)
    parser.add_argument("--compare", choices=("allocator", "precision"), default="allocator")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per setting (default %(default)s)")
    parser.add_argument("--one", choices=("float32", "mixed_bfloat16"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one == "mixed_bfloat16")))
        return 0
    chosen = settings(args.compare)
    results: dict[str, list[float]] = {name: [] for name in chosen}
    batch = 0
    for _ in range(args.rounds):
        for name, (mixed, env) in chosen.items():
            child = [sys.executable, "-m", "bench.train_step", "--one", "mixed_bfloat16" if mixed else "float32"]
            out = subprocess.run(child, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(f"error: the {name} measurement failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            step = json.loads(out.stdout.strip().splitlines()[-1])
            results[name].append(round(step["ms"], 1))
            batch = step["batch"]
    print(json.dumps({"machine": machine_description(), "batch": batch, "ms_per_step": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
