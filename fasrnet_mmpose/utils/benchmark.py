# Copyright (c) OpenMMLab. All rights reserved.
"""What the ``tools/benchmark_*.py`` scripts share: device and clock choice, synchronised timing
in interleaved rounds, peak memory, synthetic frames, benchmark backbones and result output.

Every benchmark prints ratios against a baseline measured in the same run; the helpers here make
the measurements comparable: the entries are timed round-robin (other load on the machine affects
them alike) and the best round is kept, CUDA work is synchronised before each clock reading, and
on a shared CPU the process's CPU time can replace the wall clock.
"""

import argparse
import json
import resource
import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

#: ``--clock`` choices: this process's CPU time or the elapsed (wall) time.
CLOCKS: Dict[str, Callable[[], float]] = dict(cpu=time.process_time, wall=time.perf_counter)


def add_size_option(
    parser: argparse.ArgumentParser,
    flag: str,
    order: str,
    help: str,
    default: Optional[Tuple[int, int]] = None,
) -> None:
    """Add a size option of two integers, e.g. ``--input-size W H``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        flag (str): The option, e.g. ``'--input-size'``.
        order (str): ``'WH'`` or ``'HW'``: the order of the two values (shown as metavar).
        help (str): The option's help.
        default (tuple[int, int], optional): The default. Defaults to None.
    """
    parser.add_argument(flag, type=int, nargs=2, default=default, metavar=tuple(order), help=help)


def resolve_device(device: Optional[str] = 'auto') -> torch.device:
    """The device a ``--device`` option names; ``'auto'`` or None: CUDA when available, else CPU.

    Args:
        device (str, optional): ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or None.

    Returns:
        torch.device: The device.
    """
    if device in (None, 'auto'):
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(device)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); a no-op on CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed_call(
    fn: Callable[[], object], device: torch.device, clock: Callable[[], float] = time.perf_counter
) -> Tuple[object, float]:
    """Call ``fn()`` between two synchronised clock readings.

    Args:
        fn (callable): The call to time.
        device (torch.device): Synchronised before and after the call.
        clock (callable): ``time.perf_counter`` (default) or ``time.process_time``.

    Returns:
        tuple[object, float]: ``fn()``'s result and the seconds it took.
    """
    synchronize(device)
    start = clock()
    out = fn()
    synchronize(device)
    return out, clock() - start


def best_of_rounds(
    fns: Dict[str, Callable[[], Dict[str, object]]], rounds: int
) -> Dict[str, Dict[str, object]]:
    """Run every ``fn`` once per round, round-robin, and keep each float's best (minimum).

    Interleaving makes load from other processes affect every entry alike; the minimum is the
    least disturbed measurement.

    Args:
        fns (dict[str, callable]): Name -> function returning a dict of seconds (floats) and
            other values (e.g. results; the last round's are kept).
        rounds (int): Number of rounds (>= 1).

    Returns:
        dict[str, dict]: Name -> the per-key best of the returned dicts.
    """
    best: Dict[str, Dict[str, object]] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            out = fn()
            if name in best:
                out = {
                    k: min(v, best[name][k]) if isinstance(v, float) else v for k, v in out.items()
                }
            best[name] = out
    return best


def time_calls(
    fns: Dict[str, Callable[[], object]],
    device: torch.device,
    warmup: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> Dict[str, float]:
    """Best time in seconds of each ``fn()`` over ``repeats`` interleaved rounds.

    Args:
        fns (dict[str, callable]): Name -> function to time.
        device (torch.device): Synchronised before and after each call.
        warmup (int): Untimed calls of each function first.
        repeats (int): Timed rounds.
        clock (callable): ``time.perf_counter`` (default) or ``time.process_time``.

    Returns:
        dict[str, float]: Name -> best seconds per call.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()

    def seconds(fn: Callable[[], object]) -> Callable[[], Dict[str, object]]:
        return lambda: dict(seconds=float(timed_call(fn, device, clock)[1]))

    best = best_of_rounds({name: seconds(fn) for name, fn in fns.items()}, repeats)
    return {name: out['seconds'] for name, out in best.items()}


def max_rss_mib() -> float:
    """The process's peak resident set size so far (``ru_maxrss``, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio_str(x: float, y: float) -> str:
    """``'x/y'`` as ``'1.23x'``, or ``'-'`` when ``y`` is not positive."""
    return f'{x / y:.2f}x' if y > 0 else '-'


def dump_json(path: Optional[str], results: dict) -> None:
    """Write ``results`` to ``path`` (indented JSON); nothing when ``path`` is None."""
    if path:
        with open(path, 'w') as f:
            json.dump(results, f, indent=2)


def synthetic_frame(rng: np.random.RandomState, w: int, h: int, t: int) -> np.ndarray:
    """A smooth ``[h, w, 3]`` uint8 frame with moving shapes and mild noise (its JPEG size is
    close to real footage's), frame ``t`` of a synthetic video."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 80 + 60 * np.sin(xx / 97 + t / 5)
    img[..., 1] = 100 + 50 * np.cos(yy / 53)
    img[..., 2] = 120 + 40 * np.sin((xx + yy) / 151)
    for k in range(12):
        cx = (k * 211 + 9 * t) % w
        cy = (k * 137) % h
        img[max(0, cy - 40) : cy + 40, max(0, cx - 25) : cx + 25] = rng.randint(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def hrnet_variant(width: int, tiny: bool = False) -> dict:
    """The plugin's HRNet-W48 (``fasrnet_mmpose.models.backbones_cfg.hrnet_w48``) at another width.

    Args:
        width (int): Channels of branch 0; branch ``i`` of stages 2-4 gets ``width * 2**i``
            (mmpose's W32/W48 layout).
        tiny (bool): One module of one block per stage, ``width`` channels in stage 1 and at most
            3 branches (small inputs need only be multiples of 16). Defaults to False.

    Returns:
        dict: The backbone config.
    """
    from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

    cfg = hrnet_w48()
    extra = cfg['extra']
    if tiny:
        extra['stage1'].update(num_blocks=(1,), num_channels=(width,))
    for stage in ('stage2', 'stage3', 'stage4'):
        spec = extra[stage]
        if tiny:
            branches = min(spec['num_branches'], 3)
            spec.update(num_modules=1, num_branches=branches, num_blocks=(1,) * branches)
        spec['num_channels'] = tuple(width * 2**i for i in range(spec['num_branches']))
    return cfg
