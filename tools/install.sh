#!/usr/bin/env bash
# Install fasrnet_mmpose and its whole, pinned stack into a virtual environment.
#
#   bash tools/install.sh                     # fresh machine -> ./.venv (FASRNET_VENV=/path)
#   FASRNET_TORCH=system bash tools/install.sh            # keep the machine's torch/torchvision
#   FASRNET_TORCH=system bash tools/install.sh --offline DIR   # air-gapped, from a wheelhouse
#   bash tools/install.sh --dry-run           # print the plan and the build settings, change nothing
#
# Environment (README "Installation" explains every path):
#   FASRNET_VENV    virtual environment (default ./.venv; an existing one is reused as it is)
#   PYTHON          interpreter that creates the venv (default python3)
#   FASRNET_TORCH   pinned (default): torch 2.14.1 + torchvision 0.29.1 from the package index;
#                   system: the venv is created with --system-site-packages and the torch/
#                   torchvision PYTHON already has are kept (pinned to their versions, never
#                   reinstalled)
#   FASRNET_NUMPY   auto (default: the machine's numpy with FASRNET_TORCH=system, else pinned),
#                   pinned (numpy 1.26.4) or system. A numpy 2.x gets requirements/constraints-
#                   numpy2.txt and xtcocotools built from its sdist against it.
#   FASRNET_WHEEL_CACHE  root of the built-mmcv cache (default ~/.cache/fasrnet_mmpose/wheels);
#                   one folder per torch / CUDA / ops flavour, see tools/install_settings.py
#   FORCE_CUDA, TORCH_CUDA_ARCH_LIST, MAX_JOBS, FASRNET_CXX_STD   override the detected mmcv
#                   build settings (default: CUDA ops when a GPU and nvcc are visible, the arch
#                   list of the visible GPUs, one job per core / 2 GiB, the C++ standard the
#                   torch headers require)
#   PIP_FIND_LINKS  pip's own variable: a folder with prebuilt wheels (e.g. ../shared/wheels)
#
# Steps: venv; torch (unless system); numpy; mmcv 2.1.0 with compiled ops (an existing matching
# wheel from the cache / PIP_FIND_LINKS / the wheelhouse, else the sdist is built and cached);
# xtcocotools; mmengine, mmdet, mmpose (--no-deps: its chumpy requirement does not build) and
# mmpose's real runtime deps; this package (editable) and the test requirements; an import check.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }

OFFLINE=""
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --offline)
      [ $# -ge 2 ] || { echo "install.sh: --offline needs a wheelhouse folder (made by tools/make_wheelhouse.sh)" >&2; exit 2; }
      OFFLINE="$2"; shift 2 ;;
    --offline=*) OFFLINE="${1#--offline=}"; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

VENV="${FASRNET_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_MODE="${FASRNET_TORCH:-pinned}"
NUMPY_MODE_REQ="${FASRNET_NUMPY:-auto}"
CONSTRAINTS_SRC="$ROOT/requirements/constraints.txt"
CACHE_ROOT="${FASRNET_WHEEL_CACHE:-$HOME/.cache/fasrnet_mmpose/wheels}"
MMCV_VERSION=2.1.0
XTCOCO_VERSION="$(sed -n 's/^xtcocotools==//p' "$CONSTRAINTS_SRC")"
case "$TORCH_MODE" in pinned|system) ;; *) die "FASRNET_TORCH must be 'pinned' or 'system', not '$TORCH_MODE'" ;; esac
case "$NUMPY_MODE_REQ" in auto|pinned|system) ;; *) die "FASRNET_NUMPY must be 'auto', 'pinned' or 'system', not '$NUMPY_MODE_REQ'" ;; esac

T0=$(date +%s)
log() { echo "[install $(( $(date +%s) - T0 ))s] $*"; }

# ---- offline: everything from the wheelhouse, nothing from an index --------------------------------
if [ -n "$OFFLINE" ]; then
  [ -d "$OFFLINE" ] || die "--offline $OFFLINE: no such folder (make it with tools/make_wheelhouse.sh on a connected machine)"
  OFFLINE="$(cd "$OFFLINE" && pwd)"
  ls "$OFFLINE"/mmcv-$MMCV_VERSION[.-]* >/dev/null 2>&1 \
    || die "--offline $OFFLINE has no mmcv-$MMCV_VERSION sdist or wheel: it is not a wheelhouse from tools/make_wheelhouse.sh"
  if [ -f "$OFFLINE/wheelhouse.txt" ]; then
    WANT_PY="$(sed -n 's/^python_version=//p' "$OFFLINE/wheelhouse.txt")"
    HAVE_PY="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
    [ -x "$VENV/bin/python" ] && HAVE_PY="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    [ -z "$WANT_PY" ] || [ "$WANT_PY" = "$HAVE_PY" ] \
      || die "--offline $OFFLINE was made for Python $WANT_PY but this install uses Python $HAVE_PY: rerun tools/make_wheelhouse.sh with --python-version $HAVE_PY"
  fi
  # pip's own variables: no index at all, only the wheelhouse (replaces find-links of pip.conf)
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$OFFLINE"
fi

# ---- the settings this machine gets (printed by --dry-run) ------------------------------------------
SETTINGS_ARGS=(settings --constraints "$CONSTRAINTS_SRC" --torch "$TORCH_MODE" --numpy "$NUMPY_MODE_REQ" --cache-root "$CACHE_ROOT")
if [ "$DRY_RUN" = 1 ]; then
  PROBE_PY="$PYTHON"; [ -x "$VENV/bin/python" ] && PROBE_PY="$VENV/bin/python"
  echo "venv:        $VENV ($([ -x "$VENV/bin/python" ] && echo existing || echo "to create with $PYTHON -m venv$([ "$TORCH_MODE" = system ] && echo ' --system-site-packages')"))"
  echo "offline:     ${OFFLINE:-no} $([ -n "$OFFLINE" ] && echo '(pip --no-index --find-links)')"
  echo "torch:       $TORCH_MODE $([ "$TORCH_MODE" = system ] && echo '(kept, not reinstalled)' || echo '(from requirements/constraints.txt)')"
  "$PROBE_PY" "$ROOT/tools/install_settings.py" "${SETTINGS_ARGS[@]}" | sed 's/^/setting:     /'
  exit "${PIPESTATUS[0]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  VENV_ARGS=()
  [ "$TORCH_MODE" = system ] && VENV_ARGS=(--system-site-packages)
  log "creating virtual environment $VENV with $PYTHON ($("$PYTHON" --version 2>&1)) ${VENV_ARGS[*]:-}"
  "$PYTHON" -m venv "${VENV_ARGS[@]}" "$VENV"
fi
PY="$VENV/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CONSTRAINTS="$WORK/constraints.txt"

settings() {  # (re)compute the settings with the venv's torch and numpy, export them
  local out
  out="$("$PY" "$ROOT/tools/install_settings.py" "${SETTINGS_ARGS[@]}" --write-constraints "$CONSTRAINTS" 2>/dev/null)" \
    || { "$PY" "$ROOT/tools/install_settings.py" "${SETTINGS_ARGS[@]}" --write-constraints "$CONSTRAINTS" >/dev/null; exit 1; }
  eval "$out"
}
PIP=("$PY" -m pip install --disable-pip-version-check)

if [ "$TORCH_MODE" = system ]; then
  "$PY" -c 'import torch' 2>/dev/null || die "FASRNET_TORCH=system but torch does not import in $VENV (made from $PYTHON): install torch for that interpreter, or unset FASRNET_TORCH"
  log "build tools"
  "${PIP[@]}" -c "$CONSTRAINTS_SRC" setuptools wheel
  settings
  log "torch $TORCH_VERSION / torchvision ${TORCHVISION_VERSION:-none} of the machine are kept"
  [ -n "$TORCHVISION_VERSION" ] || die "FASRNET_TORCH=system but torchvision does not import (mmpose.apis needs it): install the torchvision matching torch $TORCH_VERSION"
else
  log "build tools"
  "${PIP[@]}" -c "$CONSTRAINTS_SRC" setuptools wheel
  log "torch + torchvision"
  "${PIP[@]}" -c "$CONSTRAINTS_SRC" torch torchvision
  settings
fi
PIP+=(-c "$CONSTRAINTS")
if [ "$NUMPY_MODE" = system ]; then
  log "numpy $NUMPY_VERSION of the machine is kept"
else
  log "numpy $NUMPY_VERSION (before anything that could pull another numpy)"
  "${PIP[@]}" numpy
fi
[ -n "${WARNING:-}" ] && log "WARNING: $WARNING"

# ---- mmcv with compiled ops -------------------------------------------------------------------------
# ok = version 2.1.0, ops load, and CUDA ops present when they are wanted
mmcv_ok() {
  FORCE_CUDA="$FORCE_CUDA" "$PY" - >/dev/null 2>&1 <<'PY'
import os
import mmcv, mmcv.ops
assert mmcv.__version__ == '2.1.0'
if os.environ['FORCE_CUDA'] == '1':
    from mmcv.ops import get_compiling_cuda_version
    assert get_compiling_cuda_version() not in ('', 'not available')
PY
}
fetch_sdist() {  # $1 = name, $2 = version -> path of the sdist (wheelhouse offline, else the index)
  local f
  f="$(ls "${OFFLINE:-/nonexistent}/$1-$2.tar.gz" 2>/dev/null || true)"
  if [ -z "$f" ]; then
    [ -z "$OFFLINE" ] || die "the wheelhouse $OFFLINE has no $1-$2.tar.gz"
    "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: -d "$WORK" "$1==$2" >/dev/null
    f="$WORK/$1-$2.tar.gz"
  fi
  echo "$f"
}
log "mmcv settings: FORCE_CUDA=$FORCE_CUDA TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-none} MAX_JOBS=$MAX_JOBS -std=$CXX_STD ($CXX_STD_SOURCE) cache $MMCV_CACHE"
if mmcv_ok; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  mkdir -p "$MMCV_CACHE"
  FIND=(--find-links "$MMCV_CACHE")
  [ -n "${PIP_FIND_LINKS:-}" ] && FIND+=(--find-links "$PIP_FIND_LINKS")
  if "${PIP[@]}" --only-binary mmcv "${FIND[@]}" mmcv 2>/dev/null && mmcv_ok; then
    log "mmcv installed from an existing wheel"
  else
    log "no matching mmcv wheel: building mmcv $MMCV_VERSION from source ($([ "$FORCE_CUDA" = 1 ] && echo "CUDA ops for $TORCH_CUDA_ARCH_LIST" || echo "CPU ops"); 15-30 min on 2 cores)"
    "${PIP[@]}" ninja psutil
    tar -xzf "$(fetch_sdist mmcv $MMCV_VERSION)" -C "$WORK"
    # mmcv 2.1.0 hard-codes -std=c++17; torch >= 2.14 headers require C++20
    [ "$CXX_STD" = c++17 ] || sed -i "s/-std=c++17/-std=$CXX_STD/g" "$WORK/mmcv-$MMCV_VERSION/setup.py"
    BUILD_ENV=(MMCV_WITH_OPS=1 MAX_JOBS="$MAX_JOBS" FORCE_CUDA="$FORCE_CUDA"
               CFLAGS="-Wsign-compare -DNDEBUG -g0 -fwrapv -O3 -Wall")  # CFLAGS replaces Python's defaults
    [ "$FORCE_CUDA" = 1 ] && BUILD_ENV+=(TORCH_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST")
    # a toolkit without cusparse.h & co. (nvcc + runtime only): the headers of torch's pip CUDA packages
    [ -n "${CUDA_CPATH:-}" ] && BUILD_ENV+=(CPATH="$CUDA_CPATH${CPATH:+:$CPATH}")
    ( cd "$WORK/mmcv-$MMCV_VERSION" && \
      env "${BUILD_ENV[@]}" "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation -w "$WORK/dist" . )
    cp "$WORK"/dist/mmcv-*.whl "$MMCV_CACHE"/
    "${PIP[@]}" --force-reinstall --no-deps "$WORK"/dist/mmcv-*.whl
    mmcv_ok || die "mmcv was built into $MMCV_CACHE but 'import mmcv.ops' fails (or has no CUDA ops although FORCE_CUDA=1)"
  fi
fi

# ---- xtcocotools: its wheels are numpy-1.x builds; with numpy 2 it is built from its sdist ------------
log "xtcocotools $XTCOCO_VERSION"
"${PIP[@]}" Cython setuptools
if [ "$NUMPY2" = 1 ]; then
  "${PIP[@]}" --no-build-isolation --no-binary xtcocotools xtcocotools
else
  "${PIP[@]}" --no-build-isolation xtcocotools
fi

# ---- OpenMMLab stack --------------------------------------------------------------------------------
log "mmengine, mmdet, mmpose runtime dependencies"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"
log "mmpose (--no-deps: chumpy is not needed and does not build)"
"${PIP[@]}" --no-deps mmpose
log "fasrnet_mmpose (editable) + test requirements"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
"${PIP[@]}" -r "$ROOT/requirements/tests.txt"

"$PY" - <<'PY'
import numpy, torch, mmcv, mmcv.ops, mmengine, mmdet, mmpose, mmpose.apis  # noqa: F401
import xtcocotools.cocoeval  # noqa: F401
from mmcv.ops import get_compiling_cuda_version
import fasrnet_mmpose  # noqa: F401
print(f'numpy {numpy.__version__} torch {torch.__version__} mmcv {mmcv.__version__} '
      f'(ops CUDA: {get_compiling_cuda_version()}) mmengine {mmengine.__version__} '
      f'mmdet {mmdet.__version__} mmpose {mmpose.__version__}')
PY
log "done: activate with 'source $VENV/bin/activate'"
