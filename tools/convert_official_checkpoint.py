# Copyright (c) OpenMMLab. All rights reserved.
"""Convert an official FaSRnet checkpoint (Elvis-Aron/FaSRnet) to this plugin's layout.

Usage: ``python tools/convert_official_checkpoint.py SRC.pth DST.pth [--config CFG.py]``; the
result loads with ``strict=True`` into the official-mode model (docs/model_zoo.md).
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch

from fasrnet_mmpose.utils import CheckpointError, run_cli
from fasrnet_mmpose.utils.checkpoint import torch_load_allowed
from fasrnet_mmpose.utils.official_checkpoint import (
    check_against,
    checkpoint_layout,
    convert_checkpoint_dict,
    target_shapes,
)


def convert_checkpoint(src: str, dst: str, config: Optional[str] = None) -> dict:
    """Convert ``src`` to ``dst`` after checking it against the target model.

    Returns:
        dict: The written ``state_dict`` (plugin keys).
    """
    if not osp.isfile(src):
        raise CheckpointError(f'no such checkpoint file: {src}')
    try:
        checkpoint = torch_load_allowed(src)
    except Exception as e:  # noqa: BLE001
        reason = ' '.join(str(e).split())[:300]
        raise CheckpointError(f'cannot load {src} with torch.load(weights_only=True): {reason}')
    if checkpoint_layout(checkpoint) == 'plugin':
        raise CheckpointError(
            f'{src} is already converted (plugin layout: backbone.*/head.* keys); use it as it is'
        )
    converted = convert_checkpoint_dict(checkpoint, osp.abspath(src))
    check_against(converted['state_dict'], target_shapes(config))
    torch.save(converted, dst)
    return converted['state_dict']


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output plugin checkpoint (.pth)')
    parser.add_argument('--config', help="validate against this config's model instead")
    args = parser.parse_args(argv)
    try:
        keys = convert_checkpoint(args.src, args.dst, args.config)
    except CheckpointError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    backbone = sum(k.startswith('backbone.') for k in keys)
    print(f'converted {args.src} -> {args.dst}: {len(keys)} entries', end=' ')
    print(f'({backbone} backbone, {len(keys) - backbone} head)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
