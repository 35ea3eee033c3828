#!/usr/bin/env bash
# Train from scratch on an offline GPU machine that has JAX, NumPy and OpenCV but no TensorFlow
# and no network, inside a fixed wall-clock budget; export to TFLite afterwards on a CPU machine.
#
#   just gpu-pack                                        # here: FER-2013, Keras's wheels, students' targets into .device/
#   bash trainer/offline_gpu.sh OUT [SECONDS] [RECIPE]   # there, from the repository root
#
# SECONDS (default 520) bounds the whole script; RECIPE is a factory recipe (default teacher), or a
# student's recipe packed by `just gpu-pack` (.device/students/student/student.json): the
# teachers' targets packed beside it go into the run, so no teacher is loaded there. The
# trainer times a few steps and fits the epochs, hence the cosine schedule, into what is left
# (its --budget), and a hard timeout stops it in time if the estimate was wrong. OUT always
# receives the best model so far without optimizer state (small enough to copy back), its recipe,
# state and log; `python -m trainer export --out OUT --tier teacher --name teacher-K --models
# models/teachers` (or `--tier accurate --name emotion`, `--tier fast --name emotion-fast`) turns it
# into the model on the CPU machine. EMOJITUI_ALLOW_CPU=1 lets it run without a GPU (for checking).
set -euo pipefail
out=${1:?usage: offline_gpu.sh OUT [SECONDS] [RECIPE]}
budget=${2:-520}
recipe=${3:-teacher}
mkdir -p "$out"
export KERAS_BACKEND=${KERAS_BACKEND:-jax}  # before any import: Keras's default backend is TensorFlow
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # two runs can share the GPU (a student each)
if ! python3 -c 'import keras' 2>/dev/null; then
    # these wheels' own folder (a warm machine may hold another call's), installed once, whole or not at all
    site=/tmp/keras-site-$(cd .device/whl && ls | cksum | cut -d' ' -f1)
    export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
    (   flock 9  # the run beside this one may be installing the same wheels
        if [ ! -f "$site/.complete" ]; then
            rm -rf "$site"
            python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .device/whl/*.whl
            touch "$site/.complete"
        fi
    ) 9>/tmp/keras-site.lock
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if [ "${EMOJITUI_ALLOW_CPU:-0}" != 1 ]; then
    python3 -c 'import jax, sys; d = jax.devices(); sys.exit(0 if d[0].platform == "gpu" else f"no GPU for JAX: {d}")'
fi
data=${EMOJITUI_FER2013:-/tmp/emojitui-fer2013/fer2013}
if [ ! -e "$data" ]; then  # unpacked once, by the first of the runs side by side, and moved into place whole
    (   flock 9
        if [ ! -e "$data" ]; then
            mkdir -p "$(dirname "$data")"
            unpacked=$(mktemp -d "$(dirname "$data")/.unpacking.XXXXXX")
            python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' \
                .device/fer2013.tar.xz "$unpacked"
            mv "$unpacked/fer2013" "$data" && rm -rf "$unpacked"
        fi
    ) 9>/tmp/emojitui-fer2013.lock
fi
# 100 s for start-up (the trainer's clock starts after it has decoded the data) and copying the model
# back; in fractions of a minute (whole ones lost up to 59 s)
minutes=$(python3 -c 'import sys; print(f"{max(1.0, int(sys.argv[1]) / 60):.2f}")' $((budget - SECONDS - 100)))
rc=0 limit=$((budget - SECONDS - 25))
[ "$limit" -gt 10 ] || limit=10
run=$(mkdir -p /tmp/gpu-run && mktemp -d "/tmp/gpu-run/$(basename "$out").XXXXXX")  # a folder of its own: runs side by side keep apart
case $recipe in  # a packed student: its teachers' targets, made on the CPU machine, go into the run
    *.json) packed=$(dirname "$recipe")/teacher_targets
        if [ -f "$packed.npy" ]; then cp "$packed.npy" "$packed.json" "$run"/; fi ;;
esac
timeout -s INT -k 20 "$limit" \
    python3 -m trainer train --data "$data" --cache "$run/cache" --recipe "$recipe" --budget "$minutes" \
        --out "$run" 2>&1 | tee "$out/train.log" || rc=$?
[ "$rc" = 0 ] || echo "training stopped early (exit $rc): keeping the best epoch so far" | tee -a "$out/train.log"
[ -f "$run/best.keras" ] || { echo "no epoch finished in the budget: give it more seconds" >&2; exit 1; }
python3 - "$run" "$out" <<'PY'
import sys
import keras
model = keras.models.load_model(f"{sys.argv[1]}/best.keras", compile=False)
model.save(f"{sys.argv[2]}/best.keras")  # not compiled: no optimizer state, a third of the size
PY
cp "$run/recipe.json" "$run/state.json" "$run/log.csv" "$out/"
ls -la "$out"
