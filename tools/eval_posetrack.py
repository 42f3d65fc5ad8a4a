# Copyright (c) OpenMMLab. All rights reserved.
"""Evaluate official-format PoseTrack prediction files: poseval's per-frame mAP and MOTA.

    python tools/eval_posetrack.py --gt GT_DIR --pred PRED_DIR [--json total_AP_metrics.json]
    python tools/eval_posetrack.py --track [--ap] --gt GT_DIR --pred PRED_DIR [--json MOT.json]

Options and output: ``docs/evaluation.md``, ``docs/tracking.md``. Needs numpy and orjson (scipy
for ``--track``): the evaluation package is loaded from its folder, without torch/mmpose.
"""

import argparse
import importlib
import importlib.util
import json
import os.path as osp
import sys
from types import ModuleType
from typing import List, Optional


def load_posetrack_eval() -> ModuleType:
    """The package ``fasrnet_mmpose/evaluation/functional`` loaded by file, without the plugin."""
    spec = importlib.util.find_spec('fasrnet_mmpose')
    here = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'fasrnet_mmpose')
    for package in [here, *(spec.submodule_search_locations or [] if spec else [])]:
        folder = osp.join(package, 'evaluation', 'functional')
        init = osp.join(folder, '__init__.py')
        if osp.isfile(init):
            spec = importlib.util.spec_from_file_location(
                '_posetrack_eval', init, submodule_search_locations=[folder]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # relative imports and dataclasses need it
            spec.loader.exec_module(module)
            return module
    raise ImportError(f'fasrnet_mmpose/evaluation/functional not found next to {here}')


def main(argv: Optional[List[str]] = None) -> int:
    """Run the evaluation, print the tables; 0 on success, 1 on bad input."""
    parser = argparse.ArgumentParser(description='PoseTrack mAP / MOTA (poseval protocol)')
    parser.add_argument('--gt', required=True, help='folder of per-video GT json files')
    parser.add_argument('--pred', required=True, help='prediction files named as the GT files')
    parser.add_argument('--format', choices=['auto', 'pt17', 'pt18'], default='auto')
    parser.add_argument('--json', metavar='OUT', help='total_AP_metrics.json (--track: MOT)')
    parser.add_argument('--track', action='store_true', help="poseval's tracking evaluation")
    parser.add_argument('--ap', action='store_true', help='with --track: the mAP too')
    parser.add_argument('--mot-json', metavar='OUT', help="poseval's total_MOT_metrics.json")
    parser.add_argument('--name', help='method name in the table (default: the --pred folder)')
    args = parser.parse_args(argv)
    run_ap = args.ap or not args.track
    mot_json = args.mot_json or (None if run_ap else args.json)
    name = args.name or osp.basename(osp.normpath(args.pred))
    pe = load_posetrack_eval()
    mot = importlib.import_module(pe.__name__ + '.posetrack_mot') if args.track else None
    try:
        gt_videos = pe.load_gt_dir(args.gt, None if args.format == 'auto' else args.format)
        pred_videos = pe.load_pred_dir(args.pred, gt_videos)
        track = mot.evaluate_tracking(gt_videos, pred_videos) if args.track else None
        result = pe.evaluate_videos(gt_videos, pred_videos) if run_ap else None
    except (pe.PoseTrackFormatError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    outputs = []
    if track:
        n = track['num_frames']
        print(f'PoseTrack pose tracking (poseval protocol): {n} labelled frames (not the last)')
        for source in track['skipped_videos']:
            print(f'warning: {source} has a single labelled frame: not part of the MOTA')
        print(mot.format_mot_table(track, name=name))
        mot_content = pe.metrics_to_json(track, mot.MOT_KEYS)
        outputs.append((mot_json, mot_content, 'MOTA/MOTP/precision/recall'))
    if result:
        print(
            f'PoseTrack per-frame mAP (poseval protocol): {result["num_frames"]} labelled frames, '
            f'{result["num_gt_persons"]} GT / {result["num_pred_persons"]} predicted persons'
        )
        print(pe.format_table(result['ap'], name=name))
        outputs.append((args.json, pe.metrics_to_json(result), 'AP/precision/recall'))
    for path, content, what in outputs:
        if path:
            with open(path, 'w', encoding='utf-8') as f:
                json.dump(content, f)
            print(f'per-joint {what} written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
