# Copyright (c) OpenMMLab. All rights reserved.
import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

# registers the plugin components and its checkpoint loaders (local files under torch >= 2.6,
# file:// URLs, hash-checked http(s) downloads) even for configs without `custom_imports`
import fasrnet_mmpose  # noqa: F401
from fasrnet_mmpose.utils import (
    CheckpointCompletenessHook,
    run_cli,
    setup_cpu_distributed,
    teardown_distributed,
)
from fasrnet_mmpose.utils.smoke import (
    add_smoke_argument,
    apply_smoke_settings,
    drop_persistent_workers_without_workers,
)

# Differences from mmpose 1.3.2's tools/test.py (docs/training.md, "Our tools and mmpose's"):
# 1. `import fasrnet_mmpose` above and the CPU-only distributed setup/teardown in main();
# 2. --outfile-prefix/--format-only (official PoseTrack prediction files, PoseTrackMAPMetric);
# 3. --smoke N (quick offline test on N samples, fasrnet_mmpose.utils.smoke);
# 4. --dump is applied after --cfg-options (mmpose's order turns test_evaluator into a list
#    first, so `--cfg-options test_evaluator.gt_folder=...` failed with a TypeError);
# 5. persistent_workers is dropped from loaders without workers (torch refuses it);
# 6. --allow-partial-weights / CheckpointCompletenessHook (a checkpoint that leaves backbone or
#    head parameters unloaded is refused) and main() run by run_cli (one-line errors).
# --badcase is mmpose's; it works because configs/_base_/default_runtime.py gives the badcase
# hook a keypoint-coordinate metric (mmpose's default, the head loss, is a heatmap loss here).


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a (video) pose model with the fasrnet_mmpose plugin. '
        'Same interface as mmpose/tools/test.py, plus --format-only/--outfile-prefix to write '
        'official PoseTrack prediction files for the evaluation server.'
    )
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save evaluation results')
    parser.add_argument('--out', help='the file to save metric results.')
    parser.add_argument(
        '--dump', type=str, help='dump predictions to a pickle file for offline evaluation'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. For example, '
        "'--cfg-options model.backbone.depth=18 model.backbone.with_cp=True'",
    )
    parser.add_argument(
        '--show-dir', help='directory where the visualization images will be saved.'
    )
    parser.add_argument(
        '--show', action='store_true', help='whether to display the prediction results in a window.'
    )
    parser.add_argument('--interval', type=int, default=1, help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time', type=float, default=1, help='display time of every window. (second)'
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # When using PyTorch version >= 2.0.0, the `torch.distributed.launch`
    # will pass the `--local-rank` parameter to `tools/test.py` instead
    # of `--local_rank`.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--outfile-prefix',
        help='directory for the official-format per-video PoseTrack prediction files written by '
        'PoseTrackMAPMetric (PT18 images/annotations JSON or PT17 annolist JSON)',
    )
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='only write the official-format prediction files (e.g. for the PoseTrack test '
        'server, where no GT is available); needs --outfile-prefix',
    )
    parser.add_argument('--badcase', action='store_true', help='whether analyze badcase in test')
    parser.add_argument(
        '--allow-partial-weights',
        action='store_true',
        help='test even if the checkpoint leaves backbone/head parameters unloaded',
    )
    add_smoke_argument(parser, 'only the first N test samples (default 8), no loader workers')
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""

    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint

    # -------------------- work directory --------------------
    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        # update configs according to CLI args if args.work_dir is not None
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        # use config filename as default work_dir if cfg.work_dir is None
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    # -------------------- visualization --------------------
    if (args.show and not args.badcase) or (args.show_dir is not None):
        assert 'visualization' in cfg.default_hooks, (
            'PoseVisualizationHook is not set in the '
            '`default_hooks` field of config. Please set '
            '`visualization=dict(type="PoseVisualizationHook")`'
        )

        cfg.default_hooks.visualization.enable = True
        cfg.default_hooks.visualization.show = False if args.badcase else args.show
        if args.show:
            cfg.default_hooks.visualization.wait_time = args.wait_time
        cfg.default_hooks.visualization.out_dir = args.show_dir
        cfg.default_hooks.visualization.interval = args.interval

    # -------------------- badcase analyze --------------------
    if args.badcase:
        assert 'badcase' in cfg.default_hooks, (
            'BadcaseAnalyzeHook is not set in the '
            '`default_hooks` field of config. Please set '
            '`badcase=dict(type="BadcaseAnalyzeHook")`'
        )

        cfg.default_hooks.badcase.enable = True
        cfg.default_hooks.badcase.show = args.show
        if args.show:
            cfg.default_hooks.badcase.wait_time = args.wait_time
        cfg.default_hooks.badcase.interval = args.interval

        metric_type = cfg.default_hooks.badcase.get('metric_type', 'loss')
        if metric_type not in ['loss', 'accuracy']:
            raise ValueError("Only support badcase metric typein ['loss', 'accuracy']")

        if metric_type == 'loss':
            if not cfg.default_hooks.badcase.get('metric'):
                cfg.default_hooks.badcase.metric = cfg.model.head.loss
        else:
            if not cfg.default_hooks.badcase.get('metric'):
                cfg.default_hooks.badcase.metric = cfg.test_evaluator

    # -------------------- Official-format prediction files --------------------
    if args.format_only and not args.outfile_prefix:
        raise SystemExit('--format-only needs --outfile-prefix DIR')
    if args.outfile_prefix:
        evaluators = (
            cfg.test_evaluator
            if isinstance(cfg.test_evaluator, (list, tuple))
            else [cfg.test_evaluator]
        )
        posetrack = [e for e in evaluators if e.get('type') == 'PoseTrackMAPMetric']
        if not posetrack:
            raise SystemExit(
                '--outfile-prefix/--format-only need a PoseTrackMAPMetric '
                'test_evaluator in the config'
            )
        for evaluator in posetrack:
            evaluator['outfile_prefix'] = args.outfile_prefix
            evaluator['format_only'] = args.format_only

    # -------------------- Other arguments --------------------
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # after --cfg-options, which may address keys of the config's test_evaluator dict
    # -------------------- Dump predictions --------------------
    if args.dump is not None:
        assert args.dump.endswith(('.pkl', '.pickle')), 'The dump file must be a pkl file.'
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]

    # -------------------- Smoke test, loaders without workers --------------------
    if args.smoke is not None:
        apply_smoke_settings(cfg, args.smoke)
    drop_persistent_workers_without_workers(cfg)

    return cfg


def main():
    args = parse_args()

    # load config
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)

    # CPU-only distributed runs (gloo): see fasrnet_mmpose.utils.setup_cpu_distributed
    setup_cpu_distributed(cfg)

    # build the runner from config
    runner = Runner.from_cfg(cfg)
    runner.register_hook(CheckpointCompletenessHook(args.checkpoint, args.allow_partial_weights))

    if args.out:

        class SaveMetricHook(Hook):
            def after_test_epoch(self, _, metrics=None):
                if metrics is not None:
                    mmengine.dump(metrics, args.out)

        runner.register_hook(SaveMetricHook(), 'LOWEST')

    # start testing
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
