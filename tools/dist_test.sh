#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# (CPU/gloo: add --cfg-options env_cfg.dist_cfg.backend=gloo; environment: see tools/launch.sh)
exec bash "$(dirname "$0")/launch.sh" dist "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
