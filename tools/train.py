# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose 1.3.2's tools/train.py plus the plugin's additions (docs/training.md, "Our tools and
mmpose's"): --smoke, --amp without CUDA, CPU-only distributed runs, one-line errors."""

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

import fasrnet_mmpose  # noqa: F401  (registers the plugin and its checkpoint loaders)
from fasrnet_mmpose.utils import CheckpointDownloadError
from fasrnet_mmpose.utils.cli import add_smoke_argument, build_runner, run_cli


def parse_args():
    parser = argparse.ArgumentParser(description='Train a (video) pose model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', const='auto', help='resume from CKPT (default: the latest one)'
    )
    parser.add_argument('--amp', action='store_true', help='fp16 mixed precision (needs CUDA)')
    parser.add_argument('--no-validate', action='store_true', help='no validation in training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale lr by batch size')
    parser.add_argument('--show-dir', help='directory where the visualizations will be saved')
    parser.add_argument('--show', action='store_true', help='display the predictions')
    parser.add_argument('--interval', type=int, default=1, help='visualize per interval samples')
    parser.add_argument('--wait-time', type=float, default=1, help='display time of every window')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings: key=value'
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    # torch.distributed.launch (PyTorch >= 2.0) passes `--local-rank`
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_smoke_argument(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    # enable automatic-mixed-precision training (mmengine's AmpOptimWrapper needs CUDA)
    if args.amp and not torch.cuda.is_available():
        print(
            'tools/train.py: --amp needs a CUDA device (fp16 autocast with loss scaling); '
            'none here, so this run trains in fp32 on the CPU (docs/dcn_impl.md, mixed precision)'
        )
    elif args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        optim_wrapper = getattr(optim_wrapper, '__name__', optim_wrapper)  # a class or its name
        assert optim_wrapper in ('OptimWrapper', 'AmpOptimWrapper'), f'--amp: not {optim_wrapper}'
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    # resume training
    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
    # enable auto scale learning rate
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    # visualization
    if args.show or (args.show_dir is not None):
        assert 'visualization' in cfg.default_hooks, 'PoseVisualizationHook is not in default_hooks'
        vis = cfg.default_hooks.visualization
        vis.update(enable=True, show=args.show, out_dir=args.show_dir, interval=args.interval)
        if args.show:
            vis.wait_time = args.wait_time

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    # set preprocess configs to model
    if 'preprocess_cfg' in cfg:
        cfg.model.setdefault('data_preprocessor', cfg.get('preprocess_cfg', {}))
    runner = build_runner(cfg, args.smoke)  # Runner.from_cfg with our additions
    try:
        runner.train()
    except CheckpointDownloadError as e:  # the init_cfg weights (COCO HRNet) cannot be fetched
        raise CheckpointDownloadError(
            f'{e}. For an offline smoke test add --smoke to tools/train.py (random initial '
            'weights, nothing is downloaded; docs/training.md); for a real run without the COCO '
            'HRNet weights set --cfg-options model.backbone.init_cfg=None model.head.init_cfg=None'
        ) from e


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
