# Copyright (c) OpenMMLab. All rights reserved.
"""Convert an official FaSRnet checkpoint (Elvis-Aron/FaSRnet) to this plugin's layout.

Usage::

    python tools/convert_official_checkpoint.py SRC.pth DST.pth [--config CFG.py]

``SRC`` is an official training checkpoint (``{begin_epoch, state_dict, optimizer, ...}``) or a bare
state dict; ``module.`` prefixes are stripped. The result ``{'state_dict': ..., 'meta': ...}`` loads
with ``strict=True`` into the official-mode model (built on the meta device; ``--config`` validates
against a config's ``model`` instead). Missing/unexpected keys or wrong shapes are refused with a
list of the offending keys; a checkpoint already in the plugin layout is reported as "already
converted". The key mapping lives in :mod:`fasrnet_mmpose.utils.official_checkpoint` (the
checkpoint loaders use it too: an official file given as a local path is converted on the fly).
"""

import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch

from fasrnet_mmpose.utils import run_cli
from fasrnet_mmpose.utils.checkpoint import ALLOWED_GLOBALS
from fasrnet_mmpose.utils.official_checkpoint import (  # noqa: F401  (re-exported for tests)
    ConversionError,
    build_official_model,
    check_against,
    convert_checkpoint_dict,
    convert_state_dict,
    extract_state_dict,
    is_plugin_checkpoint,
    official_key_to_plugin,
    official_srm_key_to_plugin,
    plugin_key_to_official,
    plugin_srm_key_to_official,
    target_shapes,
)


def load_official_checkpoint(path: str):
    """``torch.load`` a checkpoint on CPU (``weights_only`` plus mmengine's allow-list)."""
    if not osp.isfile(path):
        raise ConversionError(f'no such checkpoint file: {path}')
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001
        reason = ' '.join(str(e).split())[:300]
        raise ConversionError(f'cannot load {path} with torch.load(weights_only=True): {reason}')


def convert_checkpoint(src: str, dst: str, config: Optional[str] = None) -> Dict[str, int]:
    """Convert ``src`` to ``dst``; returns a small summary (number of entries / parameters)."""
    checkpoint = load_official_checkpoint(src)
    if is_plugin_checkpoint(checkpoint):
        raise ConversionError(
            f'{src} is already converted (plugin layout: backbone.* / head.* keys); use it as it is'
        )
    converted = convert_checkpoint_dict(checkpoint, osp.abspath(src))
    check_against(converted['state_dict'], target_shapes(config))
    torch.save(converted, dst)
    keys = converted['state_dict']
    return dict(
        num_entries=len(keys),
        num_backbone_entries=sum(k.startswith('backbone.') for k in keys),
        num_head_entries=sum(k.startswith('head.') for k in keys),
    )


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official FaSRnet checkpoint to the fasrnet_mmpose layout.'
    )
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output plugin checkpoint (.pth)')
    parser.add_argument(
        '--config',
        default=None,
        help='validate against the model of this config instead of the built-in official-mode '
        'HRNet-W48 + FaSRHead',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        summary = convert_checkpoint(args.src, args.dst, args.config)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(
        f'converted {args.src} -> {args.dst}: {summary["num_entries"]} entries '
        f'({summary["num_backbone_entries"]} backbone, {summary["num_head_entries"]} head)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
