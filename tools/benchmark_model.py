# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark FaSRnet inference against its floor: three single-frame HRNet-W48 forwards.

Usage::

    python tools/benchmark_model.py [--batch-size 1 [16 64 ...]] [--input-size 384 288]
                                    [--device auto|cpu|cuda|cuda:N] [--warmup 1] [--repeats 5]
                                    [--threads N] [--no-memory] [--clock wall|cpu]

For each batch size, in one run, on the same random inputs ``[B, 3 frames, 3, H, W]`` and randomly
initialised weights (timing does not depend on them), it prints per person (instance):

* mmpose's single-frame HRNet-W48 top-down model (``TopdownPoseEstimator`` with HRNet-W48 +
  ``HeatmapHead`` 1×1) on the current frame, and the **floor** = 3 × that time (FaSRnet needs a
  backbone pass on each of its 3 crops); for reference also the same model on all 3B crops in one
  call (what FaSRnet's backbone call costs);
* the whole FaSRnet model (``VideoTopdownPoseEstimator`` + ``FaSRHead``) in official mode, one row
  per deformable-conv implementation (``dcn_impl``; ``'auto'`` is the one marked ``*``), and in
  fixed mode (``neighbour_to_current`` + ``same`` + ``zero``) with ``'auto'``;
* the FaSRnet head alone (the same rows) on precomputed backbone features;
* persons/s, the ratio to the floor, and the peak memory of each forward (CUDA:
  ``max_memory_allocated`` above the pre-call allocation; CPU: peak of the torch profiler's memory
  timeline; ``--no-memory`` skips it). The target is FaSRnet (``'auto'``) <= 1.15 × floor.

Timing: after ``--warmup`` calls of each, the configurations run round-robin ``--repeats`` times
(load from other processes hits every entry alike). ``ms / person`` is the median; ``x floor`` is
the median over the rounds of the ratio to the floor measured in the same round. On a machine
shared with other jobs, ``--threads 1 --clock cpu`` times the CPU work of the single torch thread,
which other processes do not inflate the way they inflate wall time.
"""

import argparse
import os
import statistics
from typing import Callable, Dict, List, Optional

import torch

from fasrnet_mmpose.utils.benchmark import (
    CLOCKS,
    add_size_option,
    cpu_peak_mib,
    resolve_device,
    time_rounds,
)
from fasrnet_mmpose.utils.benchmark import peak_memory_mib as benchmark_peak_memory_mib

#: The backbone of the models built here; ``None``: mmpose's HRNet-W48
#: (:func:`fasrnet_mmpose.models.backbones_cfg.hrnet_w48`, imported with the plugin when the models
#: are built, not at start-up).
BACKBONE: Optional[dict] = None

OFFICIAL_HEAD = dict(type='FaSRHead')
FIXED_HEAD = dict(
    type='FaSRHead',
    align_direction='neighbour_to_current',
    dcn_offset_padding='same',
    dcn_offset_init='zero',
)
TARGET_RATIO = 1.15
#: One timed row per concrete deformable-conv implementation (``'auto'`` picks one of them).
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')
FLOOR = 'floor = 3 x single frame'
SINGLE = 'HRNet-W48 single frame (mmpose)'


#: The CPU peak-memory measurement (tests replace it: the profiler is slow).
_cpu_peak_mib = cpu_peak_mib


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> Optional[float]:
    """Peak memory (MiB) of one ``fn()`` call: :func:`fasrnet_mmpose.utils.benchmark.
    peak_memory_mib` with this module's :data:`_cpu_peak_mib`."""
    return benchmark_peak_memory_mib(fn, device, cpu_peak=lambda f: _cpu_peak_mib(f))


def backbone_cfg() -> dict:
    """The backbone config of the models built here: :data:`BACKBONE`, by default HRNet-W48."""
    if BACKBONE is not None:
        return BACKBONE
    from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

    return hrnet_w48()


def build_models(device: torch.device) -> Dict[str, torch.nn.Module]:
    """Single-frame HRNet-W48, FaSRnet (official) and the fixed-mode head, all in eval mode."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)

    register_all_modules(init_default_scope=True)
    backbone = backbone_cfg()
    single = MODELS.build(
        dict(
            type='TopdownPoseEstimator',
            backbone=backbone,
            head=dict(
                type='HeatmapHead', in_channels=48, out_channels=17, deconv_out_channels=None
            ),
        )
    )
    fasrnet = MODELS.build(
        dict(
            type='VideoTopdownPoseEstimator',
            backbone=backbone,
            head=OFFICIAL_HEAD,
            freeze_backbone=True,
        )
    )
    fasrnet.head.init_weights()  # official init of the head (random backbone: timing only)
    fixed_head = MODELS.build(FIXED_HEAD)
    fixed_head.init_weights()
    return {
        'single': single.to(device).eval(),
        'fasrnet': fasrnet.to(device).eval(),
        'fixed_head': fixed_head.to(device).eval(),
    }


def set_dcn_impl(module: torch.nn.Module, dcn_impl: str) -> None:
    """Switch every deformable conv of ``module`` to ``dcn_impl`` (same weights)."""
    for m in module.modules():
        if hasattr(m, 'dcn_impl'):
            m.dcn_impl = dcn_impl


def available_impls(device: torch.device) -> List[str]:
    """The implementations that run on ``device`` (mmcv on CUDA needs mmcv's CUDA ops)."""
    from fasrnet_mmpose.models.modules.deform_conv import mmcv_has_cuda_ops

    if device.type == 'cuda' and not mmcv_has_cuda_ops():
        return [impl for impl in DCN_IMPLS if impl != 'mmcv']
    return list(DCN_IMPLS)


def run_benchmark(
    batch_size: int = 1,
    input_size=(384, 288),
    device: str = 'auto',
    warmup: int = 1,
    repeats: int = 5,
    seed: int = 0,
    memory: bool = True,
    models: Optional[Dict[str, torch.nn.Module]] = None,
    clock: str = 'wall',
) -> List[Dict[str, object]]:
    """Run the benchmark for one batch size and return its rows (also printed by :func:`main`).

    Returns:
        list[dict]: rows with ``name``, ``seconds`` (median per call), ``ms_per_person``,
        ``persons_per_s``, ``ratio`` (median per-round ratio to the floor), ``peak_mib`` and
        ``target`` (True for FaSRnet in official mode with ``dcn_impl='auto'``).
    """
    from fasrnet_mmpose.models.modules import resolve_dcn_impl

    h, w = input_size
    if h % 32 or w % 32:
        raise ValueError(f'HRNet-W48 needs H and W divisible by 32, got {h}x{w}')
    dev = resolve_device(device)
    torch.manual_seed(seed)
    models = models or build_models(dev)
    single, fasrnet, fixed_head = models['single'], models['fasrnet'], models['fixed_head']
    official_head = fasrnet.head
    auto = resolve_dcn_impl('auto', dev)
    inputs = torch.randn(batch_size, 3, 3, h, w, device=dev)  # [B, T=3, 3, H, W]
    current = inputs[:, 0].contiguous()

    def with_impl(head, impl, fn):

        def _run():
            set_dcn_impl(head, impl)
            return fn()

        return _run

    def run_fasrnet(head):

        def _run():
            fasrnet.head = head
            try:
                return fasrnet._forward(inputs)
            finally:
                fasrnet.head = official_head

        return _run

    with torch.no_grad():
        feats = fasrnet.extract_feat(inputs)  # levels of [B, 3, 48, H/4, W/4]
        all_crops = inputs.flatten(0, 1)  # [B*3, 3, H, W]
        fns = {
            SINGLE: lambda: single._forward(current),
            'HRNet-W48 on the 3B crops at once': lambda: single._forward(all_crops),
        }
        impls = available_impls(dev)
        for impl in impls:
            star = '*' if impl == auto else ''
            fns[f'FaSRnet, official, {impl}{star}'] = with_impl(
                official_head, impl, run_fasrnet(official_head)
            )
        fns[f'FaSRnet, fixed, {auto}*'] = with_impl(fixed_head, 'auto', run_fasrnet(fixed_head))
        for impl in impls:
            star = '*' if impl == auto else ''
            fns[f'FaSRHead only, official, {impl}{star}'] = with_impl(
                official_head, impl, lambda: official_head.forward(feats)
            )
        fns[f'FaSRHead only, fixed, {auto}*'] = with_impl(
            fixed_head, 'auto', lambda: fixed_head.forward(feats)
        )
        times = time_rounds(
            fns, dev, warmup, repeats, CLOCKS['thread' if clock == 'cpu' else 'wall']
        )
        peaks = {name: peak_memory_mib(fn, dev) if memory else None for name, fn in fns.items()}
        set_dcn_impl(official_head, 'auto')
    times[FLOOR] = [3 * t for t in times[SINGLE]]
    peaks[FLOOR] = peaks[SINGLE]
    rows = []
    for name in [FLOOR] + list(fns):
        seconds = statistics.median(times[name])
        rows.append(
            dict(
                name=name,
                seconds=seconds,
                ms_per_person=1e3 * seconds / batch_size,
                persons_per_s=batch_size / seconds,
                ratio=statistics.median(t / f for t, f in zip(times[name], times[FLOOR])),
                peak_mib=peaks[name],
                target=name == f'FaSRnet, official, {auto}*',  # the row the 1.15x goal is about
            )
        )
    return rows


def format_table(rows: List[Dict[str, object]], header: str) -> str:
    lines = [
        header,
        f'{"model (dcn_impl; * = auto)":<38}{"ms / person":>13}{"persons/s":>11}'
        f'{"x floor":>9}{"peak MiB":>10}',
    ]
    for row in rows:
        peak = '-' if row['peak_mib'] is None else f'{row["peak_mib"]:.0f}'
        lines.append(
            f'{row["name"]:<38}{row["ms_per_person"]:>13.1f}{row["persons_per_s"]:>11.2f}'
            f'{row["ratio"]:>9.3f}{peak:>10}'
        )
    official = next(
        r for r in rows if r['name'].startswith('FaSRnet, official, ') and '*' in r['name']
    )
    verdict = 'within' if official['ratio'] <= TARGET_RATIO else 'ABOVE'
    lines.append(
        f'FaSRnet (official, auto) = {official["ratio"]:.3f} x floor: {verdict} the '
        f'{TARGET_RATIO} x target'
    )
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FaSRnet vs 3 x HRNet-W48 inference benchmark')
    parser.add_argument(
        '--batch-size',
        type=int,
        nargs='+',
        default=[1],
        help='persons per forward (one table each)',
    )
    add_size_option(parser, '--input-size', 'HW', 'crop size (multiples of 32)', (384, 288))
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5, help='interleaved rounds (median)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (torch)')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory pass')
    parser.add_argument(
        '--clock',
        choices=('wall', 'cpu'),
        default='wall',
        help="'cpu': CPU time of the (single) torch thread, robust on a shared machine; needs "
        '--threads 1 and a CPU device',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[int, List[Dict[str, object]]]:
    """Print one table per batch size; return ``{batch_size: rows}``."""
    args = parse_args(argv)
    from fasrnet_mmpose.utils.cli import check_device

    check_device(args.device)  # one clear line instead of a CUDA traceback
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    if args.clock == 'cpu' and (dev.type != 'cpu' or torch.get_num_threads() != 1):
        raise SystemExit(
            '--clock cpu measures one thread on the CPU: use it with --device cpu --threads 1'
        )
    desc = (
        torch.cuda.get_device_name(dev)
        if dev.type == 'cuda'
        else f'cpu, {torch.get_num_threads()} threads, {os.cpu_count()} cores'
    )
    torch.manual_seed(0)
    models = build_models(dev)
    results = {}
    for batch_size in args.batch_size:
        rows = run_benchmark(
            batch_size,
            tuple(args.input_size),
            str(dev),
            args.warmup,
            args.repeats,
            memory=not args.no_memory,
            models=models,
            clock=args.clock,
        )
        header = (
            f'device: {desc} | batch {batch_size} person(s) x 3 frames | input '
            f'{args.input_size[0]}x{args.input_size[1]} | {args.clock} time, median of '
            f'{args.repeats} interleaved rounds (warmup {args.warmup}) | torch {torch.__version__}'
        )
        print(format_table(rows, header), flush=True)
        results[batch_size] = rows
    return results


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    raise SystemExit(run_cli(main))
