# Copyright (c) OpenMMLab. All rights reserved.
"""Inference speed: FaSRnet temporal inferencer vs mmpose's single-frame HRNet-W48.

    python tools/benchmark_inference.py [INPUT] [--max-frames 10] [--input-size 384 288]

Both models run in the same process on the same frames, which are decoded
**once** (timed as ``decode``) and then handed to both inferencers as arrays:

* ``FaSRnet``: :class:`fasrnet_mmpose.apis.FaSRnetInferencer` with the given
  config (default: the PoseTrack17 FaSRnet HRNet-W48 config), windows
  ``[t, t-1, t+1]`` from its ring buffer, one forward per frame;
* ``HRNet-W48 single-frame``: mmpose's stock ``Pose2DInferencer`` with a
  ``TopdownPoseEstimator`` + ``HeatmapHead`` config built here (the same
  HRNet-W48 backbone, input size, normalisation and top-down pipeline).

Weights do not change the speed: without ``--weights`` both are randomly
initialised. Both use the same person boxes (``--det``: OpenCV HOG by
default, or the whole frame) and flip test off, and run **interleaved**,
frame t of one then frame t of the other, so both see the same machine load.
Stages (ms per frame): ``decode`` (shared), ``boxes`` (the detector),
``preprocess`` (test pipeline: window assembly, affine crops, packing; and
collate), ``model`` (``model.test_step``: data preprocessor, backbone, head,
decoding), ``postproc`` (results to dicts), ``render`` (``--render``),
``tracking`` (the pose tracker) and ``other`` (the rest of the loop);
``total`` is the time of the inferencer loop per frame plus ``decode``. On a
CPU device the times are this process's CPU time (``--clock cpu``: other jobs
on a shared machine do not distort the ratios), on CUDA synchronised wall time.
On CPU use ``--input-size 256 192`` and ``--max-frames`` to keep it short.
"""

import argparse
import copy
import logging
import os.path as osp
import sys
from collections import defaultdict
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config
from mmpose.apis.inferencers import Pose2DInferencer

from fasrnet_mmpose.apis import (
    FaSRnetInferencer,
    HOGPersonDetector,
    find_model_entry,
    open_frame_source,
)
from fasrnet_mmpose.apis.inferencers.utils.frame_source import FrameListSource
from fasrnet_mmpose.apis.inferencers.utils.model_index import DEFAULT_MODEL, DEMO_CLIP
from fasrnet_mmpose.utils import check_device, mmlogger_level
from fasrnet_mmpose.utils.benchmark import (
    CLOCKS,
    add_size_option,
    ratio_str,
    resolve_device,
    timed_call,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Frames/s and persons/s of the FaSRnet temporal inferencer vs mmpose's "
        'single-frame HRNet-W48 inferencer on a real clip.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('input', nargs='?', default=DEMO_CLIP, help='video file or image folder')
    parser.add_argument(
        '--config', default=DEFAULT_MODEL, help='FaSRnet config file or model alias'
    )
    parser.add_argument('--weights', default=None, help='FaSRnet checkpoint (optional)')
    parser.add_argument('--max-frames', type=int, default=10, help='frames to time')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed warm-up frames (run before the timed pass)'
    )
    add_size_option(
        parser,
        '--input-size',
        'HW',
        'override the crop size of both models (multiples of 32), e.g. '
        "128 96 on CPU; default: the config's (384 288)",
    )
    parser.add_argument(
        '--det', choices=['hog', 'whole-image'], default='hog', help='person boxes for both models'
    )
    parser.add_argument('--online', action='store_true', help='FaSRnet online mode')
    parser.add_argument(
        '--render', action='store_true', help='also draw the poses (timed as render) in both'
    )
    parser.add_argument('--device', default=None, help='cpu, cuda:0, ... (default: auto)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--clock',
        choices=['auto', 'cpu', 'wall'],
        default='auto',
        help='cpu: CPU time of this process (robust to other jobs on a shared machine); wall: '
        'elapsed time; auto: cpu on a CPU device, wall (synchronised) on CUDA',
    )
    args = parser.parse_args(argv)
    if args.max_frames < 1:
        parser.error('--max-frames must be >= 1')
    if args.input_size is not None and any(s % 32 for s in args.input_size):
        parser.error('--input-size: HRNet-W48 needs multiples of 32 (e.g. 128 96, 256 192)')
    return args


#: stage -> inferencer method timed as that stage (besides the detector and model.test_step)
STAGES = (
    ('preprocess', 'pipeline'),
    ('preprocess', 'collate_fn'),
    ('postproc', 'postprocess'),
    ('render', 'visualize'),
)
COLUMNS = ('decode', 'boxes', 'preprocess', 'model', 'postproc', 'render', 'tracking')


class StageTimer:
    """Accumulates time (synchronised ``clock``) and call counts per stage."""

    def __init__(self, device: torch.device, clock: Callable[[], float]) -> None:
        self.seconds: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)
        self.device, self.clock = device, clock
        self.enabled = False

    def wrap(self, stage: str, fn: Callable) -> Callable:

        def timed(*args, **kwargs):
            if not self.enabled:
                return fn(*args, **kwargs)
            out, seconds = timed_call(lambda: fn(*args, **kwargs), self.device, self.clock)
            self.seconds[stage] += seconds
            self.calls[stage] += 1
            return out

        return timed


def set_input_size(cfg, input_size) -> None:
    """Set crop ``(H, W)`` (heatmaps ``H/4 x W/4``) in the codec and test pipeline."""
    h, w = input_size
    decoder = cfg.model.head.decoder
    decoder.input_size = (w, h)
    decoder.heatmap_size = (w // 4, h // 4)
    for t in cfg.test_dataloader.dataset.pipeline:
        if t.type == 'TopdownAffine':
            t.input_size = (w, h)


def backbone_name(cfg) -> str:
    """E.g. ``'HRNet-W48'`` (type and width of the first branch)."""
    backbone = cfg.model.backbone
    try:
        return f'{backbone.type}-W{backbone.extra.stage2.num_channels[0]}'
    except (AttributeError, KeyError, IndexError, TypeError):
        return str(backbone.type)


def single_frame_config(cfg):
    """mmpose's single-frame top-down HRNet-W48 with the same backbone/input."""
    base = copy.deepcopy(cfg)
    backbone = copy.deepcopy(cfg.model.backbone)
    backbone.init_cfg = None
    preprocessor = cfg.model.data_preprocessor
    base.model = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(
            type='PoseDataPreprocessor',
            mean=preprocessor.mean,
            std=preprocessor.std,
            bgr_to_rgb=preprocessor.get('bgr_to_rgb', True),
        ),
        backbone=backbone,
        head=dict(
            type='HeatmapHead',
            in_channels=cfg.model.head.in_channels,
            out_channels=cfg.model.head.out_channels,
            deconv_out_channels=None,
            decoder=copy.deepcopy(cfg.model.head.decoder),
        ),
        test_cfg=dict(flip_test=False, flip_mode='heatmap', shift_heatmap=True),
    )
    input_size = None
    for t in cfg.test_dataloader.dataset.pipeline:
        if t.type == 'TopdownAffine':
            input_size = t.input_size
    base.test_dataloader.dataset.pipeline = [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale', padding=1.25),
        dict(type='TopdownAffine', input_size=input_size),
        dict(type='PackPoseInputs'),
    ]
    return base


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    check_device(args.device)  # one clear line instead of a CUDA traceback
    with mmlogger_level(logging.ERROR):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    device = str(dev)
    if args.clock == 'auto':
        args.clock = 'wall' if dev.type == 'cuda' else 'cpu'

    # ---- decode once
    try:
        source = open_frame_source(args.input, max_frames=args.max_frames + args.warmup)
    except (FileNotFoundError, ValueError) as e:
        print(f'benchmark_inference.py: error: {e}', file=sys.stderr)
        return 1
    clock = CLOCKS[args.clock]
    decoded, decode_s = timed_call(lambda: [(frame, name) for frame, name in source], dev, clock)
    if len(decoded) <= args.warmup:
        print(
            f'benchmark_inference.py: error: {args.input} has {len(decoded)} frame(s); need more '
            f'than --warmup={args.warmup}',
            file=sys.stderr,
        )
        return 1
    assert source.num_decoded == len(decoded)  # each frame decoded once
    warm, timed = decoded[: args.warmup], decoded[args.warmup :]
    decode_ms = 1000 * decode_s / len(decoded)
    h, w = decoded[0][0].shape[:2]

    # ---- configs
    config_path = args.config if osp.isfile(args.config) else find_model_entry(args.config)[0]
    cfg = Config.fromfile(config_path)
    cfg.model.backbone.init_cfg = None
    cfg.model.head.init_cfg = None
    cfg.model.test_cfg.flip_test = False
    if args.input_size is not None:
        set_input_size(cfg, args.input_size)
    crop = next(
        t.input_size for t in cfg.test_dataloader.dataset.pipeline if t.type == 'TopdownAffine'
    )
    base_cfg = single_frame_config(cfg)

    hog = HOGPersonDetector() if args.det == 'hog' else None
    temporal = FaSRnetInferencer(
        cfg,
        weights=args.weights,
        device=device,
        det_model=hog if hog is not None else 'whole_image',
        online=args.online,
    )
    single = Pose2DInferencer(base_cfg, device=device, det_model='whole_image')
    if hog is not None:
        single.detector, single.det_cat_ids = hog, (0,)
    sides = [
        dict(
            label=f'FaSRnet {"online" if args.online else "offline"} '
            f'(T={len(temporal.frame_offsets)})',
            inferencer=temporal,
            inputs=lambda frames: FrameListSource([f for f, _ in frames]),
        ),
        dict(
            label=f'{backbone_name(cfg)} single-frame',
            inferencer=single,
            inputs=lambda frames: [f for f, _ in frames],
        ),
    ]
    call_kwargs = dict(return_vis=args.render, draw_bbox=True)
    for side in sides:
        inferencer = side['inferencer']
        side['timer'] = timer = StageTimer(dev, clock)
        if inferencer.detector is not None:
            inferencer.detector = timer.wrap('boxes', inferencer.detector)
        for stage, attr in STAGES:
            setattr(inferencer, attr, timer.wrap(stage, getattr(inferencer, attr)))
        inferencer.model.test_step = timer.wrap('model', inferencer.model.test_step)
        tracker = getattr(inferencer, 'tracker', None)
        if tracker is not None:
            tracker.update = timer.wrap('tracking', tracker.update)
        for _ in inferencer(side['inputs'](warm), **call_kwargs):  # warm-up
            pass
        timer.enabled = True
        side['results'] = iter(inferencer(side['inputs'](timed), **call_kwargs))
        side['loop'], side['persons'] = 0.0, 0
    # interleaved: frame t of one model, then frame t of the other (same machine load)
    for _ in timed:
        for side in sides:
            result, seconds = timed_call(lambda: next(side['results']), dev, clock)
            side['loop'] += seconds
            side['persons'] += len(result['predictions'][0])
    for side in sides:
        for _ in side['results']:  # let the inferencer finish its run (output files)
            pass

    n = len(timed)
    rows = []
    for side in sides:
        timer = side['timer']
        row = dict(label=side['label'], frames=n, persons=side['persons'])
        row['forwards'] = timer.calls['model']
        row['decode'] = decode_ms
        for stage in COLUMNS[1:]:
            row[stage] = 1000 * timer.seconds[stage] / n
        row['total'] = decode_ms + 1000 * side['loop'] / n
        row['other'] = row['total'] - sum(row[c] for c in COLUMNS)
        row['fps'] = 1000 / row['total']
        row['pps'] = side['persons'] * 1000 / (row['total'] * n)
        rows.append(row)

    print(
        f'\ninput: {args.input} ({len(decoded)} frames decoded once, {w}x{h}, '
        f'{args.warmup} warm-up), crop {crop[1]}x{crop[0]} (HxW), device {device}, '
        f'torch threads {torch.get_num_threads()}, boxes: {args.det}, weights: '
        f'{args.weights or "random init"}, rendering: {"on" if args.render else "off"}, '
        f'runs interleaved frame by frame, {args.clock} time\n'
    )
    cols = COLUMNS + ('other', 'total')
    header = f'{"model":<30} {"frames":>6} {"persons":>7} {"fwd":>4} ' + ' '.join(
        f'{c:>10}' for c in cols
    )
    header += f' {"frames/s":>9} {"persons/s":>9}'
    print(header)
    print(f'{"":<30} {"":>6} {"":>7} {"":>4} ' + ' '.join(f'{"ms/frame":>10}' for _ in cols))
    print('-' * len(header))
    for r in rows:
        print(
            f'{r["label"]:<30} {r["frames"]:>6} {r["persons"]:>7} {r["forwards"]:>4} '
            + ' '.join(f'{r[c]:>10.1f}' for c in cols)
            + f' {r["fps"]:>9.2f} {r["pps"]:>9.2f}'
        )
    a, b = rows
    print('-' * len(header))
    print(
        f'{"ratio FaSRnet / single-frame":<30} {"":>6} {"":>7} {"":>4} '
        + ' '.join(f'{ratio_str(a[c], b[c]):>10}' for c in cols)
        + f' {ratio_str(a["fps"], b["fps"]):>9} {ratio_str(a["pps"], b["pps"]):>9}'
    )
    print(
        '\nboxes = person detection (detect; shared detector), preprocess = test pipeline '
        '(crop: window assembly, affine crops, packing) + collate, model = model.test_step '
        '(pose: data preprocessor, backbone, head, decoding), postproc = results to dicts, '
        'render = visualisation (--render), tracking = pose tracker, other = the rest of the '
        'inferencer loop; fwd = model forwards (one per frame with people: all persons of a '
        'frame are one batch).'
    )
    return 0


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
