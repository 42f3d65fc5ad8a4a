# Copyright (c) OpenMMLab. All rights reserved.
"""Publish a trained checkpoint: strip training-only state, name it ``<name>-<sha256[:8]>.pth``.

Usage: ``python tools/publish_model.py work_dirs/x/epoch_30.pth work_dirs/x/fasrnet_pt17.pth``
(docs/model_zoo.md; mmpose's ``tools/misc/publish_model.py`` fails under torch >= 2.6).
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional

from fasrnet_mmpose.utils import load_checkpoint_file, run_cli
from fasrnet_mmpose.utils.checkpoint import save_hashed

#: ``meta`` entries of a training run that a published checkpoint does not need.
TRAINING_META_KEYS = ('cfg', 'hook_msgs', 'seed', 'experiment_name', 'time', 'mmengine', 'iter')


def publish(src: str, dst: str) -> str:
    """Write ``state_dict`` and ``meta`` of ``src`` as ``<dst stem>-<sha256[:8]>.pth``; its path."""
    checkpoint = load_checkpoint_file(src, logger=None)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{src} has no "state_dict": not an mmengine training checkpoint')
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k not in TRAINING_META_KEYS}
    stem = osp.splitext(dst)[0] if dst.endswith(('.pth', '.pt')) else dst
    return save_hashed(dict(state_dict=checkpoint['state_dict'], meta=meta), stem)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='training checkpoint (e.g. work_dirs/x/epoch_30.pth)')
    parser.add_argument('dst', help='output name, e.g. work_dirs/x/fasrnet_pt17.pth')
    args = parser.parse_args(argv)
    final = publish(args.src, args.dst)
    print(f'published {args.src} -> {final} ({osp.getsize(final) / 2**20:.1f} MiB)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
