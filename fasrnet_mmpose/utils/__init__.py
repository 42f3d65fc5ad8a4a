# Copyright (c) OpenMMLab. All rights reserved.
"""Utilities. Importing this package registers the plugin's checkpoint loaders with mmengine's
``CheckpointLoader``; exactly what that changes is in docs/model_zoo.md."""

from .checkpoint import (
    ALLOWED_GLOBALS,
    CheckpointDownloadError,
    CheckpointError,
    CheckpointHashError,
    UntrustedCheckpointError,
    file_url_to_path,
    get_checkpoint_cache_dir,
    get_hash_prefix,
    load_checkpoint_file,
    safe_load,
    sha256_of_file,
)
from .cli import check_device, mmlogger_level, run_cli
from .weights_check import CheckpointCompletenessHook, WeightsMismatchError, check_weights

__all__ = [
    'ALLOWED_GLOBALS',
    'CheckpointCompletenessHook',
    'CheckpointDownloadError',
    'CheckpointError',
    'CheckpointHashError',
    'UntrustedCheckpointError',
    'WeightsMismatchError',
    'check_device',
    'check_weights',
    'file_url_to_path',
    'get_checkpoint_cache_dir',
    'get_hash_prefix',
    'load_checkpoint_file',
    'mmlogger_level',
    'run_cli',
    'safe_load',
    'sha256_of_file',
]
