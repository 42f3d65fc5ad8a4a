# Copyright (c) OpenMMLab. All rights reserved.
"""Speed of the PoseTrack evaluation: the metric, and the file evaluation against its predecessor.

Example::

    python tools/benchmark_metric.py                       # 50 videos x 30 frames, PT18 and PT17
    python tools/benchmark_metric.py --persons 10 --false-pos 1 --format pt18 --write

Writes synthetic per-video GT files (PoseTrack18 or PoseTrack17 format, an ignore region on every
other frame; by default 5 GT persons and 9 false positives per frame: 7,500 GT persons and 21,000
predictions) into a temporary folder and measures

1. ``PoseTrackMAPMetric``: ``process`` (batches of top-down samples) and ``evaluate`` (grouping,
   optional files, AP); wall-clock from an untraced run, peak memory from a second run traced by
   ``tracemalloc``, plus the process's maximum RSS.
2. The file evaluation of ``tools/eval_posetrack.py`` (the metric's written prediction files against
   the GT files), per phase: parse GT files, parse prediction files, evaluate (ignore regions,
   PCKh + greedy assignment, AP). **Baseline, measured in the same run:** the previous
   implementation (``fasrnet_mmpose/evaluation/functional/posetrack_eval.py`` as of
   ``--baseline-ref``, loaded with ``git show`` from this repository: standard-library ``json``,
   per-record parsing), on the same files, interleaved with the current one, best of
   ``--repeat`` runs each. Where git or the commit is not available, the baseline is the current
   readers fed by the standard-library ``json`` (the JSON library's share only), and the output
   says so. The results of both must be identical (checked).

The official poseval is not run here (it is not on the package index); ``docs/evaluation.md``
gives its times on the same files.
"""

import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
import tracemalloc
from types import ModuleType
from typing import Dict, List, Optional, Tuple

import numpy as np

from fasrnet_mmpose.utils.benchmark import best_of_rounds, max_rss_mib

#: The last commit of the previous evaluation implementation (the baseline).
BASELINE_REF = '0360b2cadee301fd40a0bc02f8b42524c0e61a5a'


def make_dataset(
    root: str, videos: int, frames: int, persons: int, fmt: str, false_pos: int = 1, seed: int = 0
) -> List[dict]:
    """Write synthetic per-video GT files and return matching data samples.

    Args:
        root (str): Folder for the GT files.
        videos (int): Number of videos.
        frames (int): Labelled frames per video.
        persons (int): GT persons per frame.
        fmt (str): ``'pt18'`` or ``'pt17'`` GT files.
        false_pos (int): False-positive predictions per frame. Defaults to 1.
        seed (int): Random seed. Defaults to 0.

    Returns:
        List[dict]: One mmpose-style data sample (dict) per predicted instance.
    """
    rng = np.random.default_rng(seed)
    from fasrnet_mmpose.evaluation.functional import PT18_KEYPOINTS, PT18_TO_POSEVAL

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
            # predictions: every GT person with noise + false positives
            pred = np.concatenate(
                [kpts + rng.normal(0, 8, kpts.shape), rng.uniform(0, 1900, (false_pos, 17, 2))]
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
            categories=[dict(id=1, name='person', keypoints=list(PT18_KEYPOINTS))],
        )
        if fmt == 'pt17':
            content = dict(annolist=annolist)
        with open(osp.join(root, f'{vid}.json'), 'w') as fh:
            json.dump(content, fh)
    return samples


def run_metric(
    gt_dir: str, samples: List[dict], args: argparse.Namespace, fmt: str, outdir: Optional[str]
) -> Dict[str, float]:
    """Feed the samples through the metric; return timings and the metrics.

    Args:
        gt_dir (str): GT folder.
        samples (List[dict]): Data samples.
        args (argparse.Namespace): Command line options.
        fmt (str): GT format.
        outdir (str, optional): ``outfile_prefix`` (None: write nothing).

    Returns:
        dict: ``process_s``, ``evaluate_s`` and the metric values.
    """
    from mmpose.registry import METRICS

    metric = METRICS.build(
        dict(
            type='PoseTrackMAPMetric',
            gt_folder=gt_dir,
            format=fmt,
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


def _metric(args: argparse.Namespace, fmt: str, tmp: str) -> Tuple[dict, Optional[int], int]:
    """Make the data, run the metric untraced (time) and traced (peak memory).

    Args:
        args (argparse.Namespace): Command line options.
        fmt (str): GT format.
        tmp (str): Work folder (GT in ``<tmp>/gt``, predictions written to ``<tmp>/pred``).

    Returns:
        tuple: ``(results of the timed run, traced peak bytes or None, number of samples)``.
    """
    gt_dir = osp.join(tmp, 'gt')
    os.makedirs(gt_dir)
    samples = make_dataset(gt_dir, args.videos, args.frames, args.persons, fmt, args.false_pos)
    res = run_metric(gt_dir, samples, args, fmt, osp.join(tmp, 'pred') if args.write else None)
    peak = None
    if not args.no_memory:
        tracemalloc.start()
        try:
            run_metric(gt_dir, samples, args, fmt, None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    if not args.write:  # the file evaluation needs the prediction files
        run_metric(gt_dir, samples, args, fmt, osp.join(tmp, 'pred'))
    return res, peak, len(samples)


def load_baseline(ref: str) -> Tuple[Optional[ModuleType], str]:
    """The previous implementation (``posetrack_eval.py`` at git ``ref``) as a module.

    Args:
        ref (str): A commit of this repository that still has the file.

    Returns:
        tuple: ``(module or None, description)``.
    """
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    path = 'fasrnet_mmpose/evaluation/functional/posetrack_eval.py'
    try:
        source = subprocess.run(
            ['git', '-C', root, 'show', f'{ref}:{path}'], capture_output=True, check=True
        ).stdout.decode('utf-8')
    except (OSError, subprocess.CalledProcessError):
        return None, f'git show {ref}:{path} failed'
    spec = importlib.util.spec_from_loader('_posetrack_eval_baseline', loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    exec(compile(source, f'{ref}:{path}', 'exec'), module.__dict__)
    return module, f'previous implementation ({path} at {ref}: stdlib json, per-record parsing)'


def _phases(pe: ModuleType, gt_dir: str, pred_dir: str) -> dict:
    """Time the phases of the file evaluation with the evaluation module ``pe``."""
    t0 = time.perf_counter()
    gts = pe.load_gt_dir(gt_dir)
    t1 = time.perf_counter()
    preds = pe.load_pred_dir(pred_dir, gts)
    t2 = time.perf_counter()
    res = pe.evaluate_videos(gts, preds)
    t3 = time.perf_counter()
    return dict(parse_gt=t1 - t0, parse_pred=t2 - t1, evaluate=t3 - t2, total=t3 - t0, res=res)


def _file_evaluation(args: argparse.Namespace, tmp: str, baseline: Optional[ModuleType]) -> tuple:
    """Best-of-``--repeat`` phase times of the current and the baseline file evaluation."""
    from fasrnet_mmpose.evaluation import functional as current
    from fasrnet_mmpose.evaluation.functional import posetrack_data

    gt_dir, pred_dir = osp.join(tmp, 'gt'), osp.join(tmp, 'pred')

    def run_baseline() -> dict:
        if baseline is not None:
            return _phases(baseline, gt_dir, pred_dir)
        fast = posetrack_data.orjson  # the current readers on the standard library's json
        posetrack_data.orjson = None
        try:
            return _phases(current, gt_dir, pred_dir)
        finally:
            posetrack_data.orjson = fast

    # interleaved: same machine load
    best = best_of_rounds(
        dict(baseline=run_baseline, current=lambda: _phases(current, gt_dir, pred_dir)),
        args.repeat,
    )
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_array_equal(best['current']['res'][key], best['baseline']['res'][key])
    return best['current'], best['baseline']


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print times, ratios and peak memory.

    Args:
        argv (List[str], optional): Command line arguments.

    Returns:
        int: Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--videos', type=int, default=50)
    parser.add_argument('--frames', type=int, default=30, help='labelled frames per video')
    parser.add_argument('--persons', type=int, default=5, help='GT persons per frame')
    parser.add_argument('--false-pos', type=int, default=9, help='false positives per frame')
    parser.add_argument(
        '--format', choices=['pt17', 'pt18', 'both'], default='both', help='GT file format'
    )
    parser.add_argument(
        '--outfile-format',
        choices=['pt17', 'pt18'],
        default=None,
        help='prediction file format (default: as the GT format)',
    )
    parser.add_argument('--nms', choices=['none', 'oks_nms'], default='none')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument(
        '--write', action='store_true', help='also time writing the prediction files'
    )
    parser.add_argument('--no-memory', action='store_true', help='skip the traced run')
    parser.add_argument('--repeat', type=int, default=3, help='file evaluation: best of N runs')
    parser.add_argument(
        '--baseline-ref',
        default=BASELINE_REF,
        help='git commit holding the previous implementation (the baseline)',
    )
    args = parser.parse_args(argv)

    import logging

    from fasrnet_mmpose.utils import mmlogger_level  # imports the plugin (registers the metric)

    baseline, baseline_name = load_baseline(args.baseline_ref)
    if baseline is None:
        baseline_name = (
            f'current readers on the standard-library json ({baseline_name}: the previous '
            'implementation is not available)'
        )
    formats = ['pt18', 'pt17'] if args.format == 'both' else [args.format]
    for fmt in formats:
        with tempfile.TemporaryDirectory() as tmp, mmlogger_level(logging.WARNING):
            res, peak, num_samples = _metric(args, fmt, tmp)
            cur, base = _file_evaluation(args, tmp, baseline)
        maxrss = max_rss_mib()
        out_fmt = args.outfile_format or fmt
        n_gt, n_pred = cur['res']['num_gt_persons'], cur['res']['num_pred_persons']
        print(
            f'PoseTrackMAPMetric benchmark: {args.videos} videos x {args.frames} labelled frames x '
            f'{args.persons} persons ({args.videos * args.frames} frames, {num_samples} predicted '
            f'instances; GT {fmt}, predictions {out_fmt}, nms={args.nms}'
            f'{", files written" if args.write else ""})'
        )
        print(f'  process()           : {res["process_s"]:8.3f} s')
        print(f'  evaluate()          : {res["evaluate_s"]:8.3f} s')
        print(f'  metric total        : {res["process_s"] + res["evaluate_s"]:8.3f} s')
        if peak is not None:
            print(f'  peak traced memory  : {peak / 2**20:8.1f} MiB (tracemalloc, metric run)')
        print(f'  max RSS (process)   : {maxrss:8.1f} MiB (includes torch/mmpose imports)')
        print(f'  mAP                 : {res["posetrack/AP"]:8.2f}')
        print(
            f'  file evaluation ({fmt} GT, {out_fmt} predictions: {n_gt} GT / {n_pred} predicted '
            f'persons), best of {args.repeat}; baseline: {baseline_name}'
        )
        print(f'    {"phase":<22}{"current":>10}{"baseline":>10}{"speed-up":>10}')
        for key, label in (
            ('parse_gt', 'parse GT files'),
            ('parse_pred', 'parse prediction files'),
            ('evaluate', 'regions+assign+AP'),
            ('total', 'total'),
        ):
            ratio = base[key] / max(cur[key], 1e-9)
            print(f'    {label:<22}{cur[key]:9.3f}s{base[key]:9.3f}s{ratio:9.1f}x')
        print('    results identical to the baseline: yes')
    return 0


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
