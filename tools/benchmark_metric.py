# Copyright (c) OpenMMLab. All rights reserved.
"""Speed of the PoseTrack evaluation on synthetic files (default: 50 videos x 30 labelled frames,
5 GT persons + 9 false positives per frame): ``PoseTrackMAPMetric``, the file evaluation per phase
against the previous implementation, and (``--poseval DIR``) end to end against poseval. See
``docs/evaluation.md``."""

import argparse
import json
import logging
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from functools import partial
from typing import List, Optional

import numpy as np

from fasrnet_mmpose.utils.benchmark import best_of_rounds, max_rss_mib

BASELINE_REF = '0360b2cadee301fd40a0bc02f8b42524c0e61a5a'  # the previous implementation
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PHASES = ('parse GT files', 'parse prediction files', 'regions+assign+AP', 'total')


def make_dataset(root: str, args: argparse.Namespace, fmt: str) -> List[dict]:
    """Write the GT files (``fmt``) into ``root``; return one top-down data sample per prediction
    (every GT person with noise, plus ``--false-pos`` random persons per frame)."""
    from fasrnet_mmpose.evaluation.functional.posetrack_data import PT18_KEYPOINTS, PT18_TO_POSEVAL

    rng, samples, n = np.random.default_rng(0), [], args.persons
    xs, ys = [1800, 1900, 1900, 1850, 1800], [0, 0, 100, 150, 100]  # an ignore polygon
    for v in range(args.videos):
        vid, images, anns, annolist = f'{v:06d}_mpii_test', [], [], []
        for f in range(args.frames):
            iid, name = int(f'1{v:06d}{f:04d}'), f'images/val/{vid}/{f:06d}.jpg'
            centres = rng.uniform([100, 100], [1700, 900], size=(n, 2))
            kpts = centres[:, None] + rng.normal(0, 60, size=(n, 17, 2))
            vis = (rng.random((n, 17)) > 0.15) & ~np.isin(np.arange(17), (3, 4))  # no ears
            x1, y1 = (centres - 20).T.tolist()
            images.append(dict(id=iid, file_name=name, vid_id=vid))
            annolist.append(dict(image=[dict(name=name)], imgnum=[f + 1], annorect=[]))
            if f % 2 == 0:
                images[-1].update(ignore_regions_x=[xs], ignore_regions_y=[ys])
                points = [dict(x=[x], y=[y]) for x, y in zip(xs, ys)]
                annolist[-1]['ignore_regions'] = [dict(point=points)]
            for p in range(n):
                k = np.concatenate([kpts[p] * vis[p][:, None], vis[p][:, None]], axis=1)
                ann = dict(image_id=iid, track_id=p, bbox_head=[x1[p], y1[p], 40.0, 40.0])
                anns.append(dict(ann, keypoints=k.ravel().tolist()))
                j, (x, y) = np.flatnonzero(vis[p]), kpts[p].T.tolist()
                pts = [dict(id=[int(PT18_TO_POSEVAL[i])], x=[x[i]], y=[y[i]]) for i in j]
                rect = dict(track_id=[p], x1=[x1[p]], y1=[y1[p]], x2=[x1[p] + 40], y2=[y1[p] + 40])
                annolist[-1]['annorect'].append(dict(rect, annopoints=[dict(point=pts)]))
            noisy = kpts + rng.normal(0, 8, kpts.shape)
            for pred in np.concatenate([noisy, rng.uniform(0, 1900, (args.false_pos, 17, 2))]):
                scores = rng.random((1, 17)).astype(np.float32)
                pred = dict(keypoints=pred[None].astype(np.float32), keypoint_scores=scores)
                box = dict(bbox_scores=rng.uniform(0.2, 1.0, 1).astype(np.float32))
                sample = dict(vid_id=f'{v:06d}', frame_index=f, id=len(samples))
                samples.append(dict(sample, pred_instances=pred, gt_instances=box))
        cats = dict(categories=[dict(id=1, name='person', keypoints=list(PT18_KEYPOINTS))])
        content = dict(images=images, annotations=anns, **cats)
        with open(osp.join(root, f'{vid}.json'), 'w') as fh:
            json.dump(dict(annolist=annolist) if fmt == 'pt17' else content, fh)
    return samples


def run_metric(gt_dir: str, samples: List[dict], args, fmt: str, outdir: Optional[str]) -> dict:
    """``process`` and ``evaluate`` times of ``PoseTrackMAPMetric`` and its metrics."""
    from mmpose.registry import METRICS

    cfg = dict(type='PoseTrackMAPMetric', gt_folder=gt_dir, format=fmt, nms_mode=args.nms)
    metric = METRICS.build(dict(cfg, outfile_format=args.outfile_format, outfile_prefix=outdir))
    metric.dataset_meta = {}
    t0 = time.perf_counter()
    for i in range(0, len(samples), 64):
        metric.process({}, samples[i : i + 64])
    t1 = time.perf_counter()
    metrics = metric.evaluate(len(samples))
    return dict(process_s=t1 - t0, evaluate_s=time.perf_counter() - t1, **metrics)


def load_baseline(ref: str):
    """The previous implementation (``posetrack_eval.py`` at git ``ref``) as a module, or None."""
    path = 'fasrnet_mmpose/evaluation/functional/posetrack_eval.py'
    try:
        cmd = ['git', '-C', ROOT, 'show', f'{ref}:{path}']
        source = subprocess.run(cmd, capture_output=True, check=True).stdout.decode('utf-8')
    except (OSError, subprocess.CalledProcessError):
        return None
    sys.modules['_baseline'] = module = types.ModuleType('_baseline')  # for dataclasses
    exec(compile(source, f'{ref}:{path}', 'exec'), module.__dict__)
    return module


def phases(pe, gt_dir: str, pred_dir: str) -> dict:
    """Times of the file evaluation's phases with the evaluation module ``pe``, and its result."""
    t0 = time.perf_counter()
    gts = pe.load_gt_dir(gt_dir)
    t1 = time.perf_counter()
    preds = pe.load_pred_dir(pred_dir, gts)
    t2 = time.perf_counter()
    res = pe.evaluate_videos(gts, preds)
    t3 = time.perf_counter()
    return dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)), res=res)


def run_cli(cmd: List[str], cwd: Optional[str] = None) -> dict:
    """Wall and CPU (user + sys) seconds of a command."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return dict(wall=time.perf_counter() - t0, cpu=cpu)


def against_poseval(args, tmp: str) -> None:
    """``tools/eval_posetrack.py`` vs poseval end to end on the same files, interleaved."""
    gt, pred, out = osp.join(tmp, 'gt', ''), osp.join(tmp, 'pred', ''), osp.join(tmp, 'out')
    ours = [sys.executable, osp.join(ROOT, 'tools', 'eval_posetrack.py'), '--gt', gt, '--pred']
    ours += [pred, '--json', osp.join(tmp, 'ours.json')]
    theirs = [args.poseval_python, '-m', 'poseval.evaluate', '-g', gt, '-p', pred, '-e', '-o', out]
    fns = dict(poseval=lambda: run_cli(theirs, args.poseval), ours=lambda: run_cli(ours))
    best = best_of_rounds(fns, args.repeat)
    with open(osp.join(tmp, 'ours.json')) as f, open(osp.join(out, 'total_AP_metrics.json')) as g:
        same = np.allclose(json.load(f)['ap'], np.ravel(json.load(g)['ap']), 0, 1e-9, True)
    p, o = best['poseval'], best['ours']
    ratios = [f'{k} {p[k]:.2f} s / {o[k]:.2f} s = {p[k] / o[k]:.1f}x' for k in ('wall', 'cpu')]
    print(f'  poseval vs tools/eval_posetrack.py end to end (best of {args.repeat}): ')
    print(f'    {", ".join(ratios)}; same AP: {"yes" if same else "NO"}')


def bench(args, fmt: str, tmp: str, baseline) -> None:
    """Print the metric's and the file evaluation's times on synthetic ``fmt`` GT files."""
    from fasrnet_mmpose.evaluation import functional as current

    gt_dir, pred_dir = osp.join(tmp, 'gt'), osp.join(tmp, 'pred')
    os.makedirs(gt_dir)
    samples = make_dataset(gt_dir, args, fmt)
    res = run_metric(gt_dir, samples, args, fmt, pred_dir if args.write else None)
    if not args.no_memory:
        tracemalloc.start()
        run_metric(gt_dir, samples, args, fmt, None)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if not args.write:  # the file evaluation needs the files
        run_metric(gt_dir, samples, args, fmt, pred_dir)
    fns = dict(current=current, baseline=baseline)
    fns = {k: partial(phases, m, gt_dir, pred_dir) for k, m in fns.items() if m is not None}
    best = best_of_rounds(fns, args.repeat)
    cur, base, out_fmt = best['current'], best.get('baseline'), args.outfile_format or fmt
    mem = '' if args.no_memory else f', peak traced memory {peak:.1f} MiB'
    print(
        f'PoseTrackMAPMetric benchmark: {args.videos} videos x {args.frames} labelled frames x '
        f'{args.persons} persons ({len(samples)} predicted instances; GT {fmt}, predictions '
        f'{out_fmt}, nms={args.nms}{", files written" if args.write else ""})\n  process() '
        f'{res["process_s"]:.3f} s + evaluate() {res["evaluate_s"]:.3f} s = metric total '
        f'{res["process_s"] + res["evaluate_s"]:.3f} s{mem}, max RSS {max_rss_mib():.0f} MiB; '
        f'mAP {res["posetrack/AP"]:.2f}'
    )
    r, what = cur['res'], f'previous implementation ({args.baseline_ref})' if base else 'none'
    print(
        f'  file evaluation ({fmt} GT, {out_fmt} predictions: {r["num_gt_persons"]} GT / '
        f'{r["num_pred_persons"]} predicted persons), best of {args.repeat}; baseline: {what}'
    )
    print(f'    {"phase":<22}{"current":>10}{"baseline":>10}{"speed-up":>10}')
    for key in PHASES if base else ():
        print(f'    {key:<22}{cur[key]:9.3f}s{base[key]:9.3f}s{base[key] / cur[key]:9.1f}x')
    if base:
        same = all(np.array_equal(r[k], base['res'][k], True) for k in ('ap', 'pre', 'rec'))
        print(f'    results identical to the baseline: {"yes" if same else "NO"}')
    if args.poseval:
        against_poseval(args, tmp)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--videos', type=int, default=50)
    parser.add_argument('--frames', type=int, default=30, help='labelled frames per video')
    parser.add_argument('--persons', type=int, default=5, help='GT persons per frame')
    parser.add_argument('--false-pos', type=int, default=9, help='false positives per frame')
    parser.add_argument('--format', choices=['pt17', 'pt18', 'both'], default='both')
    parser.add_argument('--outfile-format', choices=['pt17', 'pt18'], help='default: --format')
    parser.add_argument('--nms', choices=['none', 'oks_nms'], default='none')
    parser.add_argument('--write', action='store_true', help='time writing the files too')
    parser.add_argument('--no-memory', action='store_true', help='skip the traced run')
    parser.add_argument('--repeat', type=int, default=3, help='best of N interleaved runs')
    parser.add_argument('--baseline-ref', default=BASELINE_REF, help='commit of the baseline')
    parser.add_argument('--poseval', metavar='DIR', help='a poseval checkout: compare with it')
    parser.add_argument('--poseval-python', default=sys.executable, help="poseval's python")
    args = parser.parse_args(argv)
    from mmengine.logging import MMLogger

    MMLogger.get_current_instance().setLevel(logging.WARNING)
    baseline = load_baseline(args.baseline_ref)
    for fmt in ['pt18', 'pt17'] if args.format == 'both' else [args.format]:
        with tempfile.TemporaryDirectory() as tmp:
            bench(args, fmt, tmp, baseline)
    return 0


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli as run_tool

    sys.exit(run_tool(main))
