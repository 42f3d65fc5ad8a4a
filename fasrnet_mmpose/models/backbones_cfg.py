# Copyright (c) OpenMMLab. All rights reserved.
"""Backbone configs shared by the tools and tests (plain dicts, nothing is built here)."""

import copy

#: mmpose's HRNet-W48 (``td-hm_hrnet-w48_8xb32-210e_coco-384x288``) with only the stage-4
#: high-resolution output (``multiscale_output=False``): the backbone of every config in
#: ``configs/fasrnet/*.py`` (there without ``init_cfg``; tests/test_configs checks that they
#: agree). Do not modify it; :func:`hrnet_w48` returns a copy to modify.
HRNET_W48 = dict(
    type='HRNet',
    in_channels=3,
    extra=dict(
        stage1=dict(
            num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,), num_channels=(64,)
        ),
        stage2=dict(
            num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(48, 96)
        ),
        stage3=dict(
            num_modules=4,
            num_branches=3,
            block='BASIC',
            num_blocks=(4, 4, 4),
            num_channels=(48, 96, 192),
        ),
        stage4=dict(
            num_modules=3,
            num_branches=4,
            block='BASIC',
            num_blocks=(4, 4, 4, 4),
            num_channels=(48, 96, 192, 384),
            multiscale_output=False,
        ),
    ),
)


def hrnet_w48() -> dict:
    """A deep copy of :data:`HRNET_W48` (free to modify)."""
    return copy.deepcopy(HRNET_W48)
