# Copyright (c) OpenMMLab. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` add to mmpose's: ``--smoke``, worker-less loaders,
CPU-only distributed runs (docs/training.md, "Our tools and mmpose's")."""

import argparse
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def add_smoke_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--smoke [N]`` (default 8 samples) to a tool's parser."""
    text = 'quick offline smoke test on the first N samples (default 8), see docs/training.md'
    parser.add_argument('--smoke', nargs='?', type=int, const=8, metavar='N', help=text)


def apply_smoke_settings(cfg: Config, num_samples: int) -> None:
    """Drop ``Pretrained`` init_cfgs; ``num_samples`` per dataset, no workers; one epoch."""
    if num_samples < 1:
        raise ValueError(f'--smoke needs a number of samples >= 1, got {num_samples}')
    for part in (cfg.model, *(cfg.model.get(k) for k in ('backbone', 'neck', 'head'))):
        if isinstance(part, dict) and part.get('init_cfg') is not None:
            init = part.init_cfg if isinstance(part.init_cfg, (list, tuple)) else [part.init_cfg]
            part.init_cfg = [c for c in init if c.get('type') != 'Pretrained'] or None
    for loader in [cfg[k] for k in _LOADERS if isinstance(cfg.get(k), dict)]:
        loader.update(num_workers=0, batch_size=min(loader.get('batch_size', 1), num_samples))
        loader.dataset.indices = num_samples
    if isinstance(cfg.get('train_cfg'), dict) and cfg.train_cfg.get('by_epoch', True):
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
    if 'logger' in cfg.get('default_hooks', {}):
        cfg.default_hooks.logger.interval = 1


class _DestroyProcessGroupHook(Hook):
    """mmengine never destroys the process group: gloo's threads can then abort at exit (-6)."""

    def after_run(self, runner) -> None:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def build_runner(cfg: Config, smoke: Optional[int] = None) -> Runner:
    """``Runner.from_cfg(cfg)`` after our edits: ``--smoke N`` (``smoke``), no
    ``persistent_workers`` without workers (torch refuses it), ``--launcher pytorch`` without CUDA
    (gloo process group initialised here, DDP without ``device_ids``)."""
    if smoke is not None:
        apply_smoke_settings(cfg, smoke)
    for loader in [cfg[k] for k in _LOADERS if isinstance(cfg.get(k), dict)]:
        if not loader.get('num_workers'):
            loader.persistent_workers = False
    if cfg.get('launcher') == 'pytorch' and not torch.cuda.is_available():
        if not dist.is_initialized():
            backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
            dist.init_process_group(backend='gloo' if backend == 'nccl' else backend)
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
        )
        cfg.model_wrapper_cfg = dict(wrapper, device_ids=wrapper.get('device_ids'))
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_DestroyProcessGroupHook(), 'LOWEST')
    return runner
