#!/usr/bin/env bash
# Install fasrnet_mmpose and its whole, pinned stack into a virtual environment.
#
#   bash tools/install.sh            # -> ./.venv   (override with FASRNET_VENV=/path)
#
# What it does (see README "Installation" and requirements/constraints.txt for the pins):
#   1. python -m venv (PYTHON=python3 by default; Python 3.11 is what the pins were measured on)
#   2. torch 2.14.1 + torchvision 0.29.1
#   3. mmcv 2.1.0 with compiled ops: an existing wheel is used when pip can find one
#      (PIP_FIND_LINKS, or this script's cache ~/.cache/fasrnet_mmpose/wheels/torch-2.14.1);
#      otherwise the sdist is built (~15-30 min on 2 cores) with the C++20 patch torch>=2.14 needs,
#      and the wheel is cached for the next install.
#   4. mmengine, mmdet, mmpose (--no-deps: its chumpy requirement is broken) + mmpose's real
#      runtime dependencies, numpy<2, opencv<4.12, xtcocotools
#   5. this package (editable) and the test requirements.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FASRNET_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
TORCH_VERSION="$(sed -n 's/^torch==//p' "$CONSTRAINTS")"
WHEEL_CACHE="${FASRNET_WHEEL_CACHE:-$HOME/.cache/fasrnet_mmpose/wheels/torch-$TORCH_VERSION}"
T0=$(date +%s)
log() { echo "[install $(( $(date +%s) - T0 ))s] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS")

log "build tools"
"${PIP[@]}" setuptools wheel
log "torch + torchvision"
"${PIP[@]}" torch torchvision
log "numpy<2 (before anything that could pull numpy 2)"
"${PIP[@]}" numpy

# ---- mmcv with compiled ops -------------------------------------------------------------------
mmcv_ok() { "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; }
if mmcv_ok; then
  log "mmcv 2.1.0 with ops already installed"
else
  mkdir -p "$WHEEL_CACHE"
  if "${PIP[@]}" --only-binary mmcv --find-links "$WHEEL_CACHE" ${PIP_FIND_LINKS:+--find-links "$PIP_FIND_LINKS"} mmcv && mmcv_ok; then
    log "mmcv installed from an existing wheel"
  else
    log "no mmcv wheel found: building mmcv 2.1.0 from source (this takes 15-30 min on 2 cores)"
    BUILD="$(mktemp -d)"
    "$PY" -m pip download --no-deps --no-binary :all: -d "$BUILD" mmcv==2.1.0
    tar -xzf "$BUILD"/mmcv-2.1.0.tar.gz -C "$BUILD"
    # torch >= 2.14 headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-2.1.0/setup.py"
    "${PIP[@]}" ninja psutil
    # CFLAGS replaces Python's default flags: give the full optimised set (no debug info).
    ( cd "$BUILD/mmcv-2.1.0" && \
      MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      CFLAGS="-Wsign-compare -DNDEBUG -g0 -fwrapv -O3 -Wall" \
      "$PY" -m pip wheel --no-deps --no-build-isolation -w "$WHEEL_CACHE" . )
    "${PIP[@]}" --no-index --find-links "$WHEEL_CACHE" mmcv
    rm -rf "$BUILD"
    mmcv_ok || { echo "mmcv build finished but 'import mmcv.ops' fails" >&2; exit 1; }
  fi
fi

# ---- OpenMMLab stack ----------------------------------------------------------------------------
log "mmengine, mmdet, mmpose runtime dependencies"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"
log "mmpose (--no-deps: chumpy is not needed and does not build)"
"${PIP[@]}" --no-deps mmpose
# opencv-python pulled in by mmengine must stay <4.12 (numpy 1.x)
log "fasrnet_mmpose (editable) + test requirements"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
"${PIP[@]}" -r "$ROOT/requirements/tests.txt"

"$PY" - <<'PY'
import numpy, torch, mmcv, mmcv.ops, mmengine, mmdet, mmpose, mmpose.apis  # noqa: F401
import fasrnet_mmpose  # noqa: F401
print(f'numpy {numpy.__version__} torch {torch.__version__} mmcv {mmcv.__version__} '
      f'mmengine {mmengine.__version__} mmdet {mmdet.__version__} mmpose {mmpose.__version__}')
PY
log "done: activate with 'source $VENV/bin/activate'"
