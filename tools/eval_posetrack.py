# Copyright (c) OpenMMLab. All rights reserved.
"""Evaluate official-format PoseTrack prediction files (poseval's per-frame mAP and MOTA).

Example::

    python tools/eval_posetrack.py \\
        --gt ../shared/data/posetrack18_mini/annotations/val \\
        --pred ../shared/data/posetrack_eval_reference/pred_noisy --json total_AP_metrics.json

    # tracking (poseval's MOTA/MOTP/precision/recall), alone or with the AP (--ap)
    python tools/eval_posetrack.py --track \\
        --gt ../shared/data/posetrack_tracking_reference/gt \\
        --pred ../shared/data/posetrack_tracking_reference/pred_true_ids \\
        --json total_MOT_metrics.json

``--gt`` is a folder of per-video GT files (PoseTrack18 ``images``/``annotations`` or
PoseTrack17 ``annolist``), ``--pred`` a folder with one prediction file of the same name
per GT video (either format). The table has the layout of the FaSRnet paper's Table 1;
``--json`` writes poseval's ``total_AP_metrics.json`` layout (``ap``/``pre``/``rec``: 15
joints in poseval's order, then the total).

``--track`` runs poseval's tracking evaluation instead (``--track --ap``: both): the
predictions need a ``track_id`` per person; the table is poseval's MOT table and
``--json`` (with ``--track`` alone) or ``--mot-json`` writes ``total_MOT_metrics.json``
(``mota``/``motp``/``pre``/``rec``). See ``docs/tracking.md``.

Only numpy (and orjson, for speed; scipy for ``--track``) is needed: the evaluation package is
loaded from its folder, without importing the plugin (torch, mmpose).
"""

import argparse
import importlib.util
import json
import os.path as osp
import sys
from types import ModuleType
from typing import List, Optional

_PACKAGE = osp.join('fasrnet_mmpose', 'evaluation', 'functional')


def load_posetrack_eval() -> ModuleType:
    """Load the package ``fasrnet_mmpose/evaluation/functional`` without importing the plugin.

    The folder is looked up next to this script's repository, then in the installed package
    (found without importing it), so that the tool does not pay for importing torch/mmpose.

    Returns:
        ModuleType: The evaluation package (``evaluate_dirs``, ``format_table``, ...).
    """
    here = osp.dirname(osp.abspath(__file__))
    candidates = [osp.join(osp.dirname(here), _PACKAGE)]
    try:
        spec = importlib.util.find_spec('fasrnet_mmpose')
        if spec is not None and spec.submodule_search_locations:
            candidates += [
                osp.join(osp.dirname(p), _PACKAGE) for p in spec.submodule_search_locations
            ]
    except (ImportError, ValueError):
        pass
    for folder in candidates:
        init = osp.join(folder, '__init__.py')
        if osp.isfile(init):
            spec = importlib.util.spec_from_file_location(
                '_fasrnet_posetrack_eval', init, submodule_search_locations=[folder]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # relative imports and dataclasses need it
            spec.loader.exec_module(module)
            return module
    from fasrnet_mmpose.evaluation import functional  # last resort

    return functional


def load_posetrack_mot() -> ModuleType:
    """Load the tracking evaluation (``functional/posetrack_mot.py``) without the plugin.

    Returns:
        ModuleType: The ``posetrack_mot`` module of the package of :func:`load_posetrack_eval`
        (numpy and scipy only).
    """
    return importlib.import_module(load_posetrack_eval().__name__ + '.posetrack_mot')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (List[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='PoseTrack per-frame mAP (poseval protocol) of official-format '
        'per-video prediction files'
    )
    parser.add_argument('--gt', required=True, help='folder of per-video GT json files')
    parser.add_argument(
        '--pred', required=True, help='folder of per-video prediction json files (same names as GT)'
    )
    parser.add_argument(
        '--format',
        choices=['auto', 'pt17', 'pt18'],
        default='auto',
        help='format the GT files must have (pt17: annolist, pt18: '
        'images/annotations); auto accepts both. Predictions may be in '
        'either format, as with poseval',
    )
    parser.add_argument(
        '--json',
        metavar='OUT',
        default=None,
        help="write per-joint AP/precision/recall in poseval's total_AP_metrics.json layout "
        '(with --track alone: the tracking metrics, see --mot-json)',
    )
    parser.add_argument(
        '--track',
        action='store_true',
        help="poseval's tracking evaluation (MOTA, MOTP, precision, recall per joint); "
        'the AP is then computed only with --ap',
    )
    parser.add_argument(
        '--ap',
        action='store_true',
        help='per-frame mAP (the default without --track; with --track: both)',
    )
    parser.add_argument(
        '--mot-json',
        metavar='OUT',
        default=None,
        help="write the tracking metrics in poseval's total_MOT_metrics.json layout "
        '(with --track alone, --json does the same)',
    )
    parser.add_argument(
        '--name',
        default=None,
        help='method name in the table (default: the prediction folder name)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the evaluation and print the table.

    Args:
        argv (List[str], optional): Command line arguments.

    Returns:
        int: Exit status (0 on success, 1 on bad input).
    """
    args = parse_args(argv)
    run_ap = args.ap or not args.track
    ap_json = args.json if run_ap else None
    mot_json = args.mot_json or (None if run_ap else args.json)
    name = args.name or osp.basename(osp.normpath(args.pred))
    gt_format = None if args.format == 'auto' else args.format
    if args.track:
        pe = load_posetrack_eval()
        mot = importlib.import_module(pe.__name__ + '.posetrack_mot')  # the same readers
        try:
            gt_videos = pe.load_gt_dir(args.gt, gt_format)
            pred_videos = pe.load_pred_dir(args.pred, gt_videos)
            track = mot.evaluate_tracking(gt_videos, pred_videos)
            result = pe.evaluate_videos(gt_videos, pred_videos) if run_ap else None
        except (pe.PoseTrackFormatError, FileNotFoundError) as e:
            print(f'error: {e}', file=sys.stderr)
            return 1
        print(
            f'PoseTrack multi-person pose tracking (poseval protocol): {track["num_frames"]} '
            'labelled frames (the last labelled frame of every video is left out)'
        )
        for source in track['skipped_videos']:
            print(f'warning: {source} has a single labelled frame: not part of the MOTA')
        print(mot.format_mot_table(track, name=name))
        if mot_json:
            with open(mot_json, 'w', encoding='utf-8') as f:
                json.dump(mot.mot_metrics_to_json(track), f)
            print(f'per-joint MOTA/MOTP/precision/recall written to {mot_json}')
        if not run_ap:
            return 0
    else:
        pe = load_posetrack_eval()
        try:
            result = pe.evaluate_dirs(args.gt, args.pred, gt_format)
        except (pe.PoseTrackFormatError, FileNotFoundError) as e:
            print(f'error: {e}', file=sys.stderr)
            return 1
    print(
        f'PoseTrack per-frame mAP (poseval protocol): {result["num_frames"]} labelled frames, '
        f'{result["num_gt_persons"]} GT / {result["num_pred_persons"]} predicted persons'
    )
    print(pe.format_table(result['ap'], name=name))
    if ap_json:
        with open(ap_json, 'w', encoding='utf-8') as f:
            json.dump(pe.metrics_to_json(result), f)
        print(f'per-joint AP/precision/recall written to {ap_json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
