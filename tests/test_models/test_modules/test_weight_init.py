# Copyright (c) OpenMMLab. All rights reserved.
"""The official init through mmengine's init_cfg equals the official per-module loop."""

import torch
from torch import nn

from fasrnet_mmpose.models.heads import FaSRHead
from fasrnet_mmpose.models.modules import fasr_init_weights


def _official_loop(module: nn.Module, std: float = 0.001) -> None:
    """The official rule as a plain loop over ``modules()`` (parents before children)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def test_init_cfg_reproduces_the_official_loop_draw_for_draw():
    head, expected = FaSRHead(), FaSRHead()
    torch.manual_seed(3)
    fasr_init_weights(head)
    torch.manual_seed(3)
    with torch.no_grad():
        _official_loop(expected)
    got, ref = head.state_dict(), expected.state_dict()
    dcn_weights = {
        name + '.weight' for name, m in head.named_modules() if hasattr(m, 'deform_groups') and name
    }
    assert len(dcn_weights) == 9  # 8 FRM DCN-packs + the SRM DCN: identity kernels instead
    for key in ref:
        if key not in dcn_weights:
            assert torch.equal(got[key], ref[key]), key
