#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# Usage: GPUS=8 bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
exec bash "$(dirname "$0")/launch.sh" slurm "$1" "$2" test.py "$3" "$4" --launcher=slurm "${@:5}"
