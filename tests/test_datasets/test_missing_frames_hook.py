# Copyright (c) OpenMMLab. All rights reserved.
"""Missing neighbour frames: counted in DataLoader workers, reported once in the main process."""

import glob
import logging
import os.path as osp

import numpy as np
import pytest
from _synthetic import make_video_dataset
from _train_helpers import tiny_model_cfg
from conftest import shared_path
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.registry import HOOKS
from mmpose.structures import PoseDataSample
from torch.utils.data import DataLoader

from fasrnet_mmpose.datasets import PoseTrackVideoDataset
from fasrnet_mmpose.engine.hooks import MissingFramesHook
from fasrnet_mmpose.engine.hooks import missing_frames_hook as hook_module
from fasrnet_mmpose.structures import FALLBACK_BOUNDARY, FALLBACK_MISSING, FALLBACK_NONE

INPUT = (48, 64)
META_KEYS = ('id', 'img_id', 'img_path', 'input_size', 'input_center', 'input_scale')
META_KEYS += ('flip', 'flip_direction', 'flip_indices', 'frame_paths', 'margin')
META_KEYS += ('neighbour_fallback',)
CODEC = dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=(12, 16), sigma=2)
TEST_PIPELINE = [
    dict(type='LoadFrameWindow'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=INPUT),
    dict(type='PackPoseInputs', meta_keys=META_KEYS),
]
TRAIN_PIPELINE = TEST_PIPELINE[:3] + [
    dict(type='GenerateTarget', encoder=CODEC),
    dict(type='PackPoseInputs', meta_keys=META_KEYS),
]


def _batch(*codes):
    samples = []
    for c in codes:
        samples.append(PoseDataSample(metainfo=dict(neighbour_fallback=np.array(c, np.int8))))
    return dict(data_samples=samples)


@pytest.fixture
def logged(monkeypatch):
    records = []
    monkeypatch.setattr(
        hook_module,
        'print_log',
        lambda msg, logger=None, level=logging.INFO: records.append((level, msg)),
    )
    return records


def test_share_threshold_and_boundary_not_counted(logged):
    hook = HOOKS.build(dict(type='MissingFramesHook'))
    n, b, m = FALLBACK_NONE, FALLBACK_BOUNDARY, FALLBACK_MISSING
    hook.before_test_epoch(None)
    hook.after_test_iter(None, 0, _batch([b, n], [n, m]))  # boundary: not looked for on disk
    hook.after_test_iter(None, 1, _batch([n, n], [n, n]))
    hook.after_test_iter(None, 2, _batch([n, n]))
    hook.after_test_epoch(None)
    assert logged == [
        (logging.INFO, 'test: 1 of 9 neighbour frames missing on disk (11.1 %): centre frame used')
    ]
    logged.clear()
    hook.before_val_epoch(None)
    hook.after_val_iter(None, 0, _batch([m, n], [b, m]))
    hook.after_val_epoch(None)
    ((level, msg),) = logged
    assert level == logging.WARNING
    assert msg.startswith('val: 2 of 3 neighbour frames missing on disk (66.7 %): centre frame')
    assert 'More than 20 %' in msg and 'effectively single-frame' in msg
    # a stricter threshold, and a loop whose samples do not carry the key: said once
    logged.clear()
    hook = MissingFramesHook(warn_share=0.05)
    for _ in range(2):
        hook.before_test_epoch(None)
        hook.after_test_iter(None, 0, dict(data_samples=[PoseDataSample()]))
        hook.after_test_epoch(None)
    assert len(logged) == 1 and 'add it to the meta_keys of PackPoseInputs' in logged[0][1]


def _runner_cfg(tmp_path, ann_file, root, num_workers=2):
    dataset = dict(
        type='PoseTrackVideoDataset', ann_file=ann_file, data_root=root, data_prefix=dict(img='')
    )
    return Config(
        dict(
            default_scope='mmpose',
            work_dir=str(tmp_path / 'work'),
            model=tiny_model_cfg('fasr'),
            randomness=dict(seed=0),
            train_cfg=dict(by_epoch=True, max_epochs=2),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
            custom_hooks=[dict(type='MissingFramesHook')],
            train_dataloader=dict(
                batch_size=2,
                num_workers=num_workers,
                persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(dataset, pipeline=TRAIN_PIPELINE),
            ),
            env_cfg=dict(mp_cfg=dict(mp_start_method='fork')),
        )
    )


def test_counted_across_two_workers_and_reported_once_per_epoch(tmp_path):
    # 3 labelled frames x 2 persons; frames 2 and 4 are not on disk:
    # frame 1 -> next missing, frame 3 -> both missing, frame 5 -> previous missing
    root = str(tmp_path / 'data')
    ann = make_video_dataset(root, nframes=8, labelled=(1, 3, 5), on_disk=[0, 1, 3, 5, 6, 7])
    runner = Runner.from_cfg(_runner_cfg(tmp_path, ann, root))
    runner.train()
    log_file = glob.glob(osp.join(runner.log_dir, '*.log'))[0]
    lines = [ln for ln in open(log_file) if 'neighbour frames missing on disk' in ln]
    assert len(lines) == 2, lines  # once per epoch, from the main process
    for epoch, line in enumerate(lines, start=1):
        assert f'train epoch {epoch}: 8 of 12 neighbour frames missing on disk (66.7 %)' in line
        assert 'WARNING' in line and 'effectively single-frame' in line
    # the counting happened in the workers: the main process's dataset copy saw nothing
    assert runner.train_dataloader.dataset.num_missing_frames == 0


def test_shared_mini_data_reports_every_neighbour_missing(tmp_path, logged):
    """../shared's PoseTrack18 sample ships only labelled frames: 100 % of neighbours missing."""
    root = shared_path('data', 'posetrack18_mini')
    ds = PoseTrackVideoDataset(
        ann_file=osp.join(root, 'annotations', 'test_posetrack18_val.json'),
        data_root=root,
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=TEST_PIPELINE,
    )
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=lambda batch: batch)
    hook = MissingFramesHook()
    hook.before_test_epoch(None)
    for i, batch in enumerate(loader):
        hook.after_test_iter(None, i, dict(data_samples=[s['data_samples'] for s in batch]))
    hook.after_test_epoch(None)
    ((level, msg),) = logged
    assert level == logging.WARNING
    assert msg.startswith(
        f'test: {len(ds)} of {len(ds)} neighbour frames missing on disk (100.0 %): centre frame'
    )
