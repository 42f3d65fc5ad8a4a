# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers of ``tools/*.py``: one-line errors (``run_cli``), ``check_device``, ``mmlogger_level``
(docs/model_zoo.md, "Errors in the tools")."""

import contextlib
import os
import sys
from typing import Callable, Iterator, Optional

import torch
from mmengine.logging import MMLogger

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
    """``main()``'s int return value (else 0); an error: one ``error: ...`` line and 1 (130 on
    Ctrl-C), or the traceback with ``--debug``/``FASRNET_DEBUG=1``. ``--trust-checkpoint`` sets
    ``FASRNET_TRUST_CHECKPOINT=1``; both options are taken out of ``argv`` (``sys.argv``)."""
    argv = sys.argv if argv is None else argv
    debug = os.environ.get(DEBUG_ENV, '').lower() in ('1', 'true', 'yes') or '--debug' in argv
    if '--trust-checkpoint' in argv:
        os.environ[TRUST_ENV] = '1'
    argv[:] = [a for a in argv if a not in ('--debug', '--trust-checkpoint')]
    try:
        return main() or 0
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception as e:  # every error: one line, or the traceback on --debug
        if debug:
            raise
        text = ' '.join(str(e).split()) or type(e).__name__
        if any(h in text.lower() for h in _CUDA_ERRORS.split('|')):
            text = f'CUDA is not usable here ({text[:200]}); use --device cpu'
        elif isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
            text = f'{e.strerror}: {e.filename}; check the path'
        hint = '' if 'error' in type(e).__name__.lower() else f'{type(e).__name__}: '
        text = text if len(text) <= 600 else text[:600] + ' ...'
        print(
            f'error: {hint}{text} (--debug or {DEBUG_ENV}=1 shows the traceback)', file=sys.stderr
        )
        return 1
