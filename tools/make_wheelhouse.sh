#!/usr/bin/env bash
# Collect, on a connected machine, every wheel and sdist fasrnet_mmpose needs beyond torch, for an
# air-gapped machine that then runs `bash tools/install.sh --offline DIR` (README "Installation").
#
#   bash tools/make_wheelhouse.sh DIR [--python-version 3.12] [--platform manylinux_2_28_x86_64]
#                                     [--extra FILE]... [--dry-run]
#
#   --python-version / --platform: the target's Python X.Y (default: this one's) and wheel platform
#   tag; --extra FILE: copy FILE into DIR too (e.g. a prebuilt mmcv wheel); --dry-run: print only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad() { echo "make_wheelhouse.sh: $*" >&2; exit 2; }

PYTHON="${PYTHON:-python3}" PLATFORM="manylinux_2_28_x86_64"
DIR="" PYVER="" DRY_RUN=0 EXTRAS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --python-version) [ $# -ge 2 ] || bad "--python-version needs X.Y (e.g. 3.12)"; PYVER="$2"; shift 2 ;;
    --platform) [ $# -ge 2 ] || bad "--platform needs a wheel platform tag (e.g. manylinux_2_28_x86_64)"; PLATFORM="$2"; shift 2 ;;
    --extra) [ $# -ge 2 ] || bad "--extra needs a file"; [ -f "$2" ] || bad "--extra $2: no such file"; EXTRAS+=("$2"); shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) bad "unknown option '$1' (see --help)" ;;
    *) [ -z "$DIR" ] || bad "one output folder only (got '$DIR' and '$1')"; DIR="$1"; shift ;;
  esac
done
[ -n "$DIR" ] || bad "give the output folder: make_wheelhouse.sh DIR [--python-version X.Y] (see --help)"
[ -n "$PYVER" ] || PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[[ "$PYVER" =~ ^3\.[0-9]+$ ]] || bad "--python-version must look like 3.12, not '$PYVER'"
ABI="cp${PYVER/./}"

CONSTRAINTS_SRC="$ROOT/requirements/constraints.txt" WORK="$(mktemp -d)"
pin() { sed -n "s/^$1==//p" "$CONSTRAINTS_SRC"; }
trap 'rm -rf "$WORK"' EXIT
# the pins without torch's own stack; the runtime requirements without xtcocotools (fetched below)
"$PYTHON" "$ROOT/tools/install_settings.py" wheelhouse-constraints --constraints "$CONSTRAINTS_SRC" --out "$WORK/constraints.txt"
grep -v -i '^xtcocotools' "$ROOT/requirements/runtime.txt" > "$WORK/runtime.txt"

# pip < 24 takes --platform literally: list the older manylinux tags a glibc-2.N machine accepts too
PLATFORMS=(--platform "$PLATFORM")
if [[ "$PLATFORM" =~ ^manylinux_2_([0-9]+)_(.+)$ ]]; then
  MINOR="${BASH_REMATCH[1]}"; ARCH="${BASH_REMATCH[2]}"
  for ((m = MINOR - 1; m >= 5; m--)); do PLATFORMS+=(--platform "manylinux_2_${m}_$ARCH"); done
  [ "$MINOR" -ge 17 ] && PLATFORMS+=(--platform "manylinux2014_$ARCH")
  [ "$MINOR" -ge 12 ] && PLATFORMS+=(--platform "manylinux2010_$ARCH")
  PLATFORMS+=(--platform "manylinux1_$ARCH")
fi
DL=("$PYTHON" -m pip download --disable-pip-version-check -d "$DIR")
TARGET=("${DL[@]}" --python-version "$PYVER" --implementation cp --abi "$ABI" "${PLATFORMS[@]}" --only-binary :all:)
CMDS=(  # binary wheels with the pins; mmpose without its chumpy requirement; the numpy-2 pins;
        # the sdists built on the target against its torch / numpy
  "$(printf '%q ' "${TARGET[@]}" -c "$WORK/constraints.txt" setuptools wheel Cython ninja psutil numpy addict packaging pyyaml yapf -r "$WORK/runtime.txt" -r "$ROOT/requirements/tests.txt")"
  "$(printf '%q ' "${TARGET[@]}" --no-deps "mmpose==$(pin mmpose)")"
  "$(printf '%q ' "${TARGET[@]}" --no-deps -r "$ROOT/requirements/constraints-numpy2.txt")"
  "$(printf '%q ' "${DL[@]}" --no-deps --no-binary :all: "mmcv==$(pin mmcv)" "xtcocotools==$(pin xtcocotools)")"
)
# xtcocotools' binary wheel where one exists for the target (numpy 1.x machines skip the build)
OPTIONAL="$(printf '%q ' "${TARGET[@]}" --no-deps "xtcocotools==$(pin xtcocotools)")"

if [ "$DRY_RUN" = 1 ]; then
  echo "wheelhouse $DIR for Python $PYVER ($ABI) on $PLATFORM"
  printf 'pip: %s\n' "${CMDS[@]}" "$OPTIONAL"
  for f in "${EXTRAS[@]}"; do echo "copy: $f"; done
  exit 0
fi

T0=$(date +%s)
mkdir -p "$DIR"
for cmd in "${CMDS[@]}"; do
  echo "[wheelhouse $(( $(date +%s) - T0 ))s] $cmd"
  eval "$cmd"
done
eval "$OPTIONAL" || echo "[wheelhouse] (no binary wheel for $ABI/$PLATFORM: the sdist is built on the target)"
for f in "${EXTRAS[@]}"; do cp "$f" "$DIR"/; done
printf '%s\n' "# made by tools/make_wheelhouse.sh; install with: bash tools/install.sh --offline $DIR" \
  "python_version=$PYVER" "abi=$ABI" "platform=$PLATFORM" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "not_included=torch torchvision (and their CUDA/triton packages): the target's own" > "$DIR/wheelhouse.txt"
echo "[wheelhouse $(( $(date +%s) - T0 ))s] $DIR: $(ls "$DIR" | wc -l) files, $(du -sh "$DIR" | cut -f1)"
