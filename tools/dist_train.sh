#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# (CPU/gloo: add --cfg-options env_cfg.dist_cfg.backend=gloo; environment: see tools/launch.sh)
exec bash "$(dirname "$0")/launch.sh" dist "$2" train.py "$1" --launcher pytorch "${@:3}"
