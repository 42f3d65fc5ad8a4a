# Copyright (c) OpenMMLab. All rights reserved.
"""Semantics Refinement Module: DCPose's PRF + PTM + PCN heatmap head (architecture.md §4).

FaSRnet uses it with a single dilation ``[1]`` and ``current = H^F``; DCPose uses the same module
with dilations ``[3, 6, 9, 12, 15]`` and ``current = R_cur`` (the rough current heatmaps).
"""

from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from ...structures.temporal_window import NUM_FRAMES
from .deform_conv import DEFAULT_DCN_IMPL, ModulatedDeformConv
from .layout import channels_last, interleave
from .rsb import ChainOfRSBBlocks


def margin_weights(margins: Tensor, batch_size: int, device: torch.device) -> Tuple[Tensor, Tensor]:
    """Inverse-distance frame weights from margins (architecture.md §1.2).

    ``m = margin / margin.sum(1)``; previous weight ``m[:, 1]``, next weight ``m[:, 0]``.

    Args:
        margins (Tensor): ``[B, 2]`` ``[margin_prev, margin_next]`` (the head passes the
            temporal window's default margins when it has none).
        batch_size (int): ``B`` (checked against ``margins``).
        device (torch.device): Device of the result.

    Returns:
        tuple[Tensor, Tensor]: ``(w_prev, w_next)``, each ``[B, 1, 1, 1]`` float32.
    """
    m = torch.as_tensor(margins, device=device).to(torch.float32).reshape(-1, NUM_FRAMES - 1)
    if m.size(0) != batch_size:
        raise ValueError(f'margins have {m.size(0)} rows for a batch of {batch_size}')
    m = m / m.sum(dim=1, keepdim=True)
    return m[:, 1].view(-1, 1, 1, 1), m[:, 0].view(-1, 1, 1, 1)


class SemanticRefinementModule(nn.Module):
    """PRF / PTM / PCN heatmap refinement (official ``hm_improve`` / DCPose head).

    Args:
        num_joints (int): Joints ``K``. Defaults to 17.
        prf_inner_channels (int): PRF chain output channels. Defaults to 34.
        prf_num_blocks (int): PRF chain blocks. Defaults to 2.
        ptm_inner_channels (int): PTM chain output channels. Defaults to 17.
        ptm_num_blocks (int): PTM chain blocks. Defaults to 1.
        combine_inner_channels (int): Combination chain output channels. Defaults to 64.
        combine_num_blocks (int): Combination chain blocks. Defaults to 2.
        dilations (Sequence[int]): One PCN branch per dilation ``d`` (offset conv, mask conv and DCN
            all with dilation = padding = ``d``); branch outputs are averaged with weight
            ``1/len(dilations)``, accumulated in order. FaSRnet: ``[1]``; DCPose:
            ``[3, 6, 9, 12, 15]``. Defaults to ``(1, )``.
        mask_sigmoid (bool): Apply a sigmoid to the PCN masks. The official code (FaSRnet and
            DCPose) uses the raw mask conv output. Defaults to ``False``.
        dcn_impl (str): Deformable-conv implementation (:mod:`.deform_conv`). Defaults to
            ``'auto'``.
    """

    def __init__(
        self,
        num_joints: int = 17,
        prf_inner_channels: int = 34,
        prf_num_blocks: int = 2,
        ptm_inner_channels: int = 17,
        ptm_num_blocks: int = 1,
        combine_inner_channels: int = 64,
        combine_num_blocks: int = 2,
        dilations: Sequence[int] = (1,),
        mask_sigmoid: bool = False,
        dcn_impl: str = DEFAULT_DCN_IMPL,
    ) -> None:
        super().__init__()
        if ptm_inner_channels != num_joints:
            raise ValueError(
                'the PCN deformable convs sample the PTM output, so '
                'ptm_inner_channels must equal num_joints'
            )
        if len(dilations) == 0:
            raise ValueError('dilations must not be empty')
        k = num_joints
        self.num_joints = k
        self.dilations = tuple(int(d) for d in dilations)
        self.mask_sigmoid = mask_sigmoid
        self.diff_temporal_fuse = ChainOfRSBBlocks(4 * k, prf_inner_channels, prf_num_blocks)
        self.support_temporal_fuse = ChainOfRSBBlocks(3 * k, ptm_inner_channels, ptm_num_blocks)
        self.offset_mask_combine_conv = ChainOfRSBBlocks(
            prf_inner_channels + ptm_inner_channels, combine_inner_channels, combine_num_blocks
        )
        self.offset_convs = nn.ModuleList(
            [
                nn.Conv2d(
                    combine_inner_channels, 2 * k * 9, 3, 1, padding=d, dilation=d, bias=False
                )
                for d in self.dilations
            ]
        )
        self.mask_convs = nn.ModuleList(
            [
                nn.Conv2d(combine_inner_channels, k * 9, 3, 1, padding=d, dilation=d, bias=False)
                for d in self.dilations
            ]
        )
        self.dcns = nn.ModuleList(
            [
                ModulatedDeformConv(
                    k, k, 3, stride=1, padding=d, dilation=d, deform_groups=k, dcn_impl=dcn_impl
                )
                for d in self.dilations
            ]
        )

    def build_inputs(
        self, current: Tensor, prev: Tensor, next: Tensor, margins: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Per-joint interleaved PRF / PTM inputs (architecture.md §4.2), no per-joint loop.

        Args:
            current (Tensor): Current heatmaps (``H^F`` in FaSRnet) ``[B, K, H, W]``.
            prev (Tensor): Previous-frame rough heatmaps ``[B, K, H, W]``.
            next (Tensor): Next-frame rough heatmaps ``[B, K, H, W]``.
            margins (Tensor): ``[B, 2]`` ``[margin_prev, margin_next]``.

        Returns:
            tuple[Tensor, Tensor]: ``diff_in`` ``[B, 4K, H, W]`` (channels ``4j..4j+3`` =
            ``[dA_j, dA_j*wp, dB_j, dB_j*wn]``) and ``support_in`` ``[B, 3K, H, W]`` (channels
            ``3j..3j+2`` = ``[cur_j, prev_j*wp, next_j*wn]``).
        """
        w_prev, w_next = margin_weights(margins, current.size(0), current.device)
        w_prev, w_next = w_prev.to(current.dtype), w_next.to(current.dtype)
        d_prev = current - prev
        d_next = current - next
        diff_in = interleave(d_prev, d_prev * w_prev, d_next, d_next * w_next)
        return diff_in, interleave(current, prev * w_prev, next * w_next)

    def forward(self, current: Tensor, prev: Tensor, next: Tensor, margins: Tensor) -> Tensor:
        """Refine the current heatmaps.

        Args:
            current (Tensor): ``[B, K, H, W]``.
            prev (Tensor): ``[B, K, H, W]``.
            next (Tensor): ``[B, K, H, W]``.
            margins (Tensor): ``[B, 2]``.

        Returns:
            Tensor: ``H^S`` ``[B, K, H, W]``.
        """
        maps = [channels_last(t) for t in (current, prev, next)]  # layout.py
        diff_in, support_in = self.build_inputs(*maps, margins)
        diff = self.diff_temporal_fuse(diff_in)  # [B, 34, H, W]
        support = self.support_temporal_fuse(support_in)  # [B, K, H, W] (sampled by the DCNs)
        combined = self.offset_mask_combine_conv(torch.cat((diff, support), dim=1))  # [B, 64, H, W]
        weight = 1.0 / len(self.dilations)
        out = None
        for offset_conv, mask_conv, dcn in zip(self.offset_convs, self.mask_convs, self.dcns):
            offset = offset_conv(combined)  # [B, 2*9*K, H, W]
            mask = mask_conv(combined)  # [B, 9*K, H, W]
            if self.mask_sigmoid:
                mask = torch.sigmoid(mask)
            warped = weight * dcn(support, offset, mask)  # [B, K, H, W]
            out = warped if out is None else out + warped
        return out
