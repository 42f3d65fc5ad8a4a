# Copyright (c) OpenMMLab. All rights reserved.
"""Evaluate official-format PoseTrack prediction files (poseval's per-frame mAP).

Example::

    python tools/eval_posetrack.py \\
        --gt ../shared/data/posetrack18_mini/annotations/val \\
        --pred ../shared/data/posetrack_eval_reference/pred_noisy --json total_AP_metrics.json

``--gt`` is a folder of per-video GT files (PoseTrack18 ``images``/``annotations`` or
PoseTrack17 ``annolist``), ``--pred`` a folder with one prediction file of the same name
per GT video (either format). The table has the layout of the FaSRnet paper's Table 1;
``--json`` writes poseval's ``total_AP_metrics.json`` layout (``ap``/``pre``/``rec``: 15
joints in poseval's order, then the total).

Only numpy (and orjson, for speed) is needed: the evaluation package is loaded from its folder,
without importing the plugin (torch, mmpose).
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
        help="write per-joint AP/precision/recall in poseval's total_AP_metrics.json layout",
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
    pe = load_posetrack_eval()
    try:
        gt_format = None if args.format == 'auto' else args.format
        result = pe.evaluate_dirs(args.gt, args.pred, gt_format)
    except (pe.PoseTrackFormatError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    name = args.name or osp.basename(osp.normpath(args.pred))
    print(
        f'PoseTrack per-frame mAP (poseval protocol): {result["num_frames"]} labelled frames, '
        f'{result["num_gt_persons"]} GT / {result["num_pred_persons"]} predicted persons'
    )
    print(pe.format_table(result['ap'], name=name))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(pe.metrics_to_json(result), f)
        print(f'per-joint AP/precision/recall written to {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
