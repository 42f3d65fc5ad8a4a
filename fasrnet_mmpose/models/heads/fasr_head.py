# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet head: rough heatmaps + FRM + SRM (architecture.md §2–§6)."""

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model.weight_init import initialize
from mmengine.structures import PixelData
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from ...structures.temporal_window import (
    CURRENT_INDEX,
    FRAME_ORDER,
    NEXT_INDEX,
    NUM_FRAMES,
    PREVIOUS_INDEX,
    default_margins,
)
from ..modules import FeatureRefinementModule, SemanticRefinementModule, fasr_init_weights
from ..modules.dcn_pack import DEFAULT_OFFSET_PADDING
from ..modules.deform_conv import DEFAULT_DCN_IMPL
from ..modules.feature_refinement import ALIGN_DIRECTIONS
from ..modules.weight_init import OFFSET_INIT_MODES

FeatsType = Union[Tensor, Sequence[Tensor]]
# FaSRnet, FRM-only and SRM-only (= DCPose with its dilations) heads
COMPONENT_CHOICES = (('frm', 'srm'), ('frm',), ('srm',))


@MODELS.register_module()
class FaSRHead(BaseHead):
    """FaSRnet head (FITEE 2024): rough heatmaps, Feature Refinement Module (two PCD-3 alignments +
    TSA fusion + 1×1 -> ``H^F``) and Semantics Refinement Module (PRF/PTM/PCN -> ``H^S``).

    Input contract (``VideoTopdownPoseEstimator``): ``feats`` is a tuple of backbone levels, each
    ``[B, T, C, h, w]`` with ``T = 3`` frames in the order ``[current, previous, next]`` (the
    temporal window of :mod:`fasrnet_mmpose.structures.temporal_window`); the last level
    (HRNet-W48 stage-4 high-resolution output ``y0``, ``C = 48``) is used. ``margins`` is a
    ``[B, T-1]`` tensor ``[margin_prev, margin_next]`` that the estimator builds once per batch
    from the samples' ``metainfo['margin']``; :meth:`forward`, :meth:`loss` and :meth:`predict`
    use it alike (``None``: the window's default margins). ``h`` and ``w`` must be multiples of 4
    (TSA pooling pyramid).

    Every official-vs-fixed behaviour is a named flag; docs/official_vs_fixed.md lists them with
    their official values (the defaults here; converted official checkpoints need them).

    Args:
        in_channels (int): Backbone feature channels ``C``. Defaults to 48.
        out_channels (int): Number of joints ``K``. Defaults to 17.
        align_direction (str): ``'official'`` | ``'neighbour_to_current'``.
            Defaults to ``'official'``.
        dcn_offset_padding (str): ``'official_emulated'`` | ``'same'``.
            Defaults to ``'official_emulated'``.
        dcn_impl (str): Implementation of the 9 deformable convs (same function and parameters,
            docs/dcn_impl.md): ``'auto'`` (mmcv's CUDA ops on CUDA, torchvision on CUDA without
            them, plain PyTorch on CPU) | ``'mmcv'`` | ``'torchvision'`` | ``'pytorch'``.
            Defaults to ``'auto'``.
        dcn_offset_init (str): ``'official_normal'`` | ``'zero'``.
            Defaults to ``'official_normal'``.
        srm_dilations (Sequence[int]): SRM PCN dilations (FaSRnet ``[1]``, DCPose
            ``[3, 6, 9, 12, 15]``). Defaults to ``(1, )``.
        srm_mask_sigmoid (bool): Sigmoid on the SRM masks (official: none). Defaults to ``False``.
        pcd_dilations (Sequence[int]): DCN sampling dilations of the PCD-3 levels l3, l2, l1.
            Defaults to ``(5, 3, 1)``.
        deform_groups (int): Deformable groups of the alignment DCN-packs. Defaults to 1.
        srm_cfg (dict, optional): Extra :class:`SemanticRefinementModule` arguments (chain widths
            and depths). Defaults to the official values.
        freeze_rough_layer (bool): Freeze the rough-heatmap 1×1 conv ``final_layer`` (loaded from
            the COCO HRNet checkpoint key ``head.final_layer.*``): no gradient, computed under
            ``torch.no_grad()``. Set it together with the estimator's backbone freezing (official:
            frozen). Defaults to ``True``.
        loss (dict): Loss config. Defaults to ``dict(type='FaSRLoss', alpha=0.4)``.
        decoder (dict, optional): Codec config used by :meth:`predict`, e.g.
            ``dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)``.
            Defaults to ``None``.
        init_cfg (dict | list[dict], optional): Only ``Pretrained`` entries are honoured (applied
            after the architecture.md §6 initialisation of :meth:`init_weights`). Defaults to
            ``None``.
        components (Sequence[str]): Refinement modules to build, for the paper's ablations and
            for DCPose: ``('frm', 'srm')`` (FaSRnet), ``('frm', )`` (FRM only: ``H^S := H^F``,
            so the loss is ``MSE(H^F)`` for any alpha) or ``('srm', )`` (SRM only: the SRM refines
            the backbone's rough heatmap of the current frame, ``H^F := R_t``; with
            ``srm_dilations=(3, 6, 9, 12, 15)`` this is DCPose's PRF/PTM/PCN head; use
            ``alpha=0``). Defaults to ``('frm', 'srm')``.
    """

    def __init__(
        self,
        in_channels: int = 48,
        out_channels: int = 17,
        align_direction: str = 'official',
        dcn_offset_padding: str = DEFAULT_OFFSET_PADDING,
        dcn_impl: str = DEFAULT_DCN_IMPL,
        dcn_offset_init: str = 'official_normal',
        srm_dilations: Sequence[int] = (1,),
        srm_mask_sigmoid: bool = False,
        pcd_dilations: Sequence[int] = (5, 3, 1),
        deform_groups: int = 1,
        srm_cfg: OptConfigType = None,
        freeze_rough_layer: bool = True,
        loss: ConfigType = dict(type='FaSRLoss', alpha=0.4),
        decoder: OptConfigType = None,
        init_cfg: OptConfigType = None,
        components: Sequence[str] = ('frm', 'srm'),
    ) -> None:
        super().__init__(init_cfg)
        components = tuple(components)
        if components not in COMPONENT_CHOICES:
            raise ValueError(
                f'FaSRHead: components must be one of {COMPONENT_CHOICES}, got {components}'
            )
        self.components = components
        if align_direction not in ALIGN_DIRECTIONS:
            raise ValueError(f'align_direction must be one of {ALIGN_DIRECTIONS}')
        if dcn_offset_init not in OFFSET_INIT_MODES:
            raise ValueError(f'dcn_offset_init must be one of {OFFSET_INIT_MODES}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.align_direction = align_direction
        self.dcn_offset_padding = dcn_offset_padding  # validated by DCNPack
        self.dcn_impl = dcn_impl  # validated by ModulatedDeformConv
        self.dcn_offset_init = dcn_offset_init
        self.freeze_rough_layer = freeze_rough_layer

        # rough heatmaps R (HRNet's 1x1 final layer; COCO key head.final_layer.* loads unchanged)
        self.final_layer = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.frm = (
            FeatureRefinementModule(
                num_feat=in_channels,
                num_joints=out_channels,
                deform_groups=deform_groups,
                pcd_dilations=pcd_dilations,
                align_direction=align_direction,
                offset_padding=dcn_offset_padding,
                dcn_impl=dcn_impl,
            )
            if 'frm' in components
            else None
        )
        srm_kwargs = dict(srm_cfg or {})
        srm_kwargs.setdefault('ptm_inner_channels', out_channels)
        self.srm = (
            SemanticRefinementModule(
                num_joints=out_channels,
                dilations=srm_dilations,
                mask_sigmoid=srm_mask_sigmoid,
                dcn_impl=dcn_impl,
                **srm_kwargs,
            )
            if 'srm' in components
            else None
        )
        self.loss_module = MODELS.build(loss)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder is not None else None
        if freeze_rough_layer:
            self.final_layer.requires_grad_(False)

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        """Official initialisation (architecture.md §6) of the head, then ``Pretrained`` init_cfg.

        ``dcn_offset_init='zero'`` zero-initialises the DCN-packs' conditioning convs instead.
        The rough layer is N(0, 0.001²) too until the COCO HRNet checkpoint is loaded into it.
        """
        fasr_init_weights(self, dcn_offset_init=self.dcn_offset_init)
        init_cfgs = self.init_cfg or []
        if isinstance(init_cfgs, dict):
            init_cfgs = [init_cfgs]
        pretrained = [c for c in init_cfgs if c.get('type') == 'Pretrained']
        if pretrained:
            initialize(self, pretrained)
        self._is_init = True

    # --------------------------------------------------------------- forward
    @staticmethod
    def _last_level(feats: FeatsType) -> Tensor:
        x = feats if isinstance(feats, Tensor) else feats[-1]
        if x.dim() != 5 or x.size(1) != NUM_FRAMES:
            raise ValueError(
                f'FaSRHead expects features [B, T={NUM_FRAMES}, C, h, w] in the frame order '
                f'[{", ".join(FRAME_ORDER)}], got {tuple(x.shape)}'
            )
        return x

    @staticmethod
    def _check_margins_passed(margins: Optional[Tensor], batch_data_samples: OptSampleList) -> None:
        """Refuse to drop the samples' margins silently: they come as the ``margins`` tensor."""
        if margins is None and batch_data_samples and 'margin' in batch_data_samples[0].metainfo:
            raise ValueError(
                'FaSRHead: the data samples carry margins but no margins tensor was passed; '
                'pass margins=batch_margins(data_samples, B) (VideoTopdownPoseEstimator does)'
            )

    def rough_heatmaps(self, features: Tensor) -> Tensor:
        """Backbone rough heatmaps ``R`` for every frame.

        Args:
            features (Tensor): ``[B, T, C, h, w]``.

        Returns:
            Tensor: ``[B, T, K, h, w]`` (no grad when ``freeze_rough_layer``).
        """
        b, t, c, h, w = features.shape
        flat = features.reshape(b * t, c, h, w)
        if self.freeze_rough_layer:
            with torch.no_grad():
                rough = self.final_layer(flat)
        else:
            rough = self.final_layer(flat)
        return rough.view(b, t, -1, h, w)

    def refine(
        self, features: Tensor, rough: Tensor, margins: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor]:
        """FRM + SRM on given backbone features and rough heatmaps.

        Args:
            features (Tensor): ``[B, 3, C, h, w]`` ([current, previous, next]).
            rough (Tensor): ``[B, 3, K, h, w]`` (only previous / next are used).
            margins (Tensor, optional): ``[B, 2]`` ``[margin_prev, margin_next]``; ``None``: the
                window's default margins.

        Returns:
            tuple[Tensor, Tensor]: ``(H^F, H^S)``, each ``[B, K, h, w]``.
        """
        if margins is None:
            margins = default_margins(features.size(0), features.device)  # [B, 2]
        feat_cur = features[:, CURRENT_INDEX]  # [B, C, h, w]
        feat_prev, feat_next = features[:, PREVIOUS_INDEX], features[:, NEXT_INDEX]
        if self.frm is not None:
            heatmaps_frm = self.frm(feat_cur, feat_prev, feat_next)  # [B, K, h, w]
        else:  # SRM only (DCPose): refine the current frame's rough heatmap
            heatmaps_frm = rough[:, CURRENT_INDEX]  # [B, K, h, w]
        if self.srm is None:  # FRM only
            return heatmaps_frm, heatmaps_frm
        heatmaps_srm = self.srm(
            heatmaps_frm, rough[:, PREVIOUS_INDEX], rough[:, NEXT_INDEX], margins
        )  # [B, K, h, w]
        return heatmaps_frm, heatmaps_srm

    def forward(self, feats: FeatsType, margins: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Forward the head.

        Args:
            feats (tuple[Tensor] | Tensor): Backbone levels, each ``[B, 3, C, h, w]``.
            margins (Tensor, optional): ``[B, 2]``; ``None``: the window's default margins.

        Returns:
            tuple[Tensor, Tensor]: ``(H^F, H^S)``, each ``[B, K, h, w]``. ``H^S`` is the tensor that
            :meth:`predict` decodes (this is also what the estimator's ``tensor`` mode returns).
        """
        features = self._last_level(feats)
        return self.refine(features, self.rough_heatmaps(features), margins)

    # --------------------------------------------------------------- predict
    def predict(
        self,
        feats: Features,
        batch_data_samples: OptSampleList,
        test_cfg: ConfigType = {},
        margins: Optional[Tensor] = None,
    ) -> Predictions:
        """Decode ``H^S`` with the codec (flip test as in mmpose's ``HeatmapHead``).

        Args:
            feats (tuple[Tensor] | list[tuple[Tensor]]): Backbone levels (``[B, 3, C, h, w]``), or
                ``[feats, feats_flipped]`` when ``test_cfg['flip_test']``.
            batch_data_samples (list[PoseDataSample]): The batch data samples.
            test_cfg (dict): ``flip_test``, ``flip_mode``, ``shift_heatmap``, ``output_heatmaps``.
            margins (Tensor, optional): ``[B, 2]`` (as in :meth:`forward`).

        Returns:
            list[InstanceData] | tuple[list[InstanceData], list[PixelData]]: Predictions, plus the
            ``H^S`` heatmaps when ``test_cfg['output_heatmaps']``.
        """
        self._check_margins_passed(margins, batch_data_samples)
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2
            flip_indices = batch_data_samples[0].metainfo['flip_indices']
            _feats, _feats_flip = feats
            _heatmaps = self.forward(_feats, margins)[1]
            _heatmaps_flip = flip_heatmaps(
                self.forward(_feats_flip, margins)[1],
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                flip_indices=flip_indices,
                shift_heatmap=test_cfg.get('shift_heatmap', False),
            )
            batch_heatmaps = (_heatmaps + _heatmaps_flip) * 0.5
        else:
            batch_heatmaps = self.forward(feats, margins)[1]

        preds = self.decode(batch_heatmaps)
        if test_cfg.get('output_heatmaps', False):
            pred_fields = [PixelData(heatmaps=hm) for hm in batch_heatmaps.detach()]
            return preds, pred_fields
        return preds

    # ------------------------------------------------------------------ loss
    def loss(
        self,
        feats: Tuple[Tensor],
        batch_data_samples: OptSampleList,
        train_cfg: ConfigType = {},
        margins: Optional[Tensor] = None,
    ) -> dict:
        """``alpha * MSE(H^F) + (1 - alpha) * MSE(H^S)`` and PCK accuracy of ``H^S``.

        Args:
            feats (tuple[Tensor]): Backbone levels, each ``[B, 3, C, h, w]``.
            batch_data_samples (list[PoseDataSample]): With ``gt_fields.heatmaps`` ``[K, h, w]`` and
                ``gt_instance_labels.keypoint_weights`` ``[1, K]``.
            train_cfg (dict): ``compute_acc`` (default ``True``).
            margins (Tensor, optional): ``[B, 2]`` (as in :meth:`forward`).

        Returns:
            dict: ``loss_kpt`` (weighted total, the only summed key), ``mse_frm`` and ``mse_srm``
            (unweighted terms, logged only) and ``acc_pose``.
        """
        self._check_margins_passed(margins, batch_data_samples)
        heatmaps_frm, heatmaps_srm = self.forward(feats, margins)
        gt_heatmaps = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat(
            [d.gt_instance_labels.keypoint_weights for d in batch_data_samples]
        )

        losses = dict()
        losses.update(self.loss_module(heatmaps_frm, heatmaps_srm, gt_heatmaps, keypoint_weights))
        if train_cfg.get('compute_acc', True):
            _, avg_acc, _ = pose_pck_accuracy(
                output=to_numpy(heatmaps_srm),
                target=to_numpy(gt_heatmaps),
                mask=to_numpy(keypoint_weights) > 0,
            )
            losses.update(acc_pose=torch.tensor(avg_acc, device=gt_heatmaps.device))
        return losses
