# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark FaSRnet inference against its floor: three single-frame HRNet-W48 forwards.

Usage::

    python tools/benchmark_model.py [--batch-size 1] [--input-size 384 288] [--device auto]
                                    [--warmup 1] [--repeats 3] [--threads N]

In one run, on the same random inputs ``[B, 3 frames, 3, H, W]`` and randomly initialised weights
(timing does not depend on them), it prints per person (instance):

* mmpose's single-frame HRNet-W48 top-down model (``TopdownPoseEstimator`` with HRNet-W48 +
  ``HeatmapHead`` 1×1) on the current frame, and the **floor** = 3 × that time (FaSRnet needs a
  backbone pass on each of its 3 crops, spec §8); for reference also the same model on all 3B
  crops in one call (what FaSRnet's backbone call costs);
* the whole FaSRnet model (``VideoTopdownPoseEstimator`` + ``FaSRHead``) in official mode and in
  fixed mode (``neighbour_to_current`` + ``same`` + ``zero``; ``backbone_bn`` only matters when
  training);
* the FaSRnet head alone (both modes) on precomputed backbone features;
* the peak memory of each forward (CUDA: ``max_memory_allocated`` above the pre-call allocation;
  CPU: peak of the torch profiler's memory timeline) and each time's ratio to the floor. The
  target is FaSRnet <= 1.15 × floor.

Runs on CUDA when available (``--device auto``), otherwise on CPU. The configurations are timed
round-robin and the best of ``--repeats`` runs is reported (robust to other load on the machine).
"""

import argparse
import os
import time
from typing import Callable, Dict, List, Optional

import torch

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


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(
    fns: Dict[str, Callable[[], object]], device: torch.device, warmup: int, repeats: int
) -> Dict[str, float]:
    """Best (minimum) wall time in seconds of each ``fn()`` over ``repeats`` calls.

    The calls are interleaved round-robin (after ``warmup`` calls of each), so that load from other
    processes affects every entry alike; the minimum is the least disturbed measurement.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def _cpu_peak_mib(fn: Callable[[], object]) -> Optional[float]:
    """Peak of the tensor memory allocated during ``fn()`` (torch profiler memory timeline)."""
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
                continue  # weights and inputs that exist before the call are not counted
            if action == Action.CREATE:
                current += numbytes
            elif action == Action.DESTROY:
                current -= numbytes
            peak = max(peak, current)
        return peak / 2**20
    except Exception:  # noqa: BLE001  (private profiler API: report n/a if it changes)
        return None


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> Optional[float]:
    """Peak memory (MiB) that one ``fn()`` call allocates on top of what exists before it.

    CUDA: ``max_memory_allocated`` minus the allocation before the call. CPU: the peak of the
    torch profiler's memory timeline of the call (``None`` if unavailable).
    """
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        _sync(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    return _cpu_peak_mib(fn)


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
    fasrnet.head.init_weights()  # spec §6 init of the head (random backbone: timing only)
    fixed_head = MODELS.build(FIXED_HEAD)
    fixed_head.init_weights()
    return {
        'single': single.to(device).eval(),
        'fasrnet': fasrnet.to(device).eval(),
        'fixed_head': fixed_head.to(device).eval(),
    }


def run_benchmark(
    batch_size: int = 1,
    input_size=(384, 288),
    device: str = 'auto',
    warmup: int = 1,
    repeats: int = 3,
    seed: int = 0,
) -> List[Dict[str, object]]:
    """Run the benchmark and return its rows (also printed by :func:`main`).

    Returns:
        list[dict]: rows with ``name``, ``seconds`` (best per call), ``ms_per_person``, ``ratio``
        (to the floor) and ``peak_mib``.
    """
    h, w = input_size
    if h % 32 or w % 32:
        raise ValueError(f'HRNet-W48 needs H and W divisible by 32, got {h}x{w}')
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(device)
    torch.manual_seed(seed)
    models = build_models(dev)
    single, fasrnet, fixed_head = models['single'], models['fasrnet'], models['fixed_head']
    official_head = fasrnet.head
    inputs = torch.randn(batch_size, 3, 3, h, w, device=dev)  # [B, T=3, 3, H, W]
    current = inputs[:, 0].contiguous()

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
            'HRNet-W48 single frame (mmpose)': lambda: single._forward(current),
            'HRNet-W48 on the 3B crops at once': lambda: single._forward(all_crops),
            'FaSRnet, official mode': run_fasrnet(official_head),
            'FaSRnet, fixed mode': run_fasrnet(fixed_head),
            'FaSRHead only, official mode': lambda: official_head.forward(feats),
            'FaSRHead only, fixed mode': lambda: fixed_head.forward(feats),
        }
        seconds = time_calls(fns, dev, warmup, repeats)
        peaks = {name: peak_memory_mib(fn, dev) for name, fn in fns.items()}
    floor_name = 'floor = 3 x single frame'
    seconds[floor_name] = 3 * seconds['HRNet-W48 single frame (mmpose)']
    peaks[floor_name] = peaks['HRNet-W48 single frame (mmpose)']
    order = [floor_name] + list(fns)
    rows = [
        dict(
            name=name,
            seconds=seconds[name],
            ms_per_person=1e3 * seconds[name] / batch_size,
            ratio=seconds[name] / seconds[floor_name],
            peak_mib=peaks[name],
        )
        for name in order
    ]
    return rows


def format_table(rows: List[Dict[str, object]], header: str) -> str:
    lines = [header, f'{"model":<36}{"ms / person":>14}{"x floor":>10}{"peak MiB":>12}']
    for row in rows:
        peak = '-' if row['peak_mib'] is None else f'{row["peak_mib"]:.0f}'
        lines.append(
            f'{row["name"]:<36}{row["ms_per_person"]:>14.1f}{row["ratio"]:>10.3f}{peak:>12}'
        )
    official = next(r for r in rows if r['name'] == 'FaSRnet, official mode')
    verdict = 'within' if official['ratio'] <= TARGET_RATIO else 'ABOVE'
    lines.append(
        f'FaSRnet (official) = {official["ratio"]:.3f} x floor: {verdict} the '
        f'{TARGET_RATIO} x target'
    )
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FaSRnet vs 3 x HRNet-W48 inference benchmark')
    parser.add_argument('--batch-size', type=int, default=1, help='persons per forward')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=(384, 288),
        metavar=('H', 'W'),
        help='crop size (multiples of 32)',
    )
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (torch)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    from fasrnet_mmpose.utils.cli import check_device

    check_device(args.device)  # one clear line instead of a CUDA traceback
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run_benchmark(
        args.batch_size, tuple(args.input_size), args.device, args.warmup, args.repeats
    )
    device = (
        args.device if args.device != 'auto' else ('cuda' if torch.cuda.is_available() else 'cpu')
    )
    desc = (
        torch.cuda.get_device_name(device)
        if device.startswith('cuda')
        else (f'cpu, {torch.get_num_threads()} threads, {os.cpu_count()} cores')
    )
    header = (
        f'device: {desc} | batch {args.batch_size} person(s) x 3 frames | input '
        f'{args.input_size[0]}x{args.input_size[1]} | best of {args.repeats} interleaved '
        f'runs (warmup {args.warmup}) | torch {torch.__version__}'
    )
    print(format_table(rows, header))
    return rows


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    raise SystemExit(run_cli(main))
