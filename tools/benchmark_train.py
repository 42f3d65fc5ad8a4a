# Copyright (c) OpenMMLab. All rights reserved.
"""Training throughput of a config: model step vs data loader vs both, and peak memory per
sample, in one run on synthetic or real frames (docs/training.md, "Throughput and memory")."""

import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import mmengine
import numpy as np
import torch
from mmengine.config import Config, DictAction

from fasrnet_mmpose.utils.benchmark import (
    add_size_option,
    hrnet_variant,
    max_rss_mib,
    resolve_device,
    synthetic_frame,
    timed_call,
)

IMAGE_EXTS = ('.jpg', '.jpeg', '.png')
MEM_METHOD = {  # how peak memory per sample is measured, on CUDA (True) or CPU (False)
    True: 'torch.cuda.max_memory_allocated minus the allocation before the steps, per sample',
    False: 'CPU: growth of the peak RSS (resource ru_maxrss) over the steps, per sample',
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Training step vs data loader samples/s')
    add = parser.add_argument
    add('config', help='training config')
    add('--device', default='auto', help="'cuda', 'cpu' or 'auto'")
    add('--batch-size', type=int, help='per-process batch (default: config)')
    add('--num-workers', type=int, help='loader workers (default: config)')
    add_size_option(parser, '--input-size', 'WH', 'model input (multiples of 16; default: config)')
    add('--backbone', default='config', choices=('config', 'w32', 'tiny'), help='tiny: 1 block')
    add('--backbone-width', type=int, default=16, help='tiny backbone channels')
    add('--steps', type=int, default=10, help='measured model steps')
    add('--loader-batches', type=int, default=20, help='measured loader batches')
    add('--warmup', type=int, default=2, help='unmeasured steps / batches')
    add('--amp', action='store_true', help='mixed precision (CUDA)')
    data = parser.add_mutually_exclusive_group()
    data.add_argument('--frames-dir', help='real consecutive frames (sorted *.jpg) as one video')
    data.add_argument('--config-data', action='store_true', help="the config's own dataset")
    add_size_option(parser, '--frame-size', 'WH', 'synthetic frame size', (1280, 720))
    add('--num-frames', type=int, default=24, help='synthetic video frames')
    add('--persons', type=int, default=4, help='persons per labelled frame')
    add('--loader-only', action='store_true', help='measure the loader only')
    add('--json-out', help='also write the numbers to this JSON file')
    add('--cfg-options', nargs='+', action=DictAction, help='xxx=yyy, last')
    return parser.parse_args(argv)


def make_benchmark_video(out_dir: str, args: argparse.Namespace) -> Tuple[str, int, tuple]:
    """A one-video PT18 dataset in ``out_dir`` (synthetic frames or ``--frames-dir``'s, each with
    ``--persons`` random persons): its annotation file, sample count and frame (W, H)."""
    import cv2

    video = osp.join('images', 'bench', '000001_bench')
    os.makedirs(osp.join(out_dir, video))
    rng = np.random.RandomState(0)
    (w, h), frames_dir, num_frames = args.frame_size, args.frames_dir, args.num_frames
    if frames_dir:
        names = sorted(f for f in os.listdir(frames_dir) if f.lower().endswith(IMAGE_EXTS))
        paths = [osp.join(frames_dir, n) for n in names]
        shapes = {None if im is None else im.shape[:2] for im in map(cv2.imread, paths)}
        if len(names) < 3 or len(shapes) != 1 or None in shapes:
            raise ValueError(f'--frames-dir {frames_dir}: need >= 3 readable frames of one size')
        (h, w), num_frames = shapes.pop(), len(names)
    images, anns, common = [], [], dict(category_id=1, num_keypoints=17, iscrowd=0)
    categories = [dict(id=1, name='person')]
    for t in range(num_frames):
        name = f'{video}/{t:06d}.jpg'
        if frames_dir:
            os.symlink(osp.abspath(paths[t]), osp.join(out_dir, name))
        else:
            cv2.imwrite(osp.join(out_dir, name), synthetic_frame(rng, w, h, t))
        images.append(dict(id=10000 + t, frame_id=10000 + t, file_name=name, is_labeled=True))
        images[-1].update(vid_id='000001', nframes=num_frames, width=w, height=h)
        for p in range(args.persons):
            bw, bh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.3, 0.7) * h
            x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            kpts = np.stack([x0 + rng.rand(17) * bw, y0 + rng.rand(17) * bh, np.ones(17)], 1)
            ann = dict(id=len(anns) + 1, image_id=10000 + t, track_id=p, bbox=[x0, y0, bw, bh])
            anns.append(dict(ann, keypoints=kpts.ravel().tolist(), **common))
    ann_file = osp.join(out_dir, 'bench_train.json')
    mmengine.dump(dict(images=images, annotations=anns, categories=categories), ann_file)
    return ann_file, len(anns), (w, h)


def prepare_config(args: argparse.Namespace, data_dir: str) -> Tuple[Config, str]:
    """The config with the benchmark options applied, and a description of its data."""
    cfg = Config.fromfile(args.config)
    model, loader = cfg.model, cfg.train_dataloader
    for part in (model, model.get('backbone', {}), model.get('head', {})):
        part.pop('init_cfg', None)  # random weights: nothing is downloaded
    if args.backbone != 'config':
        width = args.backbone_width if args.backbone == 'tiny' else 32
        model.backbone = hrnet_variant(width, tiny=args.backbone == 'tiny')
        if 'in_channels' in model.get('head', {}):
            model.head.in_channels = width
    if args.input_size:
        w, h = args.input_size
        if w % 16 or h % 16:
            raise ValueError('--input-size must be multiples of 16 (FaSRnet TSA pyramid)')
        codecs = [model.head.decoder] if model.get('head', {}).get('decoder') else []
        for t in loader.dataset.pipeline:
            if t['type'] == 'TopdownAffine':
                t['input_size'] = (w, h)
            codecs += [t['encoder']] if t['type'] == 'GenerateTarget' else []
        for codec in codecs:
            codec['input_size'] = (w, h)
            if 'heatmap_size' in codec:
                codec['heatmap_size'] = (w // 4, h // 4)
    loader.batch_size = args.batch_size or loader.batch_size
    if args.num_workers is not None:
        loader.num_workers = args.num_workers
        loader.persistent_workers = bool(args.num_workers and loader.get('persistent_workers'))
    if args.config_data:
        described = f'config dataset {loader.dataset.get("ann_file")}'
    else:
        ann_file, num, (w, h) = make_benchmark_video(data_dir, args)
        loader.dataset.update(ann_file=ann_file, data_root=data_dir, data_prefix=dict(img=''))
        loader.dataset.update(version='pt18', bbox_file=None)
        where = f'on the {w}x{h} frames of {args.frames_dir}'
        described = f'{num} samples, ' + (where if args.frames_dir else f'synthetic {w}x{h} JPEGs')
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)  # never stops before the batches
    if args.amp:
        cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    cfg.merge_from_dict(args.cfg_options or {})
    return cfg, described


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    """Print the step, loader and end-to-end throughput, memory and verdict; return them."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpose.registry import MODELS

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)
    from fasrnet_mmpose.utils.cli import check_device

    args = parse_args(argv)
    check_device(args.device)  # one clear line instead of a CUDA traceback
    init_default_scope('mmpose')
    device = resolve_device(args.device)
    cuda = device.type == 'cuda'
    with tempfile.TemporaryDirectory(prefix='fasrnet_bench_') as data_dir:
        cfg, data = prepare_config(args, data_dir)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.to(device).train()
        optim_wrapper = build_optim_wrapper(model, dict(cfg.optim_wrapper))
        workers = cfg.train_dataloader.get('num_workers', 0)
        loader = iter(Runner.build_dataloader(dict(cfg.train_dataloader), seed=0))
        batch = next(loader)  # also starts the workers
        n, shape = len(batch['inputs']), tuple(batch['inputs'][0].shape)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6
        threads = f'{torch.get_num_threads()} intra-op threads, {os.cpu_count()} CPUs'
        print(
            f'config      : {args.config}\ndevice      : {device} (torch {torch.__version__}, '
            f'{threads})\nmodel       : backbone={args.backbone}, {params:.2f} M '
            f'parameters ({trainable:.2f} M trainable), input per sample {shape}\n'
            f'data        : {data}; batch {n}, num_workers={workers}'
        )
        res = dict(config=args.config, device=str(device), batch_size=n, num_workers=workers)
        res.update(input_shape=shape, backbone=args.backbone, data=data)

        def load(batches):  # samples delivered by the loader alone
            return sum(len(next(loader)['inputs']) for _ in range(batches))

        def steps(count, from_loader=False):  # samples trained on
            for _ in range(count):
                model.train_step(next(loader) if from_loader else batch, optim_wrapper)
            return n * count

        if not args.loader_only:
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device) / 2**20 if cuda else max_rss_mib()
            steps(args.warmup)
            samples, secs = timed_call(lambda: steps(args.steps), device)
            peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else max_rss_mib() - base
            res.update(step_samples_per_s=samples / secs, step_s=secs / args.steps)
            res.update(peak_mem_mib=peak, peak_mem_per_sample_mib=(peak - base * cuda) / n)
            res['mem_method'] = MEM_METHOD[cuda]
        load(args.warmup)
        samples, secs = timed_call(lambda: load(args.loader_batches), device)
        res.update(loader_samples_per_s=samples / secs, loader_batch_s=secs / args.loader_batches)
        lines = [
            f'data loader : {samples / secs:8.2f} samples/s ({res["loader_batch_s"]:.3f} s per '
            'batch: 3-frame decode + augmentation + affine + target + collate)'
        ]
        if not args.loader_only:
            samples, secs = timed_call(lambda: steps(args.steps, from_loader=True), device)
            ratio = res['loader_samples_per_s'] / res['step_samples_per_s']
            res.update(end_to_end_samples_per_s=samples / secs, loader_to_step_ratio=ratio)
            res['loader_is_bottleneck'] = ratio < 1
            hint = ' (raise it or decode faster)' if ratio < 1 else ''
            verdict = (
                f'the data loader {"IS" if ratio < 1 else "is NOT"} the bottleneck: it delivers '
                f'{ratio:.2f}x the samples the model step consumes with num_workers={workers}{hint}'
            )
            if not cuda:
                verdict += '. On CPU the workers and the model share the cores: see end to end'
            lines = [
                f'model step  : {res["step_samples_per_s"]:8.2f} samples/s ({res["step_s"]:.3f} s '
                f'per batch of {n}: forward + backward + optimizer step)',
                *lines,
                f'end to end  : {samples / secs:8.2f} samples/s (loader feeding the step)',
                f'peak memory : {res["peak_mem_per_sample_mib"]:.1f} MiB per sample '
                f'({peak:.0f} MiB in all; {res["mem_method"]})',
                f'verdict     : {verdict}',
            ]
        print('\n'.join(lines))
        if args.json_out:
            mmengine.dump(res, args.json_out, file_format='json', indent=2)
        return res


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
