# Copyright (c) OpenMMLab. All rights reserved.
"""Training throughput: data loading vs model step, and peak memory per sample, in one run.

Measures, for a training config:

1. **model step**: ``model.train_step`` (data preprocessor, backbone on the ``B*T`` crops, head,
   loss, backward, optimizer step) on one pre-loaded batch, repeated: samples/s and peak memory
   per sample (CUDA: ``torch.cuda.max_memory_allocated``; CPU: the growth of the process's peak
   resident set size, ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, over the measured steps
   including the first (gradients and optimizer state are created then), divided by the batch);
2. **data loading**: the config's real training ``DataLoader`` (its pipeline: 3-frame decode,
   augmentation, one affine for all frames, targets, packing; its worker count unless
   ``--num-workers``), iterated without the model: samples/s;
3. **end to end**: the loader feeding the step, as in training: samples/s;

and says whether the loader is the bottleneck (loader samples/s < step samples/s).

Data: synthetic PoseTrack18-style videos written to a temporary folder (every frame on disk, so
each sample decodes 3 distinct frames; ``--frame-size`` sets their resolution), or real
consecutive frames with ``--frames-dir`` (e.g. ``../shared/data/posetrack18_mini/videos/
000001_mpiinew_test``) with synthetic person boxes, or the config's own dataset with
``--config-data``. Weights are randomly initialised (``init_cfg`` dropped: nothing is downloaded).

On CPU use a smaller model and input, e.g.::

    python tools/benchmark_train.py \\
        configs/fasrnet/fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py \\
        --backbone tiny --input-size 96 128 --batch-size 8

On a GPU, the full recipe: ``python tools/benchmark_train.py CONFIG``.
"""

import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from fasrnet_mmpose.utils.benchmark import (
    add_size_option,
    dump_json,
    hrnet_variant,
    max_rss_mib,
    resolve_device,
    synchronize,
    synthetic_frame,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark data loading vs model training step (samples/s) and peak '
        'memory per sample for a (video) pose training config.'
    )
    parser.add_argument('config', help='training config')
    parser.add_argument('--device', default='auto', help="'cuda', 'cpu' or 'auto' (default)")
    parser.add_argument('--batch-size', type=int, help='per-process batch (default: config)')
    parser.add_argument('--num-workers', type=int, help='loader workers (default: config)')
    add_size_option(
        parser,
        '--input-size',
        'WH',
        'model input size (heatmaps W/4 x H/4; multiples of 16); default: config',
    )
    parser.add_argument(
        '--backbone',
        default='config',
        choices=['config', 'w32', 'tiny'],
        help="'config' (as configured, e.g. HRNet-W48), 'w32' (HRNet-W32), "
        "'tiny' (one block per stage, --backbone-width channels)",
    )
    parser.add_argument(
        '--backbone-width', type=int, default=16, help='channels of the tiny backbone (default 16)'
    )
    parser.add_argument('--steps', type=int, default=10, help='measured model steps')
    parser.add_argument('--loader-batches', type=int, default=20, help='measured loader batches')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='unmeasured warm-up steps / batches (worker start-up, allocator)',
    )
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA)')
    data = parser.add_mutually_exclusive_group()
    data.add_argument(
        '--frames-dir',
        help='folder of real consecutive frames (*.jpg, sorted) '
        'used as one video with synthetic person boxes',
    )
    data.add_argument(
        '--config-data',
        action='store_true',
        help="use the config's own training dataset (data must exist)",
    )
    add_size_option(
        parser, '--frame-size', 'WH', 'synthetic frame size (default 1280 720)', (1280, 720)
    )
    parser.add_argument(
        '--num-frames', type=int, default=24, help='frames of the synthetic video (default 24)'
    )
    parser.add_argument(
        '--persons', type=int, default=4, help='person instances per labelled frame (default 4)'
    )
    parser.add_argument(
        '--loader-only',
        action='store_true',
        help='measure the data loader only (e.g. to size num_workers)',
    )
    parser.add_argument('--json-out', help='also write the numbers to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings (xxx=yyy), applied last',
    )
    return parser.parse_args()


# ----------------------------------------------------------------------------------- data
def make_benchmark_video(
    out_dir: str,
    frames_dir: Optional[str],
    num_frames: int,
    frame_size: Tuple[int, int],
    persons: int,
) -> Tuple[str, int, Tuple[int, int]]:
    """Write a one-video PoseTrack18-style dataset (every frame labelled and on disk).

    Args:
        out_dir (str): Dataset root to create.
        frames_dir (str, optional): Real frames to use (symlinked, sorted ``*.jpg``/``*.png``).
        num_frames (int): Synthetic frames when ``frames_dir`` is None.
        frame_size (tuple[int, int]): Synthetic ``(W, H)``.
        persons (int): Person instances per frame.

    Returns:
        tuple[str, int, tuple[int, int]]: Annotation file, number of samples, frame ``(W, H)``.
    """
    import cv2

    video = osp.join('images', 'bench', '000001_bench')
    os.makedirs(osp.join(out_dir, video), exist_ok=True)
    rng = np.random.RandomState(0)
    if frames_dir:
        srcs = sorted(
            f for f in os.listdir(frames_dir) if f.lower().endswith(('.jpg', '.jpeg', '.png'))
        )
        if len(srcs) < 3:
            raise ValueError(f'--frames-dir {frames_dir} needs at least 3 frames')
        sizes = set()
        for i, name in enumerate(srcs):
            dst = osp.join(out_dir, video, f'{i:06d}.jpg')
            os.symlink(osp.abspath(osp.join(frames_dir, name)), dst)
            img = cv2.imread(dst)
            if img is None:
                raise ValueError(f'cannot read {osp.join(frames_dir, name)}')
            sizes.add(img.shape[:2])
        if len(sizes) != 1:
            raise ValueError(f'--frames-dir frames have different sizes {sizes}')
        h, w = sizes.pop()
        num_frames = len(srcs)
    else:
        w, h = frame_size
        for t in range(num_frames):
            cv2.imwrite(osp.join(out_dir, video, f'{t:06d}.jpg'), synthetic_frame(rng, w, h, t))
    images, anns = [], []
    for t in range(num_frames):
        image_id = 10000 + t
        images.append(
            dict(
                id=image_id,
                file_name=f'{video}/{t:06d}.jpg',
                vid_id='000001',
                nframes=num_frames,
                frame_id=image_id,
                is_labeled=True,
                width=w,
                height=h,
            )
        )
        for p in range(persons):
            bw, bh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.3, 0.7) * h
            x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            kpts = np.stack([x0 + rng.rand(17) * bw, y0 + rng.rand(17) * bh, np.ones(17)], axis=1)
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=image_id,
                    category_id=1,
                    bbox=[x0, y0, bw, bh],
                    keypoints=kpts.reshape(-1).tolist(),
                    num_keypoints=17,
                    track_id=p,
                    iscrowd=0,
                )
            )
    ann_file = osp.join(out_dir, 'bench_train.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='person')]), f)
    return ann_file, len(anns), (w, h)


# ------------------------------------------------------------------------------ config
def _set_input_size(cfg: Config, input_size: Tuple[int, int]) -> None:
    """Set the model input size (``W, H``) in the head codec and the training pipeline."""
    w, h = input_size
    if w % 16 or h % 16:
        raise ValueError(
            '--input-size must be multiples of 16 (heatmaps W/4 x H/4 must be '
            'multiples of 4 for the FaSRnet TSA pyramid)'
        )
    heatmap = (w // 4, h // 4)

    def fix_codec(codec: dict) -> None:
        codec['input_size'] = (w, h)
        if 'heatmap_size' in codec:
            codec['heatmap_size'] = heatmap

    if cfg.model.get('head', {}).get('decoder'):
        fix_codec(cfg.model.head.decoder)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'TopdownAffine':
            t['input_size'] = (w, h)
        if t['type'] == 'GenerateTarget':
            fix_codec(t['encoder'])


def prepare_config(args: argparse.Namespace, data_dir: str) -> Tuple[Config, str]:
    """Load the config and apply the benchmark options; returns ``(cfg, data description)``."""
    cfg = Config.fromfile(args.config)
    model = cfg.model
    model.get('backbone', {}).pop('init_cfg', None)
    model.get('head', {}).pop('init_cfg', None)
    model.pop('init_cfg', None)
    if args.backbone != 'config':
        width = args.backbone_width if args.backbone == 'tiny' else 32
        model.backbone = hrnet_variant(width, tiny=args.backbone == 'tiny')
        if 'in_channels' in model.get('head', {}):
            model.head.in_channels = width
    if args.input_size:
        _set_input_size(cfg, tuple(args.input_size))

    loader = cfg.train_dataloader
    if args.batch_size:
        loader.batch_size = args.batch_size
    if args.num_workers is not None:
        loader.num_workers = args.num_workers
        if args.num_workers == 0:
            loader.persistent_workers = False
    if args.config_data:
        described = f'config dataset {loader.dataset.get("ann_file")}'
    else:
        ann_file, num, (w, h) = make_benchmark_video(
            data_dir, args.frames_dir, args.num_frames, tuple(args.frame_size), args.persons
        )
        ds = loader.dataset
        ds.ann_file = ann_file
        ds.data_root = data_dir
        ds.data_prefix = dict(img='')
        ds.version = 'pt18'
        ds.pop('bbox_file', None)
        described = (
            f'{num} samples on the {w}x{h} frames of {args.frames_dir}'
            if args.frames_dir
            else f'{num} samples, synthetic {w}x{h} JPEG frames'
        )
    # the loader's sampler must not stop before the measured batches: infinite sampling
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg, described


# -------------------------------------------------------------------------------- bench
def _batch_size(batch: dict) -> int:
    return len(batch['inputs'])


def bench_step(
    model, optim_wrapper, batch: dict, steps: int, warmup: int, device: torch.device
) -> Dict[str, float]:
    """Time ``model.train_step`` on one batch; peak memory per sample."""
    n = _batch_size(batch)
    rss0 = max_rss_mib()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    for _ in range(warmup):
        model.train_step(batch, optim_wrapper)
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_step(batch, optim_wrapper)
    synchronize(device)
    elapsed = time.perf_counter() - t0
    out = dict(step_samples_per_s=n * steps / elapsed, step_s=elapsed / steps)
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device)
        out.update(
            peak_mem_mib=peak / 2**20,
            peak_mem_per_sample_mib=(peak - base) / n / 2**20,
            mem_method='torch.cuda.max_memory_allocated (peak minus the allocation '
            'before the first step, divided by the batch)',
        )
    else:
        grown = max_rss_mib() - rss0
        out.update(
            peak_rss_growth_mib=grown,
            peak_mem_per_sample_mib=grown / n,
            mem_method='CPU: growth of the peak RSS (resource ru_maxrss) over the steps '
            '(activations + gradients + optimizer state), divided by the batch',
        )
    return out


def bench_loader(loader_iter: Iterator, batches: int, warmup: int) -> Dict[str, float]:
    """Iterate the training DataLoader alone."""
    for _ in range(warmup):
        next(loader_iter)
    t0 = time.perf_counter()
    samples = 0
    for _ in range(batches):
        samples += _batch_size(next(loader_iter))
    elapsed = time.perf_counter() - t0
    return dict(loader_samples_per_s=samples / elapsed, loader_batch_s=elapsed / batches)


def bench_end_to_end(
    model, optim_wrapper, loader_iter: Iterator, steps: int, device: torch.device
) -> Dict[str, float]:
    """The loader feeding the step, as in a training loop."""
    synchronize(device)
    t0 = time.perf_counter()
    samples = 0
    for _ in range(steps):
        batch = next(loader_iter)
        samples += _batch_size(batch)
        model.train_step(batch, optim_wrapper)
    synchronize(device)
    return dict(end_to_end_samples_per_s=samples / (time.perf_counter() - t0))


def main() -> None:
    args = parse_args()
    from fasrnet_mmpose.utils.cli import check_device

    check_device(args.device)  # one clear line instead of a CUDA traceback
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    from mmpose.registry import MODELS

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)

    init_default_scope('mmpose')

    device = resolve_device(args.device)
    data_dir = tempfile.mkdtemp(prefix='fasrnet_bench_')
    try:
        cfg, data_desc = prepare_config(args, data_dir)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.to(device)
        model.train()
        optim_cfg = dict(cfg.optim_wrapper)
        if args.amp:
            optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
        optim_wrapper = build_optim_wrapper(model, optim_cfg)

        loader_cfg = dict(cfg.train_dataloader)
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        loader_iter = iter(loader)
        batch = next(loader_iter)  # also starts the workers
        n = _batch_size(batch)
        t_in = tuple(batch['inputs'][0].shape)

        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f'config      : {args.config}')
        print(
            f'device      : {device} (torch {torch.__version__}, '
            f'{torch.get_num_threads()} intra-op threads, {os.cpu_count()} CPUs)'
        )
        print(
            f'model       : backbone={args.backbone}, {params / 1e6:.2f} M parameters '
            f'({trainable / 1e6:.2f} M trainable), input per sample {t_in}'
        )
        print(
            f'data        : {data_desc}; batch {n}, num_workers={loader_cfg.get("num_workers", 0)}'
        )

        results = dict(
            config=args.config,
            device=str(device),
            batch_size=n,
            num_workers=loader_cfg.get('num_workers', 0),
            input_shape=t_in,
            backbone=args.backbone,
            data=data_desc,
        )
        if args.loader_only:
            load = bench_loader(loader_iter, args.loader_batches, args.warmup)
            results.update(load)
            print(
                f'data loader : {load["loader_samples_per_s"]:8.2f} samples/s '
                f'({load["loader_batch_s"]:.3f} s per batch: 3-frame decode + augmentation + '
                'affine + target + collate)'
            )
            dump_json(args.json_out, results)
            return
        step = bench_step(model, optim_wrapper, batch, args.steps, args.warmup, device)
        load = bench_loader(loader_iter, args.loader_batches, args.warmup)
        e2e = bench_end_to_end(model, optim_wrapper, loader_iter, args.steps, device)
        results.update(**step, **load, **e2e)

        print(
            f'model step  : {step["step_samples_per_s"]:8.2f} samples/s '
            f'({step["step_s"]:.3f} s per batch of {n}: forward + backward + optimizer step)'
        )
        print(
            f'data loader : {load["loader_samples_per_s"]:8.2f} samples/s '
            f'({load["loader_batch_s"]:.3f} s per batch: 3-frame decode + augmentation + '
            'affine + target + collate)'
        )
        print(
            f'end to end  : {e2e["end_to_end_samples_per_s"]:8.2f} samples/s '
            '(loader feeding the step)'
        )
        if device.type == 'cuda':
            print(
                f'peak memory : {step["peak_mem_per_sample_mib"]:.1f} MiB per sample '
                f'({step["peak_mem_mib"]:.0f} MiB peak in total; {step["mem_method"]})'
            )
        else:
            print(
                f'peak memory : {step["peak_mem_per_sample_mib"]:.1f} MiB per sample '
                f'({step["peak_rss_growth_mib"]:.0f} MiB peak-RSS growth; '
                f'{step["mem_method"]})'
            )
        ratio = load['loader_samples_per_s'] / step['step_samples_per_s']
        bottleneck = ratio < 1.0
        results.update(loader_to_step_ratio=ratio, loader_is_bottleneck=bottleneck)
        if bottleneck:
            verdict = (
                f'the data loader IS the bottleneck: it delivers {ratio:.2f}x the samples '
                'the model step consumes (raise num_workers or use faster decoding)'
            )
        else:
            verdict = (
                f'the data loader is NOT the bottleneck: it delivers {ratio:.2f}x the '
                f'samples the model step consumes with '
                f'num_workers={loader_cfg.get("num_workers", 0)}'
            )
        if device.type == 'cpu':
            verdict += (
                '. On CPU the workers and the model share the cores: see the end-to-end number'
            )
        print(f'verdict     : {verdict}')
        dump_json(args.json_out, results)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
