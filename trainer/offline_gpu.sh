#!/usr/bin/env bash
# Train from scratch on an offline GPU machine that has JAX, NumPy and OpenCV but no TensorFlow
# and no network, filling a fixed time budget; export to TFLite afterwards on a CPU machine.
#
#   just gpu-pack                      # here: FER-2013 and the Keras wheels into .device/
#   bash trainer/offline_gpu.sh OUT [SECONDS] [RECIPE]   # there, from the repository root
#
# A 3-epoch probe times an epoch (JAX compiles once per process), then the real run gets as many
# epochs as fit in SECONDS, so its cosine schedule ends inside the budget. OUT receives the best
# model without optimizer state (small enough to copy back), its recipe, state and log.
set -euo pipefail
out=${1:?usage: offline_gpu.sh OUT [SECONDS] [RECIPE]}
budget=${2:-420}
recipe=${3:-trainer/recipes/gpu-scratch.json}
mkdir -p "$out"
if ! python3 -c 'import keras' 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/keras-site .device/whl/*.whl
    export PYTHONPATH=/tmp/keras-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1
data=${EMOJITUI_FER2013:-.device/fer2013}
common=(--data "$data" --cache /tmp/emojitui-cache --recipe "$recipe" --restarts 0)

python3 -m trainer train "${common[@]}" --out /tmp/gpu-probe --fresh --epochs 3 2>&1 | tee "$out/probe.log"
epochs=$(python3 - "$budget" <<'PY'
import csv, sys
rows = list(csv.DictReader(open("/tmp/gpu-probe/log.csv")))
seconds = min(float(r["seconds"]) for r in rows[1:] or rows)  # the first epoch includes compiling
print(max(1, int(float(sys.argv[1]) / seconds)))
PY
)
echo "probe: $(tail -n +2 /tmp/gpu-probe/log.csv | cut -d, -f7 | tr '\n' ' ')s per epoch -> $epochs epochs in ${budget}s" | tee -a "$out/probe.log"

python3 -m trainer train "${common[@]}" --out /tmp/gpu-run --fresh --epochs "$epochs" 2>&1 | tee "$out/train.log"
python3 - "$out" <<'PY'
import sys
import keras
import trainer.model  # noqa: F401  (registers the custom layers, if any)
model = keras.models.load_model("/tmp/gpu-run/best.keras", compile=False)
model.save(f"{sys.argv[1]}/best.keras")
PY
cp /tmp/gpu-run/recipe.json /tmp/gpu-run/state.json /tmp/gpu-run/log.csv "$out/"
ls -la "$out"
