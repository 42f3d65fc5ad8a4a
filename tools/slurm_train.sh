#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# Usage: GPUS=8 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
exec bash "$(dirname "$0")/launch.sh" slurm "$1" "$2" train.py "$3" --work-dir="$4" \
    --launcher=slurm "${@:5}"
