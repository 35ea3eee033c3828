# emojitui: `just run` starts the app, `just test` runs the tests.

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

python := env_var_or_default("PYTHON", "python3")
venv := ".venv"
bin := venv / "bin"

# list the recipes
default:
    @just --list

# create .venv with everything: the app, training (TensorFlow) and dev tools; quick when done
setup:
    @just _venv "all" ".[train,dev]"

# the app's runtime only (what `just run` needs); quick when done
setup-app:
    @if [ -f {{venv}}/.stamp-all ] && [ {{venv}}/.stamp-all -nt pyproject.toml ]; then exit 0; fi; just _venv "app" "."

_venv stamp spec:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -f {{venv}}/.stamp-{{stamp}} ] && [ {{venv}}/.stamp-{{stamp}} -nt pyproject.toml ]; then exit 0; fi
    {{python}} -c 'import sys; assert sys.version_info >= (3, 11), "emojitui needs Python 3.11+"'
    [ -x {{bin}}/python ] || {{python}} -m venv {{venv}}
    start=$(date +%s)
    {{bin}}/python -m pip install --quiet --upgrade pip
    {{bin}}/python -m pip install --quiet -e '{{spec}}'
    touch {{venv}}/.stamp-{{stamp}}
    echo "setup ({{stamp}}) done in $(( $(date +%s) - start ))s"

# start the app; with no camera it says so and runs the built-in demo (args go to emojitui)
run *ARGS: setup-app
    {{bin}}/emojitui "$@"

# the model factory: teachers, then the accurate and fast students, then export (--step S, --fresh, --budget MIN; trainer/README.md)
train *ARGS: setup
    {{bin}}/python -m trainer factory "$@"

# run the tests (those that need ../shared skip with a reason when it is absent); with no ARGS, then test-graphics
test *ARGS: setup
    {{bin}}/python -m pytest "$@"
    @if [ $# -eq 0 ]; then just test-graphics; fi

# the terminal-graphics tests again on Python 3.12 with the graphics extra (textual-image needs 3.12+), in .venv-graphics
test-graphics *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    py=""
    for candidate in python3.12 "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then py=$candidate; break; fi
    done  # (pyenv's python3.12 shim is on PATH even where 3.12 is not the selected version: it must run)
    if [ -z "$py" ]; then echo "test-graphics: skipped: no Python 3.12"; exit 0; fi
    venv=.venv-graphics
    if ! [ -f $venv/.stamp ] || [ pyproject.toml -nt $venv/.stamp ]; then
        start=$(date +%s)
        [ -x $venv/bin/python ] || "$py" -m venv $venv
        $venv/bin/python -m pip install --quiet --upgrade pip
        # of the dev extra only pytest and pytest-asyncio, at its pins: Playwright, ruff and the rest would double the setup
        tools=$($venv/bin/python -c 'import tomllib; dev = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dev"]; print(*(r for r in dev if r.split(">")[0] in ("pytest", "pytest-asyncio")))')
        $venv/bin/python -m pip install --quiet -e '.[graphics]' $tools
        touch $venv/.stamp
        echo "test-graphics: $venv set up in $(( $(date +%s) - start ))s"
    fi
    $venv/bin/python -m pytest tests/test_graphics.py "$@"

# download (not install) the runtime as aarch64 wheels for Raspberry Pi OS bookworm and trixie; --emulate: run it on an emulated Pi (root, ~10 min)
check-pi *ARGS: setup-app
    {{bin}}/python .ci/check_pi.py "$@"

# benchmarks: model latency, pipeline fps per stage on one core, the fer peer side by side, accuracy
bench *ARGS: setup bench-deps
    {{bin}}/python -m bench "$@"

# the `fer` package for the side-by-side benchmark; without its declared deps, which pull PyTorch
bench-deps: setup
    @{{bin}}/python -c 'import pandas, tqdm, requests' 2>/dev/null || {{bin}}/python -m pip install --quiet pandas tqdm requests
    @# fer last and with --no-deps: pip then skips its conflict report about fer's undeclared-here deps
    @{{bin}}/python -c 'import fer.fer' 2>/dev/null || {{bin}}/python -m pip install --quiet --no-deps 'fer==25.10.3'

# pack FER-2013, the Keras wheels and the students' teacher targets into .device/ for an offline GPU machine; see trainer/offline_gpu.sh
gpu-pack python_version="3.12": setup
    #!/usr/bin/env bash
    set -euo pipefail
    data=$({{bin}}/python -c 'from trainer.data import resolve_data_dir; print(resolve_data_dir(None))')
    pins=$({{bin}}/python -c 'from importlib.metadata import version as v; print(*(f"{n}=={v(n)}" for n in ("keras", "namex", "optree")))')
    rm -rf .device.new && mkdir -p .device.new/whl
    {{bin}}/python -m pip download --quiet --no-deps --only-binary=:all: --python-version {{python_version}} \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .device.new/whl $pins
    # one xz archive: the faces' repeated JPEG headers shrink it by a quarter (58 to 44 MB), so the tree,
    # the data and the targets fit the 64 MiB a device call carries; -h: links would travel as links, not data
    [ -d "$data" ] || { echo "error: gpu-pack needs FER-2013 in the Kaggle folder layout (train/, test/), not $data" >&2; exit 2; }
    tar -C "$(dirname "$data")" -chJf .device.new/fer2013.tar.xz --transform "s,^$(basename "$data"),fer2013," "$(basename "$data")"
    rm -rf .device && mv .device.new .device
    # the students' recipes and their teachers' targets (about 14 minutes of LiteRT here for four teachers, none there)
    {{bin}}/python -m trainer factory --data "$data" --pack .device/students
    echo ".device: $(( $(du -sb .device | cut -f1) / 1048576 )) MiB ($pins for Python {{python_version}}, data from $data)"

# lint, format check, and the import contracts in pyproject.toml (the layers; no cycles)
lint: setup
    {{bin}}/ruff check .
    {{bin}}/ruff format --check .
    {{bin}}/lint-imports

# fix what ruff can fix and format the code
fmt: setup
    {{bin}}/ruff check --fix .
    {{bin}}/ruff format .
