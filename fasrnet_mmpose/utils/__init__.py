# Copyright (c) OpenMMLab. All rights reserved.
"""Utilities. Importing this package registers the plugin's checkpoint loaders with mmengine's
``CheckpointLoader`` (``''`` and ``http(s)://`` replaced, ``file://`` added); exactly what that
changes is in docs/model_zoo.md and :mod:`fasrnet_mmpose.utils.checkpoint`."""

from .checkpoint import (
    ALLOWED_GLOBALS,
    CheckpointDownloadError,
    CheckpointError,
    CheckpointHashError,
    UntrustedCheckpointError,
    download_checkpoint,
    file_url_to_path,
    get_checkpoint_cache_dir,
    get_hash_prefix,
    load_checkpoint_file,
    register_checkpoint_loaders,
    safe_load,
    sha256_of_file,
)
from .cli import DeviceError, check_device, run_cli
from .dist_utils import setup_cpu_distributed, teardown_distributed
from .logger_utils import mmlogger_level
from .weights_check import CheckpointCompletenessHook, WeightsMismatchError, check_weights

__all__ = [
    'ALLOWED_GLOBALS',
    'CheckpointCompletenessHook',
    'CheckpointDownloadError',
    'CheckpointError',
    'CheckpointHashError',
    'DeviceError',
    'UntrustedCheckpointError',
    'WeightsMismatchError',
    'check_device',
    'check_weights',
    'download_checkpoint',
    'file_url_to_path',
    'get_checkpoint_cache_dir',
    'get_hash_prefix',
    'load_checkpoint_file',
    'mmlogger_level',
    'register_checkpoint_loaders',
    'run_cli',
    'safe_load',
    'setup_cpu_distributed',
    'sha256_of_file',
    'teardown_distributed',
]
