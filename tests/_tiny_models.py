# Copyright (c) OpenMMLab. All rights reserved.
"""Tiny model configs for tests."""

from typing import Tuple

from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from torch import Tensor


def _stage(channels: Tuple[int, ...], block: str = 'BASIC', **kwargs) -> dict:
    """One HRNet stage: one module, one block per branch, a branch per channel count."""
    n = len(channels)
    return dict(
        num_modules=1,
        num_branches=n,
        block=block,
        num_blocks=(1,) * n,
        num_channels=channels,
        **kwargs,
    )


TINY_HRNET = dict(
    type='HRNet',
    in_channels=3,
    extra=dict(
        stage1=_stage((8,), 'BOTTLENECK'),
        stage2=_stage((8, 16)),
        stage3=_stage((8, 16, 32)),
        # 3 branches (1/4, 1/8, 1/16) so that 64x48 crops work (a 4th branch needs /32)
        stage4=_stage((8, 16, 32), multiscale_output=False),
    ),
)
#: tiny models' input (W, H) and codec: 16x12 heatmaps (multiples of 4 for the TSA pyramid)
TINY_INPUT = (48, 64)
TINY_CODEC = dict(type='MSRAHeatmap', input_size=TINY_INPUT, heatmap_size=(12, 16), sigma=2)
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


def centre_head_cfg(codec: dict = TINY_CODEC, **kwargs) -> dict:
    """A ``TestCentreFrameHead`` on the tiny HRNet's 8 channels (17 keypoints, no deconv).

    Args:
        codec (dict): The decoder. Defaults to ``TINY_CODEC``.
        **kwargs: More head keys (e.g. ``_delete_=True`` in a child config).
    """
    return dict(
        type='TestCentreFrameHead',
        in_channels=8,
        out_channels=17,
        deconv_out_channels=None,
        decoder=codec,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        **kwargs,
    )


def tiny_estimator_cfg(**kwargs) -> dict:
    cfg = dict(
        type='VideoTopdownPoseEstimator',
        data_preprocessor=PREPROCESSOR,
        backbone=TINY_HRNET,
        head=centre_head_cfg(),
        test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True),
    )
    cfg.update(kwargs)
    return cfg
