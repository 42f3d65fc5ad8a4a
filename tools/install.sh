#!/usr/bin/env bash
# Install fasrnet_mmpose and its pinned stack into a virtual environment (README "Installation").
#
#   bash tools/install.sh                                     # fresh machine -> ./.venv
#   FASRNET_TORCH=system bash tools/install.sh                # keep the machine's torch/torchvision
#   FASRNET_TORCH=system bash tools/install.sh --offline DIR  # air-gapped, from make_wheelhouse.sh
#   bash tools/install.sh --dry-run                           # print the plan and settings only
#
# Environment: FASRNET_VENV (default ./.venv; an existing one is reused), PYTHON (python3),
# FASRNET_TORCH pinned|system, FASRNET_NUMPY auto|pinned|system, FASRNET_WHEEL_CACHE (built mmcv
# wheels, one folder per torch/CUDA/ops), PIP_FIND_LINKS (prebuilt wheels); FORCE_CUDA,
# TORCH_CUDA_ARCH_LIST, MAX_JOBS, FASRNET_CXX_STD override the detected mmcv build settings.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $1" >&2; exit "${2:-1}"; }
pyver() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }

OFFLINE="" DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) [ $# -ge 2 ] || die "--offline needs a wheelhouse folder (made by tools/make_wheelhouse.sh)" 2
      OFFLINE="$2"; shift 2 ;;
    --offline=*) OFFLINE="${1#--offline=}"; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" 2 ;;
  esac
done

VENV="${FASRNET_VENV:-$ROOT/.venv}" PYTHON="${PYTHON:-python3}"
TORCH_MODE="${FASRNET_TORCH:-pinned}" MMCV_VERSION=2.1.0
CONSTRAINTS_SRC="$ROOT/requirements/constraints.txt"
case "$TORCH_MODE" in pinned|system) ;; *) die "FASRNET_TORCH must be 'pinned' or 'system', not '$TORCH_MODE'" ;; esac
case "${FASRNET_NUMPY:-auto}" in auto|pinned|system) ;; *) die "FASRNET_NUMPY must be 'auto', 'pinned' or 'system', not '$FASRNET_NUMPY'" ;; esac
PROBE_PY="$PYTHON"; [ -x "$VENV/bin/python" ] && PROBE_PY="$VENV/bin/python"  # the venv's, once made
T0=$(date +%s)
log() { echo "[install $(( $(date +%s) - T0 ))s] $*"; }

# ---- offline: everything from the wheelhouse (pip's PIP_NO_INDEX / PIP_FIND_LINKS), nothing else
if [ -n "$OFFLINE" ]; then
  [ -d "$OFFLINE" ] || die "--offline $OFFLINE: no such folder (make it with tools/make_wheelhouse.sh on a connected machine)"
  OFFLINE="$(cd "$OFFLINE" && pwd)"
  ls "$OFFLINE"/mmcv-$MMCV_VERSION[.-]* >/dev/null 2>&1 \
    || die "--offline $OFFLINE has no mmcv-$MMCV_VERSION sdist or wheel: it is not a wheelhouse from tools/make_wheelhouse.sh"
  WANT_PY="$(sed -n 's/^python_version=//p' "$OFFLINE/wheelhouse.txt" 2>/dev/null || true)"
  HAVE_PY="$(pyver "$PROBE_PY")"
  [ -z "$WANT_PY" ] || [ "$WANT_PY" = "$HAVE_PY" ] \
    || die "--offline $OFFLINE was made for Python $WANT_PY but this install uses Python $HAVE_PY: rerun tools/make_wheelhouse.sh with --python-version $HAVE_PY"
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$OFFLINE"
fi

SETTINGS=("$ROOT/tools/install_settings.py" settings --constraints "$CONSTRAINTS_SRC" --torch "$TORCH_MODE"
          --numpy "${FASRNET_NUMPY:-auto}" --cache-root "${FASRNET_WHEEL_CACHE:-$HOME/.cache/fasrnet_mmpose/wheels}")
if [ "$DRY_RUN" = 1 ]; then
  echo "venv:        $VENV ($([ -x "$VENV/bin/python" ] && echo existing || echo "to create with $PYTHON -m venv$([ "$TORCH_MODE" = system ] && echo ' --system-site-packages')"))"
  echo "offline:     ${OFFLINE:-no} $([ -n "$OFFLINE" ] && echo '(pip --no-index --find-links)')"
  echo "torch:       $TORCH_MODE $([ "$TORCH_MODE" = system ] && echo '(kept, not reinstalled)' || echo '(from requirements/constraints.txt)')"
  "$PROBE_PY" "${SETTINGS[@]}" | sed 's/^/setting:     /'
  exit "${PIPESTATUS[0]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  VENV_ARGS=()
  [ "$TORCH_MODE" = system ] && VENV_ARGS=(--system-site-packages)
  log "creating virtual environment $VENV with $PYTHON ($("$PYTHON" --version 2>&1)) ${VENV_ARGS[*]:-}"
  "$PYTHON" -m venv "${VENV_ARGS[@]}" "$VENV"
fi
PY="$VENV/bin/python" WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PIP=("$PY" -m pip install --disable-pip-version-check)

if [ "$TORCH_MODE" = system ]; then
  "$PY" -c 'import torch' 2>/dev/null || die "FASRNET_TORCH=system but torch does not import in $VENV (made from $PYTHON): install torch for that interpreter, or unset FASRNET_TORCH"
fi
log "build tools"
"${PIP[@]}" -c "$CONSTRAINTS_SRC" setuptools wheel
if [ "$TORCH_MODE" = pinned ]; then
  log "torch + torchvision"
  "${PIP[@]}" -c "$CONSTRAINTS_SRC" torch torchvision
fi
# the settings with the venv's torch and numpy (NAME='value' lines), and the effective constraints
OUT="$("$PY" "${SETTINGS[@]}" --write-constraints "$WORK/constraints.txt" 2>"$WORK/settings.err")" \
  || { cat "$WORK/settings.err" >&2; exit 1; }
eval "$OUT"
if [ "$TORCH_MODE" = system ]; then
  log "torch $TORCH_VERSION / torchvision ${TORCHVISION_VERSION:-none} of the machine are kept"
  [ -n "$TORCHVISION_VERSION" ] || die "FASRNET_TORCH=system but torchvision does not import (mmpose.apis needs it): install the torchvision matching torch $TORCH_VERSION"
fi
PIP+=(-c "$WORK/constraints.txt")
if [ "$NUMPY_MODE" = system ]; then
  log "numpy $NUMPY_VERSION of the machine is kept"
else
  log "numpy $NUMPY_VERSION (before anything that could pull another numpy)"
  "${PIP[@]}" numpy
fi
[ -n "${WARNING:-}" ] && log "WARNING: $WARNING"

# ---- mmcv with compiled ops: ok = version 2.1.0, ops load, CUDA ops present when wanted
mmcv_ok() {
  "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'; assert '$FORCE_CUDA' != '1' \
or mmcv.ops.get_compiling_cuda_version() not in ('', 'not available')" >/dev/null 2>&1
}
log "mmcv settings: FORCE_CUDA=$FORCE_CUDA TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-none} MAX_JOBS=$MAX_JOBS -std=$CXX_STD ($CXX_STD_SOURCE) cache $MMCV_CACHE"
mkdir -p "$MMCV_CACHE"
FIND=(--find-links "$MMCV_CACHE")
[ -n "${PIP_FIND_LINKS:-}" ] && FIND+=(--find-links "$PIP_FIND_LINKS")
if mmcv_ok; then
  log "mmcv $MMCV_VERSION with ops already installed"
elif "${PIP[@]}" --only-binary mmcv "${FIND[@]}" mmcv 2>/dev/null && mmcv_ok; then
  log "mmcv installed from an existing wheel"
else
  log "no matching mmcv wheel: building mmcv $MMCV_VERSION from source ($([ "$FORCE_CUDA" = 1 ] && echo "CUDA ops for $TORCH_CUDA_ARCH_LIST" || echo "CPU ops"); 15-30 min on 2 cores)"
  "${PIP[@]}" ninja psutil
  SDIST="${OFFLINE:-$WORK}/mmcv-$MMCV_VERSION.tar.gz"
  [ -n "$OFFLINE" ] || "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: -d "$WORK" "mmcv==$MMCV_VERSION" >/dev/null
  [ -f "$SDIST" ] || die "the wheelhouse $OFFLINE has no mmcv-$MMCV_VERSION.tar.gz"
  tar -xzf "$SDIST" -C "$WORK"
  # mmcv 2.1.0 hard-codes -std=c++17; torch >= 2.14 headers require C++20
  [ "$CXX_STD" = c++17 ] || sed -i "s/-std=c++17/-std=$CXX_STD/g" "$WORK/mmcv-$MMCV_VERSION/setup.py"
  # CFLAGS replaces Python's defaults (without -O3 the ops run > 2x slower)
  BUILD_ENV=(MMCV_WITH_OPS=1 MAX_JOBS="$MAX_JOBS" FORCE_CUDA="$FORCE_CUDA" CFLAGS="-Wsign-compare -DNDEBUG -g0 -fwrapv -O3 -Wall")
  [ "$FORCE_CUDA" = 1 ] && BUILD_ENV+=(TORCH_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST")
  # a toolkit without cusparse.h & co. (nvcc + runtime only): the headers of torch's pip CUDA packages
  [ -n "${CUDA_CPATH:-}" ] && BUILD_ENV+=(CPATH="$CUDA_CPATH${CPATH:+:$CPATH}")
  ( cd "$WORK/mmcv-$MMCV_VERSION" && \
    env "${BUILD_ENV[@]}" "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation -w "$WORK/dist" . )
  cp "$WORK"/dist/mmcv-*.whl "$MMCV_CACHE"/
  "${PIP[@]}" --force-reinstall --no-deps "$WORK"/dist/mmcv-*.whl
  mmcv_ok || die "mmcv was built into $MMCV_CACHE but 'import mmcv.ops' fails (or has no CUDA ops although FORCE_CUDA=1)"
fi

# ---- xtcocotools (its wheels are numpy-1.x builds: built from its sdist with numpy 2), OpenMMLab
log "xtcocotools"
"${PIP[@]}" Cython setuptools
NO_BINARY=(); [ "$NUMPY2" = 1 ] && NO_BINARY=(--no-binary xtcocotools)
"${PIP[@]}" --no-build-isolation "${NO_BINARY[@]}" xtcocotools
log "mmengine, mmdet, mmpose runtime dependencies"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"
log "mmpose (--no-deps: chumpy is not needed and does not build)"
"${PIP[@]}" --no-deps mmpose
log "fasrnet_mmpose (editable) + test requirements"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
"${PIP[@]}" -r "$ROOT/requirements/tests.txt"
"$PY" -c "import numpy, torch, mmcv, mmcv.ops, mmengine, mmdet, mmpose, mmpose.apis, xtcocotools.cocoeval
import fasrnet_mmpose
print(f'numpy {numpy.__version__} torch {torch.__version__} mmcv {mmcv.__version__} (ops CUDA: \
{mmcv.ops.get_compiling_cuda_version()}) mmengine {mmengine.__version__} mmdet {mmdet.__version__} mmpose {mmpose.__version__}')"
log "done: activate with 'source $VENV/bin/activate'"
