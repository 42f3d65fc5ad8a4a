# Copyright (c) OpenMMLab. All rights reserved.
"""Utilities; importing them registers the checkpoint loaders (what changes: docs/model_zoo.md)."""

from .checkpoint import (
    CheckpointDownloadError,
    CheckpointError,
    CheckpointHashError,
    UntrustedCheckpointError,
    WeightsMismatchError,
    check_weights,
    get_checkpoint_cache_dir,
    load_checkpoint_file,
)
from .cli import check_device, mmlogger_level, run_cli

__all__ = [
    'CheckpointDownloadError',
    'CheckpointError',
    'CheckpointHashError',
    'UntrustedCheckpointError',
    'WeightsMismatchError',
    'check_weights',
    'get_checkpoint_cache_dir',
    'load_checkpoint_file',
    'check_device',
    'mmlogger_level',
    'run_cli',
]
