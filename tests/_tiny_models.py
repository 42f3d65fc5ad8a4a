# Copyright (c) OpenMMLab. All rights reserved.
"""Tiny model configs for tests."""

from typing import Tuple

from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from torch import Tensor

TINY_HRNET = dict(
    type='HRNet',
    in_channels=3,
    extra=dict(
        stage1=dict(
            num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,), num_channels=(8,)
        ),
        stage2=dict(
            num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(8, 16)
        ),
        stage3=dict(
            num_modules=1,
            num_branches=3,
            block='BASIC',
            num_blocks=(1, 1, 1),
            num_channels=(8, 16, 32),
        ),
        # 3 branches (1/4, 1/8, 1/16) so that 64x48 crops work (a 4th branch needs /32)
        stage4=dict(
            num_modules=1,
            num_branches=3,
            block='BASIC',
            num_blocks=(1, 1, 1),
            num_channels=(8, 16, 32),
            multiscale_output=False,
        ),
    ),
)
TINY_CODEC = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
PREPROCESSOR = dict(
    type='VideoPoseDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
)


if 'TestCentreFrameHead' not in MODELS.module_dict:

    @MODELS.register_module()
    class TestCentreFrameHead(HeatmapHead):
        """Test-only head: mmpose's HeatmapHead on the centre frame of [B,T,C,h,w] features."""

        def forward(self, feats: Tuple[Tensor]) -> Tensor:
            return super().forward([f[:, 0] for f in feats])


def tiny_estimator_cfg(**kwargs) -> dict:
    cfg = dict(
        type='VideoTopdownPoseEstimator',
        data_preprocessor=PREPROCESSOR,
        backbone=TINY_HRNET,
        head=dict(
            type='TestCentreFrameHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            decoder=TINY_CODEC,
            loss=dict(type='KeypointMSELoss', use_target_weight=True),
        ),
        test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True),
    )
    cfg.update(kwargs)
    return cfg
