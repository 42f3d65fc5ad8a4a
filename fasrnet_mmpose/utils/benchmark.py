# Copyright (c) OpenMMLab. All rights reserved.
"""What ``tools/benchmark_*.py`` and ``tools/check_gpu.py`` share: device, clocks, synchronised
timing in interleaved rounds (other load hits all alike), peak memory, synthetic inputs, tables."""

import itertools
import resource
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

#: ``--clock`` choices: the process's or calling thread's CPU time, or the wall time.
CLOCKS = dict(cpu=time.process_time, thread=time.thread_time, wall=time.perf_counter)


def add_size_option(parser, flag: str, order: str, help: str, default=None) -> None:
    """Add a two-integer option such as ``--input-size W H`` (``order``: ``'WH'``/``'HW'``)."""
    parser.add_argument(flag, type=int, nargs=2, default=default, metavar=tuple(order), help=help)


def resolve_device(device: Optional[str] = 'auto') -> torch.device:
    """The device a ``--device`` option names; ``'auto'``/None: CUDA when available, else CPU."""
    auto = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(auto if device in (None, 'auto') else device)


def timed_call(fn: Callable, device: torch.device, clock=time.perf_counter) -> Tuple[object, float]:
    """``fn()``'s result and its seconds, between two ``clock`` readings after the device's work."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = clock()
    out = fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return out, clock() - start


def best_of_rounds(fns: Dict[str, Callable[[], dict]], rounds: int) -> Dict[str, dict]:
    """Each ``fn()`` (a dict) once per round, round-robin: float values' minima, others' last."""
    best: Dict[str, dict] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            out, prev = fn(), best.get(name, {})
            best[name] = {
                k: min(v, prev.get(k, v)) if isinstance(v, float) else v for k, v in out.items()
            }
    return best


def time_rounds(
    fns: Dict[str, Callable],
    device: torch.device,
    warmup: int,
    repeats: int,
    clock=time.perf_counter,
) -> Dict[str, List[float]]:
    """Seconds of each ``fn()`` in ``repeats`` round-robin rounds after ``warmup`` untimed ones."""
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            seconds = timed_call(fn, device, clock)[1]
            times[name] += [seconds] if i >= warmup else []
    return times


def cpu_peak_mib(fn: Callable[[], object]) -> Optional[float]:
    """Peak CPU tensor memory (MiB) ``fn()`` allocates (profiler timeline), or None if unknown."""
    try:
        from torch.profiler import ProfilerActivity, profile
        from torch.profiler._memory_profiler import Action, MemoryProfileTimeline

        kwargs = dict(profile_memory=True, record_shapes=True, with_stack=True)
        with profile(activities=[ProfilerActivity.CPU], **kwargs) as prof:
            fn()
        timeline = sorted(
            MemoryProfileTimeline(prof._memory_profile()).timeline, key=lambda e: e[0]
        )
        sign = {Action.CREATE: 1, Action.DESTROY: -1}  # PREEXISTING tensors are not counted
        sizes = [sign.get(a, 0) * n for _, a, (key, _), n in timeline if key.device.type == 'cpu']
        return max(itertools.accumulate(sizes, initial=0)) / 2**20
    except Exception:  # noqa: BLE001  (private profiler API: report n/a if it changes)
        return None


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> Optional[float]:
    """Peak memory (MiB) ``fn()`` allocates beyond what exists (CUDA or :func:`cpu_peak_mib`)."""
    if device.type != 'cuda':
        return cpu_peak_mib(fn)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    timed_call(fn, device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def max_rss_mib() -> float:
    """The process's peak resident set size so far (``ru_maxrss``, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio_str(x: float, y: float) -> str:
    """``x/y`` as ``'1.23x'``, or ``'-'`` when ``y`` is not positive."""
    return f'{x / y:.2f}x' if y > 0 else '-'


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """One aligned markdown table (pasteable into the README); a ``|`` in a cell becomes ``/``."""
    cells = [list(header)] + [[str(c).replace('|', '/') for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |' for r in cells]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def synthetic_frame(rng: np.random.RandomState, w: int, h: int, t: int) -> np.ndarray:
    """Frame ``t`` ``[h, w, 3]`` of a synthetic video (gradients, moving boxes, real JPEG size)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = [80 + 60 * np.sin(xx / 97 + t / 5), 100 + 50 * np.cos(yy / 53)]
    img = np.stack([*channels, 120 + 40 * np.sin((xx + yy) / 151)], axis=-1)
    for k in range(12):
        cx, cy = (k * 211 + 9 * t) % w, (k * 137) % h
        img[max(0, cy - 40) : cy + 40, max(0, cx - 25) : cx + 25] = rng.randint(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def hrnet_variant(width: int, tiny: bool = False) -> dict:
    """The plugin's HRNet-W48 config at branch-0 width ``width`` (branch ``i``: ``width * 2**i``);
    ``tiny``: one block per stage, at most 3 branches, ``width`` channels in stage 1."""
    from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

    cfg = hrnet_w48()
    extra = cfg['extra']
    if tiny:
        extra['stage1'].update(num_blocks=(1,), num_channels=(width,))
    for spec in (extra['stage2'], extra['stage3'], extra['stage4']):
        if tiny:
            n = min(spec['num_branches'], 3)
            spec.update(num_modules=1, num_branches=n, num_blocks=(1,) * n)
        spec['num_channels'] = tuple(width * 2**i for i in range(spec['num_branches']))
    return cfg
