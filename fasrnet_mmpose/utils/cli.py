# Copyright (c) OpenMMLab. All rights reserved.
"""One-line errors for the command-line tools.

Every ``tools/*.py`` ends with ``sys.exit(run_cli(main))``: an exception becomes ONE line on
stderr (``error: ...``, naming the file/device and what to do) and exit code 1; ``--debug`` (taken
out of ``sys.argv`` here, so no tool parses it) or ``FASRNET_DEBUG=1`` shows the traceback
instead. ``--trust-checkpoint`` (also taken out here) sets ``FASRNET_TRUST_CHECKPOINT=1`` for the
process: checkpoints are then unpickled without the allow-list (only for files you trust).
"""

import os
import sys
import traceback
from typing import Callable, Optional

from .checkpoint import TRUST_ENV

DEBUG_ENV = 'FASRNET_DEBUG'
_CUDA_HINTS = (
    'no nvidia driver',
    'not compiled with cuda',
    'no cuda gpus',
    'cuda driver',
    'invalid device ordinal',
)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def check_device(device: Optional[str]) -> Optional[str]:
    """Refuse a CUDA device on a machine without (that) CUDA device, in one line.

    Args:
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:N'``, ``'auto'`` or None.

    Returns:
        str | None: ``device`` unchanged.

    Raises:
        DeviceError: names the device and what to do.
    """
    if device and device.startswith('cuda'):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.split(':')[1]) if ':' in device else 0
        if index >= count:
            found = f'{count} CUDA device(s)' if count else 'no usable CUDA (driver/GPU)'
            raise DeviceError(
                f'--device {device}: this machine has {found} (torch {torch.__version__}); '
                'use --device cpu, or check the GPU with tools/check_gpu.py / nvidia-smi'
            )
    return device


def _one_line(e: BaseException) -> str:
    text = ' '.join(str(e).split()) or type(e).__name__
    lower = text.lower()
    if any(h in lower for h in _CUDA_HINTS):
        return f'CUDA is not usable here ({text[:200]}); use --device cpu'
    if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
        return f'{e.strerror}: {e.filename}; check the path'
    return text if len(text) <= 600 else text[:600] + ' ...'


def run_cli(main: Callable[[], Optional[int]], argv: Optional[list] = None) -> int:
    """Call ``main()``; turn an exception into one line and exit code 1.

    Args:
        main (Callable): The tool's ``main`` (reads ``sys.argv``).
        argv (list, optional): Defaults to ``sys.argv`` (edited in place: ``--debug`` and
            ``--trust-checkpoint`` are removed).

    Returns:
        int: ``main``'s return value (0 unless an int), 1 on an error, 130 on Ctrl-C.
    """
    argv = sys.argv if argv is None else argv
    debug = os.environ.get(DEBUG_ENV, '').lower() in ('1', 'true', 'yes')
    if '--debug' in argv:
        argv.remove('--debug')
        debug = True
    if '--trust-checkpoint' in argv:
        argv.remove('--trust-checkpoint')
        os.environ[TRUST_ENV] = '1'
    try:
        rc = main()
        return rc if isinstance(rc, int) else 0
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001  (every error: one line, or the traceback on --debug)
        if debug:
            traceback.print_exc()
        else:
            hint = '' if 'error' in type(e).__name__.lower() else f'{type(e).__name__}: '
            print(
                f'error: {hint}{_one_line(e)} (--debug or {DEBUG_ENV}=1 shows the traceback)',
                file=sys.stderr,
            )
        return 1
