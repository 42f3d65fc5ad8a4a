# Copyright (c) OpenMMLab. All rights reserved.
import inspect
from contextlib import nullcontext
from typing import Optional, Tuple, Union

import torch
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import (
    ConfigType,
    ForwardResults,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ...structures.temporal_window import NUM_FRAMES, batch_margins

BACKBONE_BN_MODES = ('train_mode', 'eval')


@MODELS.register_module()
class VideoTopdownPoseEstimator(TopdownPoseEstimator):
    """Top-down pose estimator over a temporal window of person crops.

    Inputs are ``[B, T, 3, H, W]`` in the temporal window's order ``[current, previous, next]``
    (:mod:`fasrnet_mmpose.structures.temporal_window`). The backbone runs **once** on the ``B*T``
    crops; every feature level is handed to the head as ``[B, T, C, h, w]``. A head whose
    ``forward``/``loss``/``predict`` take ``margins`` (:class:`FaSRHead`) gets the ``[B, T-1]``
    margins tensor, built once per batch from the samples' ``metainfo['margin']`` (the default
    margins without samples), in all three modes alike: ``tensor`` mode equals ``predict``.
    Everything else (predict with flip test — ``inputs.flip(-1)`` flips every frame —,
    ``add_pred_to_datasample``) is mmpose's :class:`TopdownPoseEstimator`, and state-dict keys
    stay ``backbone.*`` / ``head.*`` so mmpose HRNet checkpoints load unchanged.

    Args:
        backbone, neck, head, train_cfg, test_cfg, data_preprocessor, init_cfg, metainfo: as in
            :class:`mmpose.models.TopdownPoseEstimator`.
        freeze_backbone (bool): set ``requires_grad=False`` on the backbone (and neck) and run it
            under ``torch.no_grad()``, so it receives no gradient and stores no activations for
            backward (official FaSRnet). Defaults to False.
        backbone_bn (str): BatchNorm behaviour of the backbone during training.
            ``'train_mode'`` (official FaSRnet): the backbone follows ``model.train()``, so its BN
            normalises with the statistics of the ``B*T`` crops and keeps updating its running
            stats even when frozen. ``'eval'`` (fixed): backbone BN layers always use (and keep)
            their running statistics. Defaults to ``'train_mode'``. See
            ``docs/official_vs_fixed.md``.
    """

    def __init__(
        self,
        backbone: ConfigType,
        neck: OptConfigType = None,
        head: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        data_preprocessor: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
        metainfo: Optional[dict] = None,
        freeze_backbone: bool = False,
        backbone_bn: str = 'train_mode',
    ) -> None:
        if backbone_bn not in BACKBONE_BN_MODES:
            raise ValueError(
                f'VideoTopdownPoseEstimator: backbone_bn must be one of '
                f'{BACKBONE_BN_MODES}, got {backbone_bn!r}'
            )
        # TopdownPoseEstimator's own parameters, in its order
        super().__init__(
            backbone, neck, head, train_cfg, test_cfg, data_preprocessor, init_cfg, metainfo
        )
        self.freeze_backbone = freeze_backbone
        self.backbone_bn = backbone_bn
        self._head_takes_margins = self.with_head and (
            'margins' in inspect.signature(self.head.forward).parameters
        )
        if freeze_backbone:
            for module in self._feature_modules():
                for param in module.parameters():
                    param.requires_grad = False

    def _feature_modules(self):
        """Modules that produce the features handed to the head (backbone, neck)."""
        return [self.backbone] + ([self.neck] if self.with_neck else [])

    def train(self, mode: bool = True) -> 'VideoTopdownPoseEstimator':
        """Switch train/eval mode, keeping backbone BN in eval when ``backbone_bn='eval'``."""
        super().train(mode)
        if mode and self.backbone_bn == 'eval':
            for module in self._feature_modules():
                for m in module.modules():
                    if isinstance(m, _BatchNorm):
                        m.eval()
        return self

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor]:
        """Run the backbone (+neck) once on all frames.

        Args:
            inputs (Tensor): ``[B, T, 3, H, W]``, or a single frame ``[B, 3, H, W]`` that is
                repeated over the window (``[t, t, t]``): mmpose's ``get_flops.py`` calls
                ``_forward`` on one image, and ``LoadFrameWindow`` repeats a single image the same
                way for mmpose's stock inferencer, so the whole 3-frame model runs.

        Returns:
            tuple[Tensor]: each feature level as ``[B, T, C, h, w]``.
        """
        if inputs.dim() == 4:  # [B,3,H,W] -> [B,T,3,H,W], the same frame T times
            inputs = inputs.unsqueeze(1).expand(-1, NUM_FRAMES, -1, -1, -1)
        if inputs.dim() != 5:
            raise ValueError(
                'VideoTopdownPoseEstimator expects [B,T,3,H,W] (or single-frame [B,3,H,W]) '
                'inputs, got shape '
                f'{tuple(inputs.shape)}'
            )
        B, T = inputs.shape[:2]
        ctx = torch.no_grad() if self.freeze_backbone else nullcontext()
        with ctx:
            x = self.backbone(inputs.flatten(0, 1))  # [B*T,3,H,W] -> levels of [B*T,C,h,w]
            if self.with_neck:
                x = self.neck(x)
        if isinstance(x, Tensor):
            x = (x,)
        return tuple(f.reshape(B, T, *f.shape[1:]) for f in x)  # levels of [B,T,C,h,w]

    # ------------------------------------------------------------------ margins path
    def _margin_kwargs(self, inputs: Tensor, data_samples: OptSampleList) -> dict:
        """``dict(margins=[B, T-1] tensor)`` for a head that takes margins, else ``{}``."""
        if not self._head_takes_margins:
            return {}
        return dict(margins=batch_margins(data_samples, inputs.size(0), inputs.device))

    def forward(
        self,
        inputs: Union[Tensor, list],
        data_samples: OptSampleList = None,
        mode: str = 'tensor',
    ) -> ForwardResults:
        """mmpose's forward; ``tensor`` mode also hands the samples' margins to the head."""
        if mode == 'tensor':
            if isinstance(inputs, list):
                inputs = torch.stack(inputs)
            return self._forward(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        """Head output (for :class:`FaSRHead`: ``(H^F, H^S)``), with the samples' margins."""
        x = self.extract_feat(inputs)
        if self.with_head:
            x = self.head.forward(x, **self._margin_kwargs(inputs, data_samples))
        return x

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch (mmpose's, with the margins tensor)."""
        feats = self.extract_feat(inputs)
        margins = self._margin_kwargs(inputs, data_samples)
        return self.head.loss(feats, data_samples, train_cfg=self.train_cfg, **margins)

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Predictions (mmpose's ``TopdownPoseEstimator.predict``, with the margins tensor)."""
        assert self.with_head, 'The model must have head to perform prediction.'
        if self.test_cfg.get('flip_test', False):
            feats = [self.extract_feat(inputs), self.extract_feat(inputs.flip(-1))]
        else:
            feats = self.extract_feat(inputs)
        margins = self._margin_kwargs(inputs, data_samples)
        preds = self.head.predict(feats, data_samples, test_cfg=self.test_cfg, **margins)
        if isinstance(preds, tuple):
            batch_pred_instances, batch_pred_fields = preds
        else:
            batch_pred_instances, batch_pred_fields = preds, None
        return self.add_pred_to_datasample(batch_pred_instances, batch_pred_fields, data_samples)
