# Copyright (c) OpenMMLab. All rights reserved.
"""Time and peak memory of ``PoseTrackMAPMetric`` on a synthetic large set.

Example::

    python tools/benchmark_metric.py --videos 50 --frames 30 --persons 10

Writes per-video GT files (PoseTrack18 or PoseTrack17 format, with an ignore region on
every other frame) into a temporary folder, feeds noisy top-down predictions (plus a
false positive per frame) through ``process`` in batches, and measures
``evaluate`` (grouping, file content, parsing, assignment, AP). Time is wall-clock
(``time.perf_counter``) from a run without tracing; peak memory is the largest
Python/numpy allocation traced by ``tracemalloc`` during a second, traced run, plus the
process's maximum RSS.
"""

import argparse
import json
import os
import os.path as osp
import resource
import sys
import tempfile
import time
import tracemalloc
from typing import Dict, List, Optional

import numpy as np

PT18_NAMES = (
    'nose',
    'head_bottom',
    'head_top',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
)


def make_dataset(
    root: str, videos: int, frames: int, persons: int, fmt: str, seed: int = 0
) -> List[dict]:
    """Write synthetic per-video GT files and return matching data samples.

    Args:
        root (str): Folder for the GT files.
        videos (int): Number of videos.
        frames (int): Labelled frames per video.
        persons (int): GT persons per frame.
        fmt (str): ``'pt18'`` or ``'pt17'`` GT files.
        seed (int): Random seed. Defaults to 0.

    Returns:
        List[dict]: One mmpose-style data sample (dict) per predicted instance.
    """
    rng = np.random.default_rng(seed)
    from fasrnet_mmpose.evaluation.functional import PT18_TO_POSEVAL

    samples = []
    region = [[1800, 1900, 1900, 1850, 1800], [0, 0, 100, 150, 100]]
    for v in range(videos):
        vid = f'{v:06d}_mpii_test'
        images, anns, annolist = [], [], []
        for f in range(frames):
            iid = int(f'1{v:06d}{f:04d}')
            name = f'images/val/{vid}/{f:06d}.jpg'
            img = dict(
                id=iid, file_name=name, is_labeled=True, frame_id=iid, vid_id=vid, nframes=frames
            )
            if f % 2 == 0:
                img.update(ignore_regions_x=[region[0]], ignore_regions_y=[region[1]])
            images.append(img)
            centres = rng.uniform([100, 100], [1700, 900], size=(persons, 2))
            kpts = centres[:, None] + rng.normal(0, 60, size=(persons, 17, 2))
            vis = rng.random((persons, 17)) > 0.15
            vis[:, 3:5] = False
            head = np.concatenate([centres - 20, np.full((persons, 2), 40.0)], axis=1)
            rects = []
            for p in range(persons):
                k = np.concatenate([kpts[p] * vis[p][:, None], vis[p][:, None]], axis=1)
                anns.append(
                    dict(
                        image_id=iid,
                        track_id=p,
                        keypoints=k.reshape(-1).tolist(),
                        bbox_head=head[p].tolist(),
                        id=len(anns),
                        category_id=1,
                    )
                )
                pts = [
                    dict(
                        id=[int(PT18_TO_POSEVAL[j])],
                        x=[float(kpts[p, j, 0])],
                        y=[float(kpts[p, j, 1])],
                        is_visible=[1],
                    )
                    for j in range(17)
                    if vis[p, j]
                ]
                rects.append(
                    dict(
                        track_id=[p],
                        x1=[head[p, 0]],
                        y1=[head[p, 1]],
                        x2=[head[p, 0] + 40],
                        y2=[head[p, 1] + 40],
                        annopoints=[dict(point=pts)],
                    )
                )
            fr = dict(image=[dict(name=name)], imgnum=[f + 1], annorect=rects)
            if f % 2 == 0:
                fr['ignore_regions'] = [dict(point=[dict(x=[x], y=[y]) for x, y in zip(*region)])]
            annolist.append(fr)
            # predictions: every GT person with noise + one false positive
            pred = np.concatenate(
                [kpts + rng.normal(0, 8, kpts.shape), rng.uniform(0, 1900, size=(1, 17, 2))]
            )
            for p in range(len(pred)):
                samples.append(
                    dict(
                        img_path=f'/data/posetrack18/{name}',
                        img_id=iid,
                        vid_id=f'{v:06d}',
                        frame_index=f,
                        id=len(samples),
                        pred_instances=dict(
                            keypoints=pred[p : p + 1].astype(np.float32),
                            keypoint_scores=rng.random((1, 17)).astype(np.float32),
                        ),
                        gt_instances=dict(bbox_scores=rng.uniform(0.2, 1.0, 1).astype(np.float32)),
                    )
                )
        content = dict(
            images=images,
            annotations=anns,
            categories=[dict(id=1, name='person', keypoints=list(PT18_NAMES))],
        )
        if fmt == 'pt17':
            content = dict(annolist=annolist)
        with open(osp.join(root, f'{vid}.json'), 'w') as fh:
            json.dump(content, fh)
    return samples


def run_metric(
    gt_dir: str, samples: List[dict], args: argparse.Namespace, outdir: Optional[str]
) -> Dict[str, float]:
    """Feed the samples through the metric; return timings and the metrics.

    Args:
        gt_dir (str): GT folder.
        samples (List[dict]): Data samples.
        args (argparse.Namespace): Command line options.
        outdir (str, optional): ``outfile_prefix`` (None: write nothing).

    Returns:
        dict: ``process_s``, ``evaluate_s`` and the metric values.
    """
    from mmpose.registry import METRICS

    metric = METRICS.build(
        dict(
            type='PoseTrackMAPMetric',
            gt_folder=gt_dir,
            format=args.format,
            outfile_format=args.outfile_format,
            nms_mode=args.nms,
            outfile_prefix=outdir,
        )
    )
    metric.dataset_meta = {}
    t0 = time.perf_counter()
    for i in range(0, len(samples), args.batch_size):
        metric.process({}, samples[i : i + args.batch_size])
    t1 = time.perf_counter()
    metrics = metric.evaluate(len(samples))
    t2 = time.perf_counter()
    return dict(process_s=t1 - t0, evaluate_s=t2 - t1, **metrics)


def _benchmark(args: argparse.Namespace) -> tuple:
    """Make the data, run the metric untraced (time) and traced (peak memory).

    Args:
        args (argparse.Namespace): Command line options.

    Returns:
        tuple: ``(results of the timed run, traced peak bytes or None, samples,
        seconds spent making the data)``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir = osp.join(tmp, 'gt')
        os.makedirs(gt_dir)
        t0 = time.perf_counter()
        samples = make_dataset(gt_dir, args.videos, args.frames, args.persons, args.format)
        t_make = time.perf_counter() - t0
        outdir = osp.join(tmp, 'pred') if args.write else None
        res = run_metric(gt_dir, samples, args, outdir)
        peak = None
        if not args.no_memory:
            tracemalloc.start()
            try:
                run_metric(gt_dir, samples, args, outdir)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    return res, peak, samples, t_make


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print time and peak memory.

    Args:
        argv (List[str], optional): Command line arguments.

    Returns:
        int: Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--videos', type=int, default=50)
    parser.add_argument('--frames', type=int, default=30, help='labelled frames per video')
    parser.add_argument('--persons', type=int, default=10, help='GT persons per frame')
    parser.add_argument('--format', choices=['pt17', 'pt18'], default='pt18', help='GT file format')
    parser.add_argument(
        '--outfile-format',
        choices=['pt17', 'pt18'],
        default=None,
        help='prediction file format (default: as --format)',
    )
    parser.add_argument('--nms', choices=['none', 'oks_nms'], default='none')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument(
        '--write', action='store_true', help='also write the prediction files (outfile_prefix)'
    )
    parser.add_argument('--no-memory', action='store_true', help='skip the traced run')
    args = parser.parse_args(argv)

    import logging

    from fasrnet_mmpose.utils import mmlogger_level  # imports the plugin (registers the metric)

    with mmlogger_level(logging.WARNING):  # the metric logs its table at INFO level
        res, peak, samples, t_make = _benchmark(args)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux

    n_frames = args.videos * args.frames
    print(
        f'PoseTrackMAPMetric benchmark: {args.videos} videos x {args.frames} labelled frames x '
        f'{args.persons} persons ({n_frames} frames, {len(samples)} predicted instances; '
        f'GT {args.format}, predictions {args.outfile_format or args.format}, '
        f'nms={args.nms}{", files written" if args.write else ""})'
    )
    print(f'  synthetic data      : {t_make:8.3f} s (not part of the metric)')
    print(f'  process()           : {res["process_s"]:8.3f} s')
    print(f'  evaluate()          : {res["evaluate_s"]:8.3f} s')
    print(f'  metric total        : {res["process_s"] + res["evaluate_s"]:8.3f} s')
    if peak is not None:
        print(f'  peak traced memory  : {peak / 2**20:8.1f} MiB (tracemalloc, metric run)')
    print(f'  max RSS (process)   : {maxrss:8.1f} MiB (includes torch/mmpose imports)')
    print(f'  mAP                 : {res["posetrack/AP"]:8.2f}')
    return 0


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
