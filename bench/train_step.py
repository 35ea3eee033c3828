"""`python -m bench.train_step`: a training step of the shipped network, float32 against mixed bfloat16.

Why: whether the trainer should compute in bfloat16 on CPUs with bfloat16 units (AMX-BF16)
must rest on a measurement, and the answer depends on the host (docs/model-history.md, Training): on
2026-11-25 it was no faster than float32 at its best; on 2026-12-01 a step took 256 ms against
443, so cycle 9 trained with the recipe's `mixed_precision`. The step is
the shipped recipe's own (network, L2, dropout, optimizer, loss) on batches of 128; policies
alternate in fresh processes, because a shared host's speed drifts within minutes. Prints JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time

from bench.machine import machine_description

STEPS = 24
POLICIES = ("float32", "mixed_bfloat16")


def measure(policy: str) -> dict:
    """Mean milliseconds per step over STEPS steps, after a warm-up pass, and the batch size."""
    import numpy as np

    from trainer.recipe import Recipe
    from trainer.train import compiled_model

    recipe = dataclasses.replace(Recipe(), mixed_precision=policy == "mixed_bfloat16")  # the teacher's network
    model = compiled_model(recipe, steps_per_epoch=STEPS)
    rng = np.random.default_rng(0)
    faces = rng.uniform(0, 255, (recipe.batch_size * STEPS, 48, 48, 1)).astype(np.float32)
    labels = np.eye(7, dtype=np.float32)[rng.integers(0, 7, len(faces))]
    model.fit(faces, labels, batch_size=recipe.batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(faces, labels, batch_size=recipe.batch_size, epochs=1, verbose=0)
    return {"ms": (time.perf_counter() - start) / STEPS * 1000, "batch": recipe.batch_size}


def main(argv: list[str] | None = None) -> int:
    """Alternate the policies for `--rounds` rounds, each measurement in its own process."""
    parser = argparse.ArgumentParser(prog="python -m bench.train_step", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="measurements per policy (default %(default)s)")
    parser.add_argument("--one", choices=POLICIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    results: dict[str, list[float]] = {policy: [] for policy in POLICIES}
    batch = 0
    for _ in range(args.rounds):
        for policy in POLICIES:
            child = [sys.executable, "-m", "bench.train_step", "--one", policy]
            out = subprocess.run(child, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"error: the {policy} measurement failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            step = json.loads(out.stdout.strip().splitlines()[-1])
            results[policy].append(round(step["ms"], 1))
            batch = step["batch"]
    print(json.dumps({"machine": machine_description(), "batch": batch, "ms_per_step": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
