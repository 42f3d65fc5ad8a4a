# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet inference vs its floor, 3 × mmpose's single-frame HRNet-W48: persons/s, median ratio per
interleaved round, peak memory, one row per DCN implementation (README "Performance / Model")."""

import argparse
import os
import statistics
from functools import partial
from typing import Dict, List, Optional

import torch

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48
from fasrnet_mmpose.utils.benchmark import (
    CLOCKS,
    add_size_option,
    format_table,
    peak_memory_mib,
    resolve_device,
    time_rounds,
)

#: The backbone of the models built here: the plugin's HRNet-W48 (tests use a narrow one).
BACKBONE = hrnet_w48()
OFFICIAL_HEAD = dict(type='FaSRHead')
FIXED_HEAD = dict(type='FaSRHead', align_direction='neighbour_to_current')
FIXED_HEAD.update(dcn_offset_padding='same', dcn_offset_init='zero')  # docs/official_vs_fixed.md
TARGET_RATIO = 1.15
#: One timed row per concrete deformable-conv implementation (``'auto'`` picks one of them).
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')
FLOOR = 'floor = 3 x single frame'
SINGLE = 'HRNet-W48 single frame (mmpose)'
COLUMNS = ('model (dcn_impl; * = auto)', 'ms / person', 'persons/s', 'x floor', 'peak MiB')


def build_models(device: torch.device) -> Dict[str, torch.nn.Module]:
    """Single-frame HRNet-W48, FaSRnet (official) and the fixed-mode head, in eval mode."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)

    register_all_modules(init_default_scope=True)
    head = dict(type='HeatmapHead', in_channels=48, out_channels=17, deconv_out_channels=None)
    cfgs = dict(
        single=dict(type='TopdownPoseEstimator', backbone=BACKBONE, head=head),
        fasrnet=dict(type='VideoTopdownPoseEstimator', backbone=BACKBONE, head=OFFICIAL_HEAD),
        fixed_head=FIXED_HEAD,
    )
    cfgs['fasrnet']['freeze_backbone'] = True
    models = {name: MODELS.build(cfg) for name, cfg in cfgs.items()}
    models['fasrnet'].head.init_weights()  # official head init (random backbone: timing only)
    models['fixed_head'].init_weights()
    return {k: m.to(device).eval() for k, m in models.items()}


def set_dcn_impl(module: torch.nn.Module, dcn_impl: str) -> None:
    """Switch every deformable conv of ``module`` to ``dcn_impl`` (same weights)."""
    for m in module.modules():
        if hasattr(m, 'dcn_impl'):
            m.dcn_impl = dcn_impl


def available_impls(device: torch.device) -> List[str]:
    """The implementations that run on ``device`` (mmcv on CUDA needs mmcv's CUDA ops)."""
    from fasrnet_mmpose.models.modules.deform_conv import mmcv_has_cuda_ops

    cuda_only = device.type == 'cuda' and not mmcv_has_cuda_ops()
    return [impl for impl in DCN_IMPLS if not (cuda_only and impl == 'mmcv')]


def run_benchmark(models: Dict[str, torch.nn.Module], batch_size: int, args) -> List[dict]:
    """Rows of one batch size: ``name``, ``seconds``, ``ms_per_person``, ``persons_per_s``,
    ``ratio`` (median per-round ratio to the floor), ``peak_mib``, ``target`` (official, auto)."""
    from fasrnet_mmpose.models.modules import resolve_dcn_impl

    h, w = args.input_size
    dev = resolve_device(args.device)
    fasrnet, auto = models['fasrnet'], resolve_dcn_impl('auto', dev)
    torch.manual_seed(0)
    inputs = torch.randn(batch_size, 3, 3, h, w, device=dev)  # [B, T=3, 3, H, W]

    def run(head, impl, whole):  # whole: backbone + head, as ``fasrnet._forward(inputs)``
        set_dcn_impl(head, impl)
        return head.forward(fasrnet.extract_feat(inputs) if whole else feats)

    with torch.no_grad():
        feats = fasrnet.extract_feat(inputs)  # levels of [B, 3, 48, H/4, W/4]
        current, all_crops = inputs[:, 0].contiguous(), inputs.flatten(0, 1)
        fns = {
            SINGLE: lambda: models['single']._forward(current),
            'HRNet-W48 on the 3B crops at once': lambda: models['single']._forward(all_crops),
        }
        cases = [('official', fasrnet.head, impl) for impl in available_impls(dev)]
        cases.append(('fixed', models['fixed_head'], 'auto'))
        for whole, what in ((True, 'FaSRnet'), (False, 'FaSRHead only')):
            for mode, head, impl in cases:
                name = auto if impl == 'auto' else impl
                name = f'{what}, {mode}, {name}{"*" * (name == auto)}'
                fns[name] = partial(run, head, impl, whole)
        clock = CLOCKS['thread' if args.clock == 'cpu' else 'wall']
        times = time_rounds(fns, dev, args.warmup, args.repeats, clock)
        peaks = {k: None if args.no_memory else peak_memory_mib(fn, dev) for k, fn in fns.items()}
        set_dcn_impl(fasrnet.head, 'auto')
    times[FLOOR], peaks[FLOOR] = [3 * t for t in times[SINGLE]], peaks[SINGLE]
    rows = []
    for name in [FLOOR, *fns]:  # target: the row of the 1.15x goal
        sec, target = statistics.median(times[name]), name == f'FaSRnet, official, {auto}*'
        ratio = statistics.median(t / f for t, f in zip(times[name], times[FLOOR]))
        row = dict(name=name, seconds=sec, ms_per_person=1e3 * sec / batch_size, ratio=ratio)
        rows.append(dict(row, persons_per_s=batch_size / sec, peak_mib=peaks[name], target=target))
    return rows


#: One deformable conv of the head at its map size: (channels, deformable groups, dilation).
DCN_CALLS = {'FRM DCN-pack, 48->48, dilation 5': (48, 1, 5), 'SRM, 17->17, 17 groups': (17, 17, 1)}


def run_dcn_calls(args) -> List[dict]:
    """Rows ``call``, ``impl``, ``forward``/``fwd+bwd`` seconds and ratios to mmcv's op (median
    per interleaved round), at the head's map size and layout (random inputs, batch 1)."""
    from fasrnet_mmpose.models.modules import channels_last, modulated_deform_conv2d

    dev, (h, w) = resolve_device(args.device), (s // 4 for s in args.input_size)
    impls, fns = available_impls(dev), {}
    for call, (c, g, d) in DCN_CALLS.items():
        gen = torch.Generator().manual_seed(0)
        shapes = ((c, h, w), (2 * g * 9, h, w), (g * 9, h, w))
        maps = [channels_last(torch.randn(1, *s, generator=gen).to(dev)) for s in shapes]
        tensors = maps + [
            0.1 * torch.randn(c, c, 3, 3, generator=gen).to(dev),
            torch.zeros(c, device=dev),
        ]

        def dcn(impl, grad, tensors=tensors, d=d, g=g):
            with torch.set_grad_enabled(grad):
                leaves = [t.detach().requires_grad_(grad) for t in tensors]
                out = modulated_deform_conv2d(*leaves, (1, 1), (d, d), (d, d), 1, g, impl)
                return out.sum().backward() if grad else out

        for impl in impls:
            for mode, grad in (('forward', False), ('fwd+bwd', True)):
                fns[(call, impl, mode)] = partial(dcn, impl, grad)
    clock = CLOCKS['thread' if args.clock == 'cpu' else 'wall']
    times = time_rounds(fns, dev, args.warmup, args.repeats, clock)
    rows = []  # ratios to the first implementation: mmcv's op (torchvision's on CUDA without it)
    for call, impl in ((call, impl) for call in DCN_CALLS for impl in impls):
        row = dict(call=call, impl=impl, ref=impls[0])
        for mode in ('forward', 'fwd+bwd'):
            own, ref = times[(call, impl, mode)], times[(call, impls[0], mode)]
            row[mode] = statistics.median(own)
            row[f'{mode} ratio'] = statistics.median(a / b for a, b in zip(own, ref))
        rows.append(row)
    return rows


def format_rows(rows: List[Dict[str, object]], header: str) -> str:
    """``header``, the rows as a markdown table, and the verdict on the target row."""
    cells = []
    for r in rows:
        peak = '-' if r['peak_mib'] is None else f'{r["peak_mib"]:.0f}'
        numbers = f'{r["ms_per_person"]:.1f}', f'{r["persons_per_s"]:.2f}', f'{r["ratio"]:.3f}'
        cells.append((r['name'], *numbers, peak))
    ratio = next(r['ratio'] for r in rows if r['target'])
    verdict = 'within' if ratio <= TARGET_RATIO else 'ABOVE'
    return (
        f'{header}\n{format_table(COLUMNS, cells)}\nFaSRnet (official, auto) = {ratio:.3f} x '
        f'floor: {verdict} the {TARGET_RATIO} x target'
    )


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FaSRnet vs 3 x HRNet-W48 inference benchmark')
    parser.add_argument('--batch-size', type=int, nargs='+', default=[1], help='one table each')
    add_size_option(parser, '--input-size', 'HW', 'crop size (multiples of 32)', (384, 288))
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5, help='interleaved rounds (median)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (torch)')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory pass')
    clock_help = "'cpu': CPU time of the one torch thread (with --device cpu --threads 1)"
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall', help=clock_help)
    parser.add_argument('--dcn', action='store_true', help='time one deformable conv per impl')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[int, List[Dict[str, object]]]:
    """Print one table per batch size; return ``{batch_size: rows}`` (``--dcn``: ``{0: rows}``)."""
    from fasrnet_mmpose.utils.cli import check_device

    args = parse_args(argv)
    check_device(args.device)  # one clear line instead of a CUDA traceback
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    if args.clock == 'cpu' and (dev.type != 'cpu' or torch.get_num_threads() != 1):
        raise SystemExit(
            '--clock cpu measures one thread on the CPU: use it with --device cpu --threads 1'
        )
    desc = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'
    desc += f', {torch.get_num_threads()} threads, {os.cpu_count()} cores'
    if args.dcn:
        rows = run_dcn_calls(args)
        cells = [
            (r['call'], r['impl'], f'{1e3 * r["forward"]:.1f} ms', f'{r["forward ratio"]:.2f}')
            + (f'{1e3 * r["fwd+bwd"]:.1f} ms', f'{r["fwd+bwd ratio"]:.2f}')
            for r in rows
        ]
        ref = f'x {rows[0]["ref"]}'
        maps = 'x'.join(str(s // 4) for s in args.input_size)
        print(
            f'device: {desc} | one deformable conv, batch 1, {maps} maps (--batch-size is not '
            f'used) | {args.clock} time, median of {args.repeats} interleaved rounds'
        )
        print(format_table(('call', 'dcn_impl', 'forward', ref, 'fwd+bwd', ref), cells))
        return {0: rows}
    torch.manual_seed(0)
    models = build_models(dev)
    h, w = args.input_size
    if h % 32 or w % 32:
        raise ValueError(f'HRNet-W48 needs H and W divisible by 32, got {h}x{w}')
    results = {}
    for b in args.batch_size:
        results[b] = run_benchmark(models, b, args)
        header = (
            f'device: {desc} | batch {b} person(s) x 3 frames | input {h}x{w} | {args.clock} '
            f'time, median of {args.repeats} interleaved rounds (warmup {args.warmup}) | torch '
            f'{torch.__version__}'
        )
        print(format_rows(results[b], header), flush=True)
    return results


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    raise SystemExit(run_cli(main))
