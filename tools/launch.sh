#!/usr/bin/env bash
# Copyright (c) OpenMMLab. All rights reserved.
# torchrun or srun around tools/SCRIPT: the body of dist_{train,test}.sh and slurm_{train,test}.sh.
# Usage: bash tools/launch.sh dist GPUS SCRIPT [args] | slurm PARTITION JOB_NAME SCRIPT [args]
# Environment (as mmpose's scripts): dist: NNODES, NODE_RANK, PORT, MASTER_ADDR;
# slurm: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS; both: PYTHON.
TOOLS_DIR=$(dirname "$0")
PYTHON=${PYTHON:-python}
export PYTHONPATH="$TOOLS_DIR/..":$PYTHONPATH

case "$1" in
dist)
    $PYTHON -m torch.distributed.run --nnodes=${NNODES:-1} --node_rank=${NODE_RANK:-0} \
        --master_addr=${MASTER_ADDR:-"127.0.0.1"} --nproc_per_node=$2 --master_port=${PORT:-29500} \
        "$TOOLS_DIR/$3" "${@:4}"
    ;;
slurm)
    set -x
    GPUS_PER_NODE=${GPUS_PER_NODE:-8}
    srun -p $2 --job-name=$3 --gres=gpu:${GPUS_PER_NODE} --ntasks=${GPUS:-8} \
        --ntasks-per-node=${GPUS_PER_NODE} --cpus-per-task=${CPUS_PER_TASK:-5} --kill-on-bad-exit=1 \
        ${SRUN_ARGS} $PYTHON -u "$TOOLS_DIR/$4" "${@:5}"
    ;;
*)
    echo "tools/launch.sh: first argument must be 'dist' or 'slurm', got '$1'" >&2
    exit 2
    ;;
esac
