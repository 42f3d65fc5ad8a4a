# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet / DCPose head initialisation (architecture.md §6)."""

import torch
from mmcv.ops import ModulatedDeformConv2d
from mmengine.model.weight_init import initialize
from torch import nn

from .dcn_pack import DCNPack

#: Values of the ``dcn_offset_init`` flag (docs/official_vs_fixed.md).
OFFSET_INIT_MODES = ('official_normal', 'zero')


def official_init_cfg(std: float = 0.001) -> list:
    """mmengine ``init_cfg`` of the official normal/constant rules: every ``Conv2d`` weight
    N(0, ``std``²) with bias 0, every ``BatchNorm2d`` weight 1 and bias 0.

    mmengine visits the modules depth-first in registration order, like the official
    ``named_modules()`` loop, so the random draws land on the same convs in the same order.
    """
    return [
        dict(type='Normal', layer='Conv2d', mean=0.0, std=std, bias=0.0),
        dict(type='Constant', layer='BatchNorm2d', val=1.0, bias=0.0),
    ]


@torch.no_grad()
def fasr_init_weights(
    module: nn.Module, dcn_offset_init: str = 'official_normal', std: float = 0.001
) -> None:
    """Initialise a FaSRnet head (or any part of it) in place, as the official code does.

    * every ``nn.Conv2d`` (including the DCN-packs' ``conv_offset_mask`` and the SRM offset / mask
      convs): weight ~ N(0, ``std``²), bias 0;
    * every ``BatchNorm2d``: weight 1, bias 0 (running statistics untouched);
    * every modulated DCN (mmcv ``ModulatedDeformConv2d``, incl. :class:`DCNPack`): identity kernel
      ``W[k, k, c, c] = 1`` (centre tap), bias 0 — requires ``in == out`` channels;
    * ``dcn_offset_init='zero'`` ([FIX], as in EDVR): the DCN-packs' ``conv_offset_mask`` is then
      set to exactly 0 (offsets 0, masks 0.5) instead of keeping the N(0, ``std``²) draw.

    Args:
        module (nn.Module): The module to initialise (its whole subtree).
        dcn_offset_init (str): ``'official_normal'`` or ``'zero'``. Defaults to
            ``'official_normal'``.
        std (float): Std of the conv weights. Defaults to 0.001.
    """
    if dcn_offset_init not in OFFSET_INIT_MODES:
        raise ValueError(
            f'dcn_offset_init must be one of {OFFSET_INIT_MODES}, got {dcn_offset_init!r}'
        )
    initialize(module, official_init_cfg(std))
    for m in module.modules():
        if isinstance(m, ModulatedDeformConv2d):
            out_ch, in_ch, k_h, k_w = m.weight.shape
            if out_ch != in_ch * m.groups:
                raise ValueError('identity DCN init needs in_channels == out_channels')
            m.weight.zero_()
            idx = torch.arange(out_ch, device=m.weight.device)
            m.weight[idx, idx % in_ch, k_h // 2, k_w // 2] = 1.0
            if m.bias is not None:
                m.bias.zero_()
    if dcn_offset_init == 'zero':
        for m in module.modules():
            if isinstance(m, DCNPack):
                nn.init.zeros_(m.conv_offset_mask.weight)
                nn.init.zeros_(m.conv_offset_mask.bias)
