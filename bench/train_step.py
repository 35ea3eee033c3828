"""`python -m bench.train_step`: one training step of the shipped network, float32 against mixed bfloat16.

Why: the trainer picks mixed bfloat16 on CPUs with bfloat16 units (trainer/precision.py), and
that choice must rest on a measurement of this machine, not a rule of thumb. The policies are
measured alternately, in fresh processes, because a shared host's speed drifts within minutes.
Prints JSON: milliseconds per step (batch 128) for each policy and each round.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bench.run import machine_description

STEPS = 24


def measure(policy: str) -> float:
    """Median-free mean ms per step after a warm-up epoch, for the shipped card's architecture."""
    import keras
    import numpy as np

    from emojitui.locations import default_model_path
    from emojitui.shared.model_card import card_path_for, read_card
    from trainer.model import build_model

    keras.config.set_dtype_policy(policy)
    recipe = read_card(card_path_for(default_model_path())).recipe
    model = build_model(tuple(tuple(s) for s in recipe["stages"]), stem=recipe["stem"])
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    faces = rng.uniform(0, 255, (128 * STEPS // 2, 48, 48, 1)).astype(np.float32)
    labels = np.eye(7, dtype=np.float32)[rng.integers(0, 7, len(faces))]
    model.fit(faces, labels, batch_size=128, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(faces, labels, batch_size=128, epochs=2, verbose=0)
    return (time.perf_counter() - start) / STEPS * 1000


def main(rounds: int = 2) -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2])))
        return 0
    results: dict[str, list[float]] = {"float32": [], "mixed_bfloat16": []}
    for _ in range(rounds):
        for policy in results:
            out = subprocess.run(
                [sys.executable, "-m", "bench.train_step", "--one", policy], capture_output=True, text=True, check=True
            )
            results[policy].append(round(json.loads(out.stdout.strip().splitlines()[-1]), 1))
    print(json.dumps({"machine": machine_description(), "batch": 128, "ms_per_step": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
