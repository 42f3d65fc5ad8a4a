# Copyright (c) OpenMMLab. All rights reserved.
"""Residual steps blocks (RSB) as used by the DCPose / FaSRnet SRM.

Module and parameter names follow the official DCPose code so that its checkpoints (and FaSRnet's
``hm_improve.*`` part) map 1:1 (see ``tools/convert_official_checkpoint.py``).
"""

import warnings
from typing import List

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, relu: bool = True) -> ConvModule:
    """mmcv ``ConvModule``: ``Conv2d`` (with bias, as in the official code) -> ``BN`` -> ``ReLU``.

    State-dict keys ``conv.*`` and ``bn.*`` (those of the official ``conv_bn_relu`` units). In eval
    mode the BN is folded into the conv weights on the fly (``efficient_conv_bn_eval``: one conv
    instead of conv + BN, same result up to float rounding).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size; stride 1, padding ``kernel_size // 2``.
        relu (bool): Whether a ReLU follows the BN. Defaults to ``True``.

    Returns:
        ConvModule: ``[B, Cin, H, W] -> [B, Cout, H, W]``.
    """
    with warnings.catch_warnings():  # the conv bias before BN is the official architecture
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=True,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU', inplace=True) if relu else None,
            efficient_conv_bn_eval=True,
        )


class RSBBlock(nn.Module):
    """One residual steps block (architecture.md §4.3).

    The 1×1 input unit produces ``4b`` channels (``b = floor(cin * 26 / 64)``) that are split into
    four groups feeding 1, 2, 3 and 4 chained 3×3 units; the four group outputs are concatenated and
    projected back by a 1×1 conv + BN (no ReLU); the shortcut is added and a ReLU applied.

    Args:
        in_channels (int): Input channels ``cin``.
        out_channels (int): Output channels ``cout``.
        projection_shortcut (bool): Use a 1×1 conv + BN shortcut (named ``downsample``) instead of
            the identity. Required when ``cin != cout``. Defaults to ``False``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, projection_shortcut: bool = False
    ) -> None:
        super().__init__()
        if in_channels != out_channels and not projection_shortcut:
            raise ValueError(
                'an RSB block with in_channels != out_channels needs a projection shortcut'
            )
        b = in_channels * 26 // 64
        self.branch_channels = b
        self.conv_bn_relu1 = conv_bn(in_channels, 4 * b, 1)
        # registration order = official state_dict order
        self.conv_bn_relu2_1_1 = conv_bn(b, b, 3)
        self.conv_bn_relu2_2_1 = conv_bn(b, b, 3)
        self.conv_bn_relu2_2_2 = conv_bn(b, b, 3)
        self.conv_bn_relu2_3_1 = conv_bn(b, b, 3)
        self.conv_bn_relu2_3_2 = conv_bn(b, b, 3)
        self.conv_bn_relu2_3_3 = conv_bn(b, b, 3)
        self.conv_bn_relu2_4_1 = conv_bn(b, b, 3)
        self.conv_bn_relu2_4_2 = conv_bn(b, b, 3)
        self.conv_bn_relu2_4_3 = conv_bn(b, b, 3)
        self.conv_bn_relu2_4_4 = conv_bn(b, b, 3)
        self.conv_bn_relu3 = conv_bn(4 * b, out_channels, 1, relu=False)
        self.downsample = (
            conv_bn(in_channels, out_channels, 1, relu=False) if projection_shortcut else None
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """[B, cin, H, W] -> [B, cout, H, W]."""
        identity = x if self.downsample is None else self.downsample(x)
        s0, s1, s2, s3 = torch.split(self.conv_bn_relu1(x), self.branch_channels, dim=1)
        o11 = self.conv_bn_relu2_1_1(s0)
        o21 = self.conv_bn_relu2_2_1(s1 + o11)
        o22 = self.conv_bn_relu2_2_2(o21)
        o31 = self.conv_bn_relu2_3_1(s2 + o21)
        o32 = self.conv_bn_relu2_3_2(o31 + o22)
        o33 = self.conv_bn_relu2_3_3(o32)
        o41 = self.conv_bn_relu2_4_1(s3 + o31)
        o42 = self.conv_bn_relu2_4_2(o41 + o32)
        o43 = self.conv_bn_relu2_4_3(o42 + o33)
        o44 = self.conv_bn_relu2_4_4(o43)
        y = self.conv_bn_relu3(torch.cat((o11, o22, o33, o44), dim=1))
        return self.relu(y + identity)


class ChainOfRSBBlocks(nn.Module):
    """A chain of ``num_blocks`` RSB blocks (official ``CHAIN_RSB_BLOCKS``).

    The first block maps ``in_channels -> out_channels`` with a projection shortcut, the others
    ``out_channels -> out_channels`` with an identity shortcut.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Number of blocks (>= 1).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f'num_blocks must be >= 1, got {num_blocks}')
        blocks: List[nn.Module] = [RSBBlock(in_channels, out_channels, projection_shortcut=True)]
        blocks += [RSBBlock(out_channels, out_channels) for _ in range(num_blocks - 1)]
        self.layers = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        """[B, in_channels, H, W] -> [B, out_channels, H, W]."""
        return self.layers(x)
