#!/usr/bin/env bash
# Train from scratch on an offline GPU machine that has JAX, NumPy and OpenCV but no TensorFlow
# and no network, inside a fixed wall-clock budget; export to TFLite afterwards on a CPU machine.
#
#   just gpu-pack                                        # here: FER-2013 and Keras's wheels into .device/
#   bash trainer/offline_gpu.sh OUT [SECONDS] [RECIPE]   # there, from the repository root
#
# SECONDS (default 520) bounds the whole script. A 3-epoch probe times an epoch (and the start-up
# and compiling around it), then the real run gets as many epochs as fit in what is left, so its
# cosine schedule ends inside the budget; a hard timeout stops it in time if the estimate was
# wrong. OUT always receives the best model so far without optimizer state (small enough to copy
# back), its recipe, state and log. EMOJITUI_ALLOW_CPU=1 lets it run without a GPU (for checking).
set -euo pipefail
out=${1:?usage: offline_gpu.sh OUT [SECONDS] [RECIPE]}
budget=${2:-520}
recipe=${3:-trainer/recipes/gpu-scratch.json}
mkdir -p "$out"
export KERAS_BACKEND=${KERAS_BACKEND:-jax}  # before any import: Keras's default backend is TensorFlow
if ! python3 -c 'import keras' 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/keras-site .device/whl/*.whl
    export PYTHONPATH=/tmp/keras-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if [ "${EMOJITUI_ALLOW_CPU:-0}" != 1 ]; then
    python3 -c 'import jax, sys; d = jax.devices(); sys.exit(0 if d[0].platform == "gpu" else f"no GPU for JAX: {d}")'
fi
data=${EMOJITUI_FER2013:-.device/fer2013}
common=(--data "$data" --cache /tmp/emojitui-cache --recipe "$recipe" --restarts 0)

probe_start=$SECONDS
python3 -m trainer train "${common[@]}" --out /tmp/gpu-probe --fresh --epochs 3 2>&1 | tee "$out/probe.log"
probe_wall=$((SECONDS - probe_start))
epochs=$(python3 - "$budget" "$SECONDS" "$probe_wall" <<'PY'
import csv, sys
budget, elapsed, probe_wall = (float(a) for a in sys.argv[1:])
seconds = [max(float(r["seconds"]), 0.1) for r in csv.DictReader(open("/tmp/gpu-probe/log.csv"))]
epoch = 1.2 * max(seconds[1:])  # the first epoch compiles; 20% more for the checkpoints saved after each
overhead = probe_wall - sum(seconds) + seconds[0] - min(seconds[1:])  # start-up, loading, compiling
left = budget - elapsed - overhead - 30  # 30 s to strip and copy the model at the end
print(max(1, int(left / epoch)))
PY
)
echo "probe: $(tail -n +2 /tmp/gpu-probe/log.csv | cut -d, -f7 | tr '\n' ' ')s per epoch, ${probe_wall}s in all -> $epochs epochs" | tee -a "$out/probe.log"

rc=0 limit=$((budget - SECONDS - 25))
[ "$limit" -gt 10 ] || limit=10
timeout -s INT -k 20 "$limit" \
    python3 -m trainer train "${common[@]}" --out /tmp/gpu-run --fresh --epochs "$epochs" 2>&1 | tee "$out/train.log" || rc=$?
[ "$rc" = 0 ] || echo "training stopped early (exit $rc): keeping the best epoch so far" | tee -a "$out/train.log"
[ -f /tmp/gpu-run/best.keras ] || { echo "no epoch finished in the budget: give it more seconds" >&2; exit 1; }
python3 - "$out" <<'PY'
import sys
import keras
model = keras.models.load_model("/tmp/gpu-run/best.keras", compile=False)
model.save(f"{sys.argv[1]}/best.keras")  # not compiled: no optimizer state, a third of the size
PY
cp /tmp/gpu-run/recipe.json /tmp/gpu-run/state.json /tmp/gpu-run/log.csv "$out/"
ls -la "$out"
