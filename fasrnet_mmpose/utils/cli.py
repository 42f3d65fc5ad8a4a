# Copyright (c) OpenMMLab. All rights reserved.
"""What ``tools/*.py`` share: ``run_cli`` (docs/model_zoo.md), ``check_device``, ``mmlogger_level``;
``add_smoke_argument``/``build_runner``: our train.py/test.py additions (docs/training.md)."""

import argparse
import contextlib
import os
import sys
from typing import Callable, Iterator, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from .checkpoint import TRUST_ENV

DEBUG_ENV = 'FASRNET_DEBUG'
_CUDA_ERRORS = 'no nvidia driver|compiled with cuda|no cuda gpus|cuda driver|device ordinal'


def check_device(device: Optional[str]) -> Optional[str]:
    """Return ``device``; raise a one-line ``ValueError`` for a CUDA device not present."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device and device.startswith('cuda') and int(device.partition(':')[2] or 0) >= count:
        found = f'{count} CUDA device(s)' if count else 'no usable CUDA (driver/GPU)'
        raise ValueError(
            f'--device {device}: this machine has {found} (torch {torch.__version__}); '
            'use --device cpu, or check the GPU with tools/check_gpu.py / nvidia-smi'
        )
    return device


@contextlib.contextmanager
def mmlogger_level(level: int) -> Iterator[MMLogger]:
    """Run a block with mmengine's current ``MMLogger`` at ``level`` (e.g. ``logging.WARNING``)."""
    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield logger
    finally:
        logger.setLevel(previous)


def run_cli(main: Callable[[], Optional[int]], argv: Optional[list] = None) -> int:
    """``main()``'s int (else 0); an error: one ``error: ...`` line and 1 (Ctrl-C: 130), or the
    traceback with ``--debug``/``FASRNET_DEBUG=1``. ``--trust-checkpoint`` sets
    ``FASRNET_TRUST_CHECKPOINT=1``; both options are taken out of ``argv`` (``sys.argv``)."""
    argv = sys.argv if argv is None else argv
    debug = os.environ.get(DEBUG_ENV, '').lower() in ('1', 'true', 'yes') or '--debug' in argv
    if '--trust-checkpoint' in argv:
        os.environ[TRUST_ENV] = '1'
    argv[:] = [a for a in argv if a not in ('--debug', '--trust-checkpoint')]
    try:
        rc = main()
        return rc if isinstance(rc, int) else 0  # some mains return their results
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception as e:  # every error: one line, or the traceback on --debug
        if debug:
            raise
        msg = ' '.join(str(e).split()) or type(e).__name__
        if any(h in msg.lower() for h in _CUDA_ERRORS.split('|')):
            msg = f'CUDA is not usable here ({msg[:200]}); use --device cpu'
        elif isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
            msg = f'{e.strerror}: {e.filename}; check the path'
        hint = '' if 'error' in type(e).__name__.lower() else f'{type(e).__name__}: '
        msg = msg if len(msg) <= 600 else msg[:600] + ' ...'
        print(f'error: {hint}{msg} (--debug or {DEBUG_ENV}=1 shows the traceback)', file=sys.stderr)
        return 1


def add_smoke_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--smoke [N]`` (default 8 samples) to a tool's parser."""
    text = 'quick offline smoke test on the first N samples (default 8), see docs/training.md'
    parser.add_argument('--smoke', nargs='?', type=int, const=8, metavar='N', help=text)


class _DestroyProcessGroupHook(Hook):
    """mmengine never destroys the process group: gloo's threads can then abort at exit (-6)."""

    def after_run(self, runner) -> None:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def build_runner(cfg: Config, smoke: Optional[int] = None) -> Runner:
    """``Runner.from_cfg`` after ``--smoke N``, no ``persistent_workers`` without workers (torch
    refuses it), ``--launcher pytorch`` without CUDA (gloo group started here, no GPU ids)."""
    loaders = [cfg.get(k) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    if smoke is not None:  # no Pretrained init_cfgs, N samples per dataset, no workers, one epoch
        if smoke < 1:
            raise ValueError(f'--smoke needs a number of samples >= 1, got {smoke}')
        for part in (cfg.model, *(cfg.model.get(k) for k in ('backbone', 'neck', 'head'))):
            if isinstance(part, dict) and part.get('init_cfg'):
                init = [part.init_cfg] if isinstance(part.init_cfg, dict) else part.init_cfg
                part.init_cfg = [c for c in init if c.get('type') != 'Pretrained'] or None
        for loader in filter(None, loaders):
            loader.update(num_workers=0, batch_size=min(loader.get('batch_size', 1), smoke))
            loader.dataset.indices = smoke
        if cfg.get('train_cfg') and cfg.train_cfg.get('by_epoch', True):
            cfg.train_cfg.update(max_epochs=1, val_interval=1)
        if 'logger' in cfg.get('default_hooks', {}):
            cfg.default_hooks.logger.interval = 1
    for loader in filter(None, loaders):
        if not loader.get('num_workers'):
            loader.persistent_workers = False
    if cfg.get('launcher') == 'pytorch' and not torch.cuda.is_available():
        if not dist.is_initialized():
            backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
            dist.init_process_group(backend='gloo' if backend == 'nccl' else backend)
        unused = cfg.get('find_unused_parameters', False)
        default = dict(type='MMDistributedDataParallel', broadcast_buffers=False)
        wrapper = cfg.get('model_wrapper_cfg') or dict(default, find_unused_parameters=unused)
        cfg.model_wrapper_cfg = {'device_ids': None, **wrapper}
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_DestroyProcessGroupHook(), 'LOWEST')
    return runner
