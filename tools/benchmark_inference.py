# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet's temporal inferencer vs mmpose's single-frame HRNet-W48 inferencer, per stage:
interleaved frame by frame on the same decoded frames, boxes and crop (docs/inference.md)."""

import argparse
import copy
import logging
import os.path as osp
import sys
from collections import defaultdict
from functools import partial

import torch
from mmengine.config import Config
from mmpose.apis.inferencers import Pose2DInferencer

from fasrnet_mmpose import apis
from fasrnet_mmpose.apis.inferencers.utils.frame_source import FrameListSource
from fasrnet_mmpose.apis.inferencers.utils.model_index import DEFAULT_MODEL, DEMO_CLIP
from fasrnet_mmpose.utils import benchmark, check_device, mmlogger_level

COLUMNS = ('decode', 'boxes', 'preprocess', 'model', 'postproc', 'render', 'tracking')
#: the inferencer's methods (and those of its model and tracker) timed, and their stage
STAGES = dict(detector='boxes', pipeline='preprocess', collate_fn='preprocess', visualize='render')
STAGES.update({'postprocess': 'postproc', 'model.test_step': 'model', 'tracker.update': 'tracking'})


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add = parser.add_argument
    add('input', nargs='?', default=DEMO_CLIP, help='video file or image folder')
    add('--config', default=DEFAULT_MODEL, help='FaSRnet config file or model alias')
    add('--weights', help='FaSRnet checkpoint (optional: the speed does not depend on it)')
    add('--max-frames', type=int, default=10, help='frames to time')
    add('--warmup', type=int, default=1, help='untimed warm-up frames (before the timed ones)')
    benchmark.add_size_option(parser, '--input-size', 'HW', 'crop size (multiples of 32)')
    add('--det', choices=['hog', 'whole-image'], default='hog', help='person boxes of both')
    add('--render', action='store_true', help='also draw the poses (timed as render)')
    add('--device', help='cpu, cuda:0, ... (default: CUDA when available)')
    add('--threads', type=int, help='torch CPU threads')
    add('--clock', choices=['auto', 'cpu', 'wall'], default='auto', help='auto: cpu on CPU')
    args = parser.parse_args(argv)
    if args.input_size is not None and any(s % 32 for s in args.input_size):
        parser.error('--input-size: HRNet-W48 needs multiples of 32 (e.g. 128 96, 256 192)')
    return args


def single_frame_config(cfg: Config, crop) -> Config:
    """mmpose's single-frame ``TopdownPoseEstimator`` with ``cfg``'s backbone, codec and crop."""
    base, head, pre = copy.deepcopy(cfg), cfg.model.head, cfg.model.data_preprocessor
    heatmap = dict(type='HeatmapHead', in_channels=head.in_channels, deconv_out_channels=None)
    heatmap.update(out_channels=head.out_channels, decoder=head.decoder)
    base.model = dict(type='TopdownPoseEstimator', backbone=base.model.backbone, head=heatmap)
    base.model.data_preprocessor = dict(pre, type='PoseDataPreprocessor')  # mean, std, bgr_to_rgb
    steps = ('LoadImage', 'GetBBoxCenterScale', 'TopdownAffine', 'PackPoseInputs')
    base.test_dataloader.dataset.pipeline = [dict(type=t) for t in steps]
    base.test_dataloader.dataset.pipeline[2].input_size = crop
    return base


@mmlogger_level(logging.ERROR)
def main(argv=None) -> int:
    args = parse_args(argv)
    check_device(args.device)  # one clear line instead of a CUDA traceback
    torch.set_num_threads(args.threads or torch.get_num_threads())
    dev = benchmark.resolve_device(args.device)
    args.clock = ('wall' if dev.type == 'cuda' else 'cpu') if args.clock == 'auto' else args.clock
    clock = benchmark.CLOCKS[args.clock]
    source = apis.open_frame_source(args.input, max_frames=args.max_frames + args.warmup)
    frames, decode_s = benchmark.timed_call(lambda: [f for f, _ in source], dev, clock)
    if len(frames) <= args.warmup:  # a bad input: one error line by run_cli
        raise ValueError(f'{args.input} has {len(frames)} frame(s), --warmup {args.warmup}')
    path = args.config if osp.isfile(args.config) else apis.find_model_entry(args.config)[0]
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = cfg.model.head.init_cfg = None
    cfg.model.test_cfg.flip_test = False
    affine = next(t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'TopdownAffine')
    if args.input_size is not None:  # crop (H, W), heatmaps (H/4, W/4)
        h, w = args.input_size
        cfg.model.head.decoder.update(input_size=(w, h), heatmap_size=(w // 4, h // 4))
        affine.input_size = (w, h)
    whole = dict(device=str(dev), det_model='whole_image')
    single = Pose2DInferencer(single_frame_config(cfg, affine.input_size), **whole)
    temporal = apis.FaSRnetInferencer(cfg, args.weights, **whole)
    name = f'{cfg.model.backbone.type}-W{cfg.model.backbone.extra.stage2.num_channels[0]}'
    label = f'FaSRnet offline (T={len(temporal.frame_offsets)})'
    sides = [(label, temporal, FrameListSource), (f'{name} single-frame', single, list)]
    rows, runs = [], []
    for label, inferencer, wrap in sides:
        if args.det == 'hog':
            inferencer.detector, inferencer.det_cat_ids = apis.HOGPersonDetector(), (0,)
        row = dict(label=label, seconds=defaultdict(float), calls=defaultdict(int), persons=0)
        for method, stage in STAGES.items():
            owner, _, attr = method.rpartition('.')
            obj = getattr(inferencer, owner, None) if owner else inferencer
            if getattr(obj, attr, None) is not None:
                setattr(obj, attr, partial(timed, getattr(obj, attr), row, stage, dev, clock))
        runs.append(iter(inferencer(wrap(frames), return_vis=args.render, draw_bbox=True)))
        rows.append(row)
    for t in range(len(frames)):  # interleaved: frame t of one, then of the other
        for row, results in zip(rows, runs):
            if t == args.warmup:  # the timed frames start: forget the warm-up's
                row.update(seconds=defaultdict(float), calls=defaultdict(int), persons=0)
            result = timed(next, row, 'loop', dev, clock, results)
            row['persons'] += len(result['predictions'][0])
    n, decode_ms = len(frames) - args.warmup, 1000 * decode_s / len(frames)
    print_table(args, rows, n, decode_ms, frames[0].shape, affine.input_size)
    return 0


def timed(fn, row: dict, stage: str, dev, clock, *args, **kwargs):
    """``fn(*args, **kwargs)``, its time (synchronised ``clock``) added to ``row``'s ``stage``."""
    out, seconds = benchmark.timed_call(lambda: fn(*args, **kwargs), dev, clock)
    row['seconds'][stage] += seconds
    row['calls'][stage] += 1
    return out


def print_table(args, rows, n: int, decode_ms: float, shape, crop) -> None:
    """The per-stage table (ms per frame) of the ``n`` timed frames and the ratio row."""
    cols = COLUMNS + ('other', 'total')
    for r in rows:
        r.update({c: 1000 * r['seconds'][c] / n for c in COLUMNS[1:]}, decode=decode_ms)
        r['total'] = decode_ms + 1000 * r['seconds']['loop'] / n
        r.update(other=r['total'] - sum(r[c] for c in COLUMNS), fps=1000 / r['total'])
        r['pps'] = r['persons'] * r['fps'] / n
    print(
        f'\ninput: {args.input} ({n + args.warmup} frames decoded once, {shape[1]}x{shape[0]}, '
        f'{args.warmup} warm-up), crop {crop[1]}x{crop[0]} (HxW), {args.clock} time, threads '
        f'{torch.get_num_threads()}, boxes: {args.det}, weights: {args.weights or "random"}\n'
    )
    line = '{:<30} {:>6} {:>7} {:>4} ' + ' '.join(['{:>10}'] * len(cols)) + ' {:>9} {:>9}'
    header = line.format('model', 'frames', 'persons', 'fwd', *cols, 'frames/s', 'persons/s')
    print(f'{header}\n{"-" * len(header)}')
    for r in rows:
        values = [f'{r[c]:.1f}' for c in cols] + [f'{r["fps"]:.2f}', f'{r["pps"]:.2f}']
        print(line.format(r['label'], n, r['persons'], r['calls']['model'], *values))
    ratios = [benchmark.ratio_str(rows[0][c], rows[1][c]) for c in cols + ('fps', 'pps')]
    print('-' * len(header))
    print(line.format('ratio FaSRnet / single-frame', '', '', '', *ratios))
    print('\nms/frame; boxes = detect, preprocess = crop, model = pose (test_step); fwd = forwards')


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
