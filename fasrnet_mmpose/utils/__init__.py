# Copyright (c) OpenMMLab. All rights reserved.
"""Utilities. Importing this package registers the plugin's checkpoint loaders
(local paths under torch >= 2.6, ``file://``, hash-checked ``http(s)://``) with
mmengine's ``CheckpointLoader``; see :mod:`fasrnet_mmpose.utils.checkpoint`."""

from .checkpoint import (
    CheckpointDownloadError,
    CheckpointHashError,
    download_checkpoint,
    file_url_to_path,
    get_checkpoint_cache_dir,
    get_hash_prefix,
    load_checkpoint_file,
    register_checkpoint_loaders,
    sha256_of_file,
)
from .dist_utils import setup_cpu_distributed, teardown_distributed
from .logger_utils import mmlogger_level

__all__ = [
    'CheckpointDownloadError',
    'CheckpointHashError',
    'download_checkpoint',
    'file_url_to_path',
    'get_checkpoint_cache_dir',
    'get_hash_prefix',
    'load_checkpoint_file',
    'mmlogger_level',
    'register_checkpoint_loaders',
    'sha256_of_file',
    'setup_cpu_distributed',
    'teardown_distributed',
]
