# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's own tools/train.py runs a plugin config (custom_imports) end to end."""

import os
import os.path as osp
import subprocess
import sys

import mmpose
import pytest
from _synthetic import make_video_dataset
from conftest import PROJECT_ROOT

MMPOSE_TRAIN = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools', 'train.py')

CONFIG = """
_base_ = [{base!r}]
custom_imports = dict(imports=['fasrnet_mmpose', '_tiny_models'], allow_failed_imports=False)
from _tiny_models import tiny_estimator_cfg, TINY_CODEC  # noqa
model = tiny_estimator_cfg(freeze_backbone=False)
model['test_cfg'] = dict(flip_test=False)
train_cfg = dict(by_epoch=True, max_epochs=1)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
dataset_type = 'PoseTrackVideoDataset'
data_mode = 'topdown'
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, ann_file={ann!r}, data_prefix=dict(img={root!r}),
                 pipeline=[
                     dict(type='LoadFrameWindow'),
                     dict(type='GetBBoxCenterScale', padding=1.25),
                     dict(type='RandomFlip', direction='horizontal'),
                     dict(type='ClippedNormalBBoxTransform'),
                     dict(type='TopdownAffine', input_size=(48, 64)),
                     dict(type='GenerateTarget', encoder=TINY_CODEC),
                     dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path', 'margin',
                          'input_size', 'input_center', 'input_scale', 'flip_indices')),
                 ]))
"""


@pytest.mark.skipif(not osp.exists(MMPOSE_TRAIN), reason=f'{MMPOSE_TRAIN} not shipped')
def test_mmpose_train_py_builds_and_trains_plugin_config(tmp_path):
    ann = make_video_dataset(str(tmp_path / 'data'), nframes=6, labelled=(1, 4))
    cfg = tmp_path / 'plugin_cfg.py'
    cfg.write_text(
        CONFIG.format(
            base=osp.join(PROJECT_ROOT, 'configs/_base_/default_runtime.py'),
            ann=ann,
            root=str(tmp_path / 'data') + '/',
        )
    )
    env = dict(os.environ, PYTHONPATH=osp.join(PROJECT_ROOT, 'tests'))
    proc = subprocess.run(
        [sys.executable, MMPOSE_TRAIN, str(cfg), '--work-dir', str(tmp_path / 'work')],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'VideoTopdownPoseEstimator' in log or 'loss_kpt' in log
    assert 'loss_kpt' in log  # a training iteration ran through the plugin components
    assert osp.exists(tmp_path / 'work' / 'epoch_1.pth')
