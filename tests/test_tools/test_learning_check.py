# Copyright (c) OpenMMLab. All rights reserved.
"""End-to-end learning check on real PoseTrack frames (issue 5, item 5).

A tiny FaSRnet (tiny HRNet with 8 channels at 1/4 + FaSRHead with the fixed flags), trained
**from scratch** (backbone unfrozen) through ``tools/train.py`` on the 14 labelled persons of the 3
real PoseTrack18 val frames in ``../shared/data/posetrack18_mini`` (their neighbours are not on
disk: the centre frame stands in), until it overfits; then evaluated with the GT boxes by
``PoseTrackMAPMetric`` against the official per-video GT (``annotations/val``): mAP >= 90.

Passing proves that keypoint coordinates go out (image -> one affine for the window -> heatmap
targets) and come back (heatmap decode -> inverse affine -> image -> official-format files ->
poseval matching with head-size PCKh, ignore regions) consistently: a flipped axis, a
half-box offset or a wrong scale in any step keeps the mAP near 0.

Small-input settings: 64x48 input and 16x12 heatmaps (multiples of 4 for the TSA pyramid) with
the unbiased (DARK) codec. mmpose's default MSRA targets round the keypoint to the heatmap pixel,
which at 16x12 is ~17-25 image pixels for these persons, i.e. up to ~0.6 of the PCKh@0.5
threshold, so the plain codec plateaus at ~94 mAP however long it trains; unbiased targets and
decoding are sub-pixel, so the check measures the coordinate chain, not the quantisation.
Runs on CPU in ~2-4 minutes (150 Adam steps of the whole 14-sample set: at 100 steps the mAP sat
at the threshold, 87-91 depending on float rounding, e.g. the memory layout of the head's maps).
"""

import json
import os
import os.path as osp
import sys

import pytest
from _train_helpers import (
    PROJECT_ROOT,
    pipelines,
    read_scalars,
    run_dirs,
    run_tool,
    tiny_model_cfg,
    train_cmd,
    write_config,
)
from conftest import shared_path

from fasrnet_mmpose.evaluation import evaluate_dirs
from fasrnet_mmpose.evaluation.functional import summarize

ITERS = 150
LR = 5e-3
MIN_MAP = 90.0
CODEC = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2, unbiased=True)


def _config(path: str, data_root: str) -> str:
    model = tiny_model_cfg('fasr', codec=CODEC, backbone_bn='train_mode')
    train_pipeline, test_pipeline = pipelines(CODEC)
    dataset = dict(
        type='PoseTrackVideoDataset',
        version='pt18',
        data_root=data_root,
        ann_file='annotations/test_posetrack18_val.json',
        data_prefix=dict(img=''),
    )
    val_dataloader = dict(
        batch_size=14,
        num_workers=0,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
        # GT boxes (no bbox_file), no flip test
        dataset=dict(
            dataset,
            test_mode=True,
            pipeline=test_pipeline,
        ),
    )
    evaluator = dict(
        type='PoseTrackMAPMetric', gt_folder=osp.join(data_root, 'annotations/val'), format='pt18'
    )
    return write_config(
        path,
        model=model,
        randomness=dict(seed=0),
        train_cfg=dict(
            _delete_=True, type='IterBasedTrainLoop', max_iters=ITERS, val_interval=ITERS
        ),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=LR)),
        param_scheduler=[
            dict(type='CosineAnnealingLR', T_max=ITERS, by_epoch=False, eta_min=LR * 0.01)
        ],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=ITERS),
        ),
        log_processor=dict(type='LogProcessor', window_size=10, by_epoch=False),
        # the whole set (14 persons) per step; no augmentation: overfit the labelled frames
        train_dataloader=dict(
            batch_size=14,
            num_workers=1,
            persistent_workers=True,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(
                dataset,
                pipeline=train_pipeline,
            ),
        ),
        val_dataloader=val_dataloader,
        test_dataloader=val_dataloader,
        val_evaluator=evaluator,
        test_evaluator=evaluator,
    )


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    data_root = shared_path('data', 'posetrack18_mini')
    for part in ('annotations/test_posetrack18_val.json', 'annotations/val', 'images/val'):
        shared_path('data', 'posetrack18_mini', part)
    tmp = tmp_path_factory.mktemp('learning_check')
    cfg = _config(str(tmp / 'cfg.py'), data_root)
    work = str(tmp / 'work')
    run_tool(train_cmd(cfg, work), timeout=600)
    return dict(cfg=cfg, work=work, data_root=data_root, tmp=tmp)


def test_overfits_real_frames_to_map_above_90(trained):
    (run_dir,) = run_dirs(trained['work'])
    train, val = read_scalars(run_dir)
    assert train[-1]['iter'] == ITERS
    assert train[-1]['loss'] < 0.2 * train[0]['loss']
    (result,) = val
    assert result['step'] == ITERS
    joints = {k: round(v, 1) for k, v in result.items() if k.startswith('posetrack/')}
    assert result['posetrack/AP'] >= MIN_MAP, joints
    # from scratch: every joint group is learnt, not just the easy ones
    assert min(v for k, v in result.items() if k.endswith(' AP') and 'Total' not in k) >= 75, joints
    log = open(osp.join(run_dir, osp.basename(run_dir) + '.log'), encoding='utf-8').read()
    assert 'neighbour frame' in log and 'centre frame' in log  # missing neighbours fell back


def test_checkpoint_test_and_official_dumps_give_the_same_map(trained):
    """``tools/test.py`` on the final checkpoint: same mAP, and the official-format files it
    writes (``--outfile-prefix``) re-evaluate to it as well."""
    tmp = trained['tmp']
    metrics_file, preds = str(tmp / 'metrics.json'), str(tmp / 'preds')
    run_tool(
        [
            sys.executable,
            osp.join(PROJECT_ROOT, 'tools', 'test.py'),
            trained['cfg'],
            osp.join(trained['work'], f'iter_{ITERS}.pth'),
            '--work-dir',
            str(tmp / 'test_work'),
            '--out',
            metrics_file,
            '--outfile-prefix',
            preds,
        ]
    )
    with open(metrics_file) as f:
        metrics = json.load(f)
    (run_dir,) = run_dirs(trained['work'])
    _, (val,) = read_scalars(run_dir)
    assert metrics['posetrack/AP'] == pytest.approx(val['posetrack/AP'], abs=1e-6)

    gt = osp.join(trained['data_root'], 'annotations', 'val')
    assert sorted(os.listdir(preds)) == sorted(os.listdir(gt))
    with open(osp.join(preds, '012834_mpii_test.json')) as f:
        video = json.load(f)
    assert {'images', 'annotations'} <= set(video)
    assert len(video['annotations']) == 11  # one prediction per GT box of that frame
    assert all(len(a['keypoints']) == 17 * 3 for a in video['annotations'])
    res = evaluate_dirs(gt, preds)
    assert summarize(res['ap'])['Total'] == pytest.approx(metrics['posetrack/AP'], abs=1e-6)
