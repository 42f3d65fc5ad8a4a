#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# The one launcher behind tools/dist_train.sh, dist_test.sh, slurm_train.sh and slurm_test.sh:
# mmpose's four scripts share this body (torchrun or srun around tools/SCRIPT), kept once here.
# Usage: bash tools/launch.sh dist GPUS SCRIPT [SCRIPT args]
#        bash tools/launch.sh slurm PARTITION JOB_NAME SCRIPT [SCRIPT args]
# Environment (as mmpose's scripts): dist: NNODES, NODE_RANK, PORT, MASTER_ADDR;
# slurm: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS; both: PYTHON.
TOOLS_DIR=$(dirname "$0")
PYTHON=${PYTHON:-python}
export PYTHONPATH="$TOOLS_DIR/..":$PYTHONPATH

case "$1" in
dist)
    GPUS=$2
    SCRIPT=$3
    $PYTHON -m torch.distributed.run \
        --nnodes=${NNODES:-1} \
        --node_rank=${NODE_RANK:-0} \
        --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
        --nproc_per_node=$GPUS \
        --master_port=${PORT:-29500} \
        "$TOOLS_DIR/$SCRIPT" "${@:4}"
    ;;
slurm)
    set -x
    PARTITION=$2
    JOB_NAME=$3
    SCRIPT=$4
    GPUS=${GPUS:-8}
    GPUS_PER_NODE=${GPUS_PER_NODE:-8}
    srun -p ${PARTITION} \
        --job-name=${JOB_NAME} \
        --gres=gpu:${GPUS_PER_NODE} \
        --ntasks=${GPUS} \
        --ntasks-per-node=${GPUS_PER_NODE} \
        --cpus-per-task=${CPUS_PER_TASK:-5} \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS} \
        $PYTHON -u "$TOOLS_DIR/$SCRIPT" "${@:5}"
    ;;
*)
    echo "tools/launch.sh: first argument must be 'dist' or 'slurm', got '$1'" >&2
    exit 2
    ;;
esac
