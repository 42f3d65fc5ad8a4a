# Copyright (c) OpenMMLab. All rights reserved.
"""Config edits of ``tools/train.py``/``tools/test.py``: ``--smoke`` and worker-less loaders."""

import argparse
from typing import Iterable

from mmengine.config import Config

#: the dataloaders a config may define
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: the option a download failure of ``init_cfg`` weights points to
SMOKE_HINT = (
    'For an offline smoke test add --smoke to tools/train.py (random initial weights, nothing is '
    'downloaded; docs/training.md); for a real run without the COCO HRNet weights set '
    '--cfg-options model.backbone.init_cfg=None model.head.init_cfg=None'
)


def _loaders(cfg: Config, keys: Iterable[str] = DATALOADER_KEYS):
    return [cfg[k] for k in keys if isinstance(cfg.get(k), dict)]


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """Set ``persistent_workers=False`` on every dataloader with ``num_workers=0``.

    torch's ``DataLoader`` refuses ``persistent_workers=True`` without workers, so lowering
    ``num_workers`` to 0 (e.g. ``--cfg-options train_dataloader.num_workers=0`` for debugging)
    would otherwise also need ``persistent_workers=False`` on each loader.

    Args:
        cfg (Config): The run config (changed in place).
    """
    for loader in _loaders(cfg):
        if loader.get('num_workers', 0) == 0 and loader.get('persistent_workers'):
            loader.persistent_workers = False


def _drop_pretrained(init_cfg):
    """``init_cfg`` without its ``Pretrained`` entries (``None`` when nothing is left)."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    kept = [c for c in cfgs if c is not None and c.get('type') != 'Pretrained']
    if not kept:
        return None
    return kept if isinstance(init_cfg, (list, tuple)) else kept[0]


def add_smoke_argument(parser: argparse.ArgumentParser, does: str) -> None:
    """Add ``--smoke [N]`` (default 8 samples) to a tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        does (str): What the option does in that tool (the help text, before the docs pointer).
    """
    parser.add_argument(
        '--smoke',
        nargs='?',
        type=int,
        const=8,
        metavar='N',
        help=f'quick offline smoke test: {does} (see docs/training.md)',
    )


def apply_smoke_settings(cfg: Config, num_samples: int) -> None:
    """Turn a config into a quick offline smoke test of the tool.

    * every ``Pretrained`` ``init_cfg`` of the model, its backbone, neck and head is dropped:
      random initial weights, nothing is downloaded (``tools/test.py`` loads its checkpoint as
      usual);
    * every dataloader uses the first ``num_samples`` samples of its dataset (mmengine's
      ``BaseDataset(indices=N)``), no worker processes (``num_workers=0``,
      ``persistent_workers=False``) and a batch of at most ``num_samples``;
    * training runs one epoch, validated at its end; the logger logs every iteration.

    Args:
        cfg (Config): The run config (changed in place).
        num_samples (int): Samples per dataset (>= 1).
    """
    if num_samples < 1:
        raise ValueError(f'--smoke needs a number of samples >= 1, got {num_samples}')
    model = cfg.model
    for part in (model, model.get('backbone'), model.get('neck'), model.get('head')):
        if isinstance(part, dict) and part.get('init_cfg') is not None:
            part.init_cfg = _drop_pretrained(part.init_cfg)
    for loader in _loaders(cfg):
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = min(loader.get('batch_size', 1), num_samples)
        loader.dataset.indices = num_samples
    if isinstance(cfg.get('train_cfg'), dict) and cfg.train_cfg.get('by_epoch', True):
        cfg.train_cfg.max_epochs = 1
        if 'val_interval' in cfg.train_cfg:
            cfg.train_cfg.val_interval = 1
    if 'logger' in cfg.get('default_hooks', {}):
        cfg.default_hooks.logger.interval = 1
