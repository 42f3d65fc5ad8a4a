# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet Feature Refinement Module: two PCD-3 alignments + TSA fusion + 1×1 (architecture.md §3).

Submodule names follow the official code (``offset_conv1.l3`` ...) so that checkpoints map 1:1.
"""

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...structures.temporal_window import FUSION_CENTRE_INDEX, NUM_FRAMES
from .dcn_pack import DEFAULT_OFFSET_PADDING, DCNPack
from .deform_conv import DEFAULT_DCN_IMPL
from .layout import channels_last, interleave, stack_frames

#: Values of the ``align_direction`` flag (docs/official_vs_fixed.md).
ALIGN_DIRECTIONS = ('official', 'neighbour_to_current')


class PCDAlignment3(nn.Module):
    """Pyramid-less PCD alignment ("PCD-3", official ``PCDAlignment_3``, architecture.md §3.2).

    All levels run at full resolution; level ``l{n}`` ... ``l1`` differ only in the sampling
    dilation of their DCN-pack (default 5, 3, 1), followed by a cascading DCN-pack (dilation 1).

    Args:
        num_feat (int): Feature channels ``C``. Defaults to 48.
        deform_groups (int): Deformable groups. Defaults to 1.
        dilations (Sequence[int]): Sampling dilations from the first (coarsest, ``l{n}``) to
            the last (``l1``) level. Defaults to ``(5, 3, 1)``.
        offset_padding (str): ``dcn_offset_padding`` flag, see :class:`DCNPack`.
            Defaults to ``'official_emulated'``.
        dcn_impl (str): Deformable-conv implementation (:mod:`.deform_conv`). Defaults to
            ``'auto'``.
    """

    def __init__(
        self,
        num_feat: int = 48,
        deform_groups: int = 1,
        dilations: Sequence[int] = (5, 3, 1),
        offset_padding: str = DEFAULT_OFFSET_PADDING,
        dcn_impl: str = DEFAULT_DCN_IMPL,
    ) -> None:
        super().__init__()
        self.dilations = tuple(int(d) for d in dilations)
        num_levels = len(self.dilations)
        self.levels = [f'l{i}' for i in range(num_levels, 0, -1)]  # l3, l2, l1
        c = num_feat
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.dcn_pack = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        for idx, (level, dilation) in enumerate(zip(self.levels, self.dilations)):
            first = idx == 0
            self.offset_conv1[level] = nn.Conv2d(2 * c, c, 3, 1, 1)
            self.offset_conv2[level] = nn.Conv2d(c if first else 2 * c, c, 3, 1, 1)
            if not first:
                self.offset_conv3[level] = nn.Conv2d(c, c, 3, 1, 1)
            self.dcn_pack[level] = DCNPack(
                c,
                c,
                3,
                dilation=dilation,
                deform_groups=deform_groups,
                offset_padding=offset_padding,
                dcn_impl=dcn_impl,
            )
            if not first:
                self.feat_conv[level] = nn.Conv2d(2 * c, c, 3, 1, 1)
        self.cas_offset_conv1 = nn.Conv2d(2 * c, c, 3, 1, 1)
        self.cas_offset_conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.cas_dcnpack = DCNPack(
            c,
            c,
            3,
            dilation=1,
            deform_groups=deform_groups,
            offset_padding=offset_padding,
            dcn_impl=dcn_impl,
        )
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, sampled: Tensor, cond: Tensor) -> Tensor:
        """Deform ``sampled`` with offsets conditioned on ``(sampled, cond)``.

        Args:
            sampled (Tensor): Features that the deformable convs sample, ``[B, C, H, W]``.
            cond (Tensor): Features that only enter the offset branch, ``[B, C, H, W]``.

        Returns:
            Tensor: Aligned features ``[B, C, H, W]``.
        """
        x_in = interleave(sampled, cond)  # [B, 2C, H, W], same at every level
        prev_off = prev_feat = None
        feat = sampled
        last = len(self.levels) - 1
        for idx, level in enumerate(self.levels):
            off = self.lrelu(self.offset_conv1[level](x_in))
            if idx == 0:
                off = self.lrelu(self.offset_conv2[level](off))
            else:
                off = self.lrelu(self.offset_conv2[level](interleave(off, prev_off)))
                off = self.lrelu(self.offset_conv3[level](off))
            feat = self.dcn_pack[level](sampled, off)
            if idx > 0:
                feat = self.feat_conv[level](interleave(feat, prev_feat))
            if idx < last:
                feat = self.lrelu(feat)
            prev_off, prev_feat = off, feat
        off = self.lrelu(self.cas_offset_conv1(interleave(feat, cond)))
        off = self.lrelu(self.cas_offset_conv2(off))
        return self.lrelu(self.cas_dcnpack(feat, off))  # [B, C, H, W]


class TSAFusion(nn.Module):
    """Temporal-spatial attention fusion of EDVR (unmodified, architecture.md §3.4).

    Args:
        num_feat (int): Channels per frame ``C``. Defaults to 48.
        num_frame (int): Number of stacked frames ``T``. Defaults to 3.
        center_frame_idx (int): Index of the reference frame in the stack. Defaults to 1.
    """

    def __init__(self, num_feat: int = 48, num_frame: int = 3, center_frame_idx: int = 1) -> None:
        super().__init__()
        c = num_feat
        self.center_frame_idx = center_frame_idx
        self.temporal_attn1 = nn.Conv2d(c, c, 3, 1, 1)
        self.temporal_attn2 = nn.Conv2d(c, c, 3, 1, 1)
        self.feat_fusion = nn.Conv2d(num_frame * c, c, 1, 1)
        self.spatial_attn1 = nn.Conv2d(num_frame * c, c, 1)
        self.spatial_attn2 = nn.Conv2d(2 * c, c, 1)
        self.spatial_attn3 = nn.Conv2d(c, c, 3, 1, 1)
        self.spatial_attn4 = nn.Conv2d(c, c, 1)
        self.spatial_attn5 = nn.Conv2d(c, c, 3, 1, 1)
        self.spatial_attn_l1 = nn.Conv2d(c, c, 1)
        self.spatial_attn_l2 = nn.Conv2d(2 * c, c, 3, 1, 1)
        self.spatial_attn_l3 = nn.Conv2d(c, c, 3, 1, 1)
        self.spatial_attn_add1 = nn.Conv2d(c, c, 1)
        self.spatial_attn_add2 = nn.Conv2d(c, c, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=2, padding=1)

    @staticmethod
    def _upsample(x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)

    def forward(self, aligned_feat: Tensor) -> Tensor:
        """Fuse a frame stack.

        Args:
            aligned_feat (Tensor): ``[B, T, C, H, W]`` (H, W multiples of 4).

        Returns:
            Tensor: Fused features ``[B, C, H, W]``.
        """
        b, t, c, h, w = aligned_feat.shape
        frames = aligned_feat.unbind(1)  # T x [B, C, H, W]
        # temporal attention
        emb_ref = self.temporal_attn1(frames[self.center_frame_idx])  # [B, C, H, W]
        emb = self.temporal_attn2(aligned_feat.flatten(0, 1)).view(b, t, -1, h, w)
        corr_prob = torch.sigmoid((emb * emb_ref.unsqueeze(1)).sum(dim=2))  # [B, T, H, W]
        # [B, T*C, H, W], channels (t, c); cat keeps channels-last frames channels-last
        aligned_feat = torch.cat([f * corr_prob[:, i, None] for i, f in enumerate(frames)], dim=1)

        # fusion and spatial attention
        feat = self.lrelu(self.feat_fusion(aligned_feat))  # [B, C, H, W]
        attn = self.lrelu(self.spatial_attn1(aligned_feat))
        attn = self.lrelu(
            self.spatial_attn2(torch.cat((self.max_pool(attn), self.avg_pool(attn)), dim=1))
        )  # [B, C, H/2, W/2]
        attn_level = self.lrelu(self.spatial_attn_l1(attn))
        attn_level = self.lrelu(
            self.spatial_attn_l2(
                torch.cat((self.max_pool(attn_level), self.avg_pool(attn_level)), dim=1)
            )
        )
        attn_level = self._upsample(self.lrelu(self.spatial_attn_l3(attn_level)))  # H/2, W/2
        attn = self.lrelu(self.spatial_attn3(attn)) + attn_level
        attn = self._upsample(self.lrelu(self.spatial_attn4(attn)))
        attn = self.spatial_attn5(attn)  # [B, C, H, W]
        attn_add = self.spatial_attn_add2(self.lrelu(self.spatial_attn_add1(attn)))
        return feat * torch.sigmoid(attn) * 2 + attn_add


class FeatureRefinementModule(nn.Module):
    """FRM: ``H^F = heatmap_layer(TSA([A_p, F_cur, A_n]))`` (architecture.md §3).

    Args:
        num_feat (int): Backbone feature channels ``C``. Defaults to 48.
        num_joints (int): Heatmap channels ``K``. Defaults to 17.
        deform_groups (int): Deformable groups of the alignment DCN-packs. Defaults to 1.
        pcd_dilations (Sequence[int]): Sampling dilations of the PCD-3 levels. Defaults to
            ``(5, 3, 1)``.
        align_direction (str): ``'official'``: ``A_p = pcda_p(F_cur, F_prev)`` (the current
            features are sampled, the neighbour only conditions the offsets).
            ``'neighbour_to_current'`` (fixed, EDVR/paper): ``A_p = pcda_p(F_prev, F_cur)``.
            Defaults to ``'official'``.
        offset_padding (str): Of both alignments (:class:`PCDAlignment3`).
            Defaults to ``'official_emulated'``.
        dcn_impl (str): Of both alignments (:class:`PCDAlignment3`). Defaults to ``'auto'``.
    """

    def __init__(
        self,
        num_feat: int = 48,
        num_joints: int = 17,
        deform_groups: int = 1,
        pcd_dilations: Sequence[int] = (5, 3, 1),
        align_direction: str = 'official',
        offset_padding: str = DEFAULT_OFFSET_PADDING,
        dcn_impl: str = DEFAULT_DCN_IMPL,
    ) -> None:
        super().__init__()
        if align_direction not in ALIGN_DIRECTIONS:
            raise ValueError(
                f'align_direction must be one of {ALIGN_DIRECTIONS}, got {align_direction!r}'
            )
        self.align_direction = align_direction
        pcd_args = (num_feat, deform_groups, pcd_dilations, offset_padding, dcn_impl)
        self.pcda_p = PCDAlignment3(*pcd_args)
        self.pcda_n = PCDAlignment3(*pcd_args)
        self.tsa_fusion = TSAFusion(
            num_feat, num_frame=NUM_FRAMES, center_frame_idx=FUSION_CENTRE_INDEX
        )  # stacked in FUSION_ORDER [previous, current, next]
        self.heatmap_layer = nn.Conv2d(num_feat, num_joints, 1, 1, 0)

    def align(
        self, feat_cur: Tensor, feat_prev: Tensor, feat_next: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Aligned neighbour features ``(A_p, A_n)``, each ``[B, C, H, W]``."""
        if self.align_direction == 'official':
            return self.pcda_p(feat_cur, feat_prev), self.pcda_n(feat_cur, feat_next)
        return self.pcda_p(feat_prev, feat_cur), self.pcda_n(feat_next, feat_cur)

    def fuse(self, feat_cur: Tensor, feat_prev: Tensor, feat_next: Tensor) -> Tensor:
        """TSA output ``G`` ``[B, C, H, W]`` (before the 1×1 heatmap layer); CPU: channels-last."""
        feat_cur, feat_prev, feat_next = map(channels_last, (feat_cur, feat_prev, feat_next))
        aligned_p, aligned_n = self.align(feat_cur, feat_prev, feat_next)
        # [B, T, C, H, W] in FUSION_ORDER
        return self.tsa_fusion(stack_frames((aligned_p, feat_cur, aligned_n)))

    def forward(self, feat_cur: Tensor, feat_prev: Tensor, feat_next: Tensor) -> Tensor:
        """Compute ``H^F``.

        Args:
            feat_cur (Tensor): Current-frame features ``[B, C, H, W]``.
            feat_prev (Tensor): Previous-frame features ``[B, C, H, W]``.
            feat_next (Tensor): Next-frame features ``[B, C, H, W]``.

        Returns:
            Tensor: ``H^F`` ``[B, K, H, W]``.
        """
        return self.heatmap_layer(self.fuse(feat_cur, feat_prev, feat_next)).contiguous()
