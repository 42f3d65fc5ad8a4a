# Copyright (c) OpenMMLab. All rights reserved.
"""What the four ``tools/benchmark_*.py`` scripts share: device and clock choice, synchronised
timing in interleaved rounds, peak memory (CUDA allocator, CPU profiler timeline, process RSS),
synthetic frames, benchmark backbones, size options and result output.

Every benchmark prints ratios against a baseline measured in the same run; these helpers keep the
measurements comparable: the entries are timed round-robin (other load on the machine affects
them alike; the tools report the best or the median round), CUDA work is synchronised before each
clock reading, and on a shared CPU the process's or thread's CPU time can replace the wall clock.
"""

import argparse
import json
import resource
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

#: ``--clock`` choices: this process's CPU time, the calling thread's CPU time (single-threaded
#: torch: robust on a machine shared with other jobs) or the elapsed (wall) time.
CLOCKS: Dict[str, Callable[[], float]] = dict(
    cpu=time.process_time, thread=time.thread_time, wall=time.perf_counter
)


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


def time_rounds(
    fns: Dict[str, Callable[[], object]],
    device: torch.device,
    warmup: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> Dict[str, List[float]]:
    """Seconds of each ``fn()``, one per round, over ``repeats`` interleaved rounds.

    After ``warmup`` untimed calls of each, the calls run round-robin, so that load from other
    processes affects every entry alike (take the median, or per-round ratios, of the lists).

    Args:
        fns (dict[str, callable]): Name -> function to time.
        device (torch.device): Synchronised before and after each call.
        warmup (int): Untimed calls of each function first.
        repeats (int): Timed rounds.
        clock (callable): One of :data:`CLOCKS`. Defaults to ``time.perf_counter``.

    Returns:
        dict[str, list[float]]: Name -> seconds per round.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed_call(fn, device, clock)[1])
    return times


def cpu_peak_mib(fn: Callable[[], object]) -> Optional[float]:
    """Peak of the CPU tensor memory allocated during ``fn()`` (torch profiler memory timeline);
    tensors that exist before the call (weights, inputs) are not counted. None if the private
    profiler API is unavailable."""
    try:
        from torch.profiler import ProfilerActivity, profile
        from torch.profiler._memory_profiler import Action, MemoryProfileTimeline

        with profile(
            activities=[ProfilerActivity.CPU],
            profile_memory=True,
            record_shapes=True,
            with_stack=True,
        ) as prof:
            fn()
        timeline = MemoryProfileTimeline(prof._memory_profile()).timeline
        current = peak = 0
        for _, action, (key, _), numbytes in sorted(timeline, key=lambda e: e[0]):
            if key.device.type != 'cpu' or action == Action.PREEXISTING:
                continue
            if action == Action.CREATE:
                current += numbytes
            elif action == Action.DESTROY:
                current -= numbytes
            peak = max(peak, current)
        return peak / 2**20
    except Exception:  # noqa: BLE001  (private profiler API: report n/a if it changes)
        return None


def peak_memory_mib(
    fn: Callable[[], object],
    device: torch.device,
    cpu_peak: Callable[[Callable[[], object]], Optional[float]] = cpu_peak_mib,
) -> Optional[float]:
    """Peak memory (MiB) that one ``fn()`` call allocates on top of what exists before it.

    Args:
        fn (callable): The call.
        device (torch.device): CUDA: ``max_memory_allocated`` minus the allocation before the
            call; CPU: ``cpu_peak(fn)``.
        cpu_peak (callable): The CPU measurement. Defaults to :func:`cpu_peak_mib`.

    Returns:
        float, optional: MiB, or None where the CPU measurement is unavailable.
    """
    if device.type != 'cuda':
        return cpu_peak(fn)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


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
