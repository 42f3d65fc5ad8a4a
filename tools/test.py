# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose 1.3.2's tools/test.py plus the plugin's additions (docs/training.md, "Our tools and
mmpose's"): --outfile-prefix/--format-only, --allow-partial-weights, --smoke, --dump after
--cfg-options, CPU-only distributed runs, one-line errors."""

import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

import fasrnet_mmpose  # noqa: F401  (registers the plugin and its checkpoint loaders)
from fasrnet_mmpose.utils import check_weights
from fasrnet_mmpose.utils.cli import add_smoke_argument, build_runner, run_cli


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a (video) pose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save evaluation results')
    parser.add_argument('--out', help='the file to save metric results.')
    parser.add_argument('--dump', help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={}, help='override config: key=value'
    )
    parser.add_argument('--show-dir', help='directory where the visualizations will be saved')
    parser.add_argument('--show', action='store_true', help='display the predictions')
    parser.add_argument('--interval', type=int, default=1, help='visualize per interval samples')
    parser.add_argument('--wait-time', type=float, default=1, help='display time of every window')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    # torch.distributed.launch (PyTorch >= 2.0) passes `--local-rank`
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--badcase', action='store_true', help='whether analyze badcase in test')
    parser.add_argument('--outfile-prefix', help='dir for official-format PoseTrack predictions')
    parser.add_argument('--format-only', action='store_true', help='only write --outfile-prefix')
    parser.add_argument(
        '--allow-partial-weights', action='store_true', help='test a checkpoint that does not fit'
    )
    add_smoke_argument(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    # -------------------- visualization --------------------
    if (args.show and not args.badcase) or (args.show_dir is not None):
        assert 'visualization' in cfg.default_hooks, 'PoseVisualizationHook is not in default_hooks'
        vis = cfg.default_hooks.visualization
        vis.update(enable=True, show=args.show and not args.badcase, interval=args.interval)
        vis.out_dir = args.show_dir
        if args.show:
            vis.wait_time = args.wait_time

    # -------------------- badcase analyze --------------------
    # (configs/_base_/default_runtime.py gives the hook a keypoint-coordinate metric)
    if args.badcase:
        assert 'badcase' in cfg.default_hooks, 'BadcaseAnalyzeHook is not in default_hooks'
        badcase = cfg.default_hooks.badcase
        badcase.update(enable=True, show=args.show, interval=args.interval)
        if args.show:
            badcase.wait_time = args.wait_time
        metric_type = badcase.get('metric_type', 'loss')
        if metric_type not in ['loss', 'accuracy']:
            raise ValueError("Only support badcase metric type in ['loss', 'accuracy']")
        if not badcase.get('metric'):
            badcase.metric = cfg.model.head.loss if metric_type == 'loss' else cfg.test_evaluator

    # -------------------- official-format prediction files --------------------
    if args.format_only and not args.outfile_prefix:
        raise SystemExit('--format-only needs --outfile-prefix DIR')
    if args.outfile_prefix:
        evaluators = cfg.test_evaluator
        evaluators = evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]
        posetrack = [e for e in evaluators if e.get('type') == 'PoseTrackMAPMetric']
        if not posetrack:
            raise SystemExit('--outfile-prefix/--format-only need a PoseTrackMAPMetric evaluator')
        for evaluator in posetrack:
            evaluator.update(outfile_prefix=args.outfile_prefix, format_only=args.format_only)

    # -------------------- Other arguments --------------------
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # -------------------- Dump predictions (after --cfg-options: test_evaluator.* keys) ------
    if args.dump is not None:
        assert args.dump.endswith(('.pkl', '.pickle')), 'The dump file must be a pkl file.'
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = [*evaluators, dict(type='DumpResults', out_file_path=args.dump)]
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg, args.smoke)  # Runner.from_cfg with our additions

    class CheckWeightsHook(Hook):  # refuse partial weights before they load (docs/model_zoo.md)
        def after_load_checkpoint(self, runner, checkpoint):
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            check_weights(model, checkpoint, args.checkpoint, args.allow_partial_weights)

    runner.register_hook(CheckWeightsHook(), 'VERY_HIGH')

    if args.out:

        class SaveMetricHook(Hook):
            def after_test_epoch(self, _, metrics=None):
                if metrics is not None:
                    mmengine.dump(metrics, args.out)

        runner.register_hook(SaveMetricHook(), 'LOWEST')

    runner.test()


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
