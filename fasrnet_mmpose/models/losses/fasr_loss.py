# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet double heatmap loss (architecture.md §5)."""

from typing import Dict, Optional

from mmpose.models.losses import KeypointMSELoss
from mmpose.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class FaSRLoss(nn.Module):
    """``alpha * MSE(H^F) + (1 - alpha) * MSE(H^S)`` with per-joint target weights.

    Each term is mmpose's :class:`KeypointMSELoss` (``use_target_weight=True`` equals the official
    ``JointMSELoss``: per-joint weighted MSE, mean over batch, joints and pixels, no 0.5 factor, for
    0/1 weights).

    The returned dict holds the weighted total under ``loss_name`` (the only key containing
    ``'loss'``, so mmengine's ``parse_losses`` sums it exactly once) and the two *unweighted* terms
    under ``'mse_frm'`` / ``'mse_srm'`` (detached; logged, not summed).

    Args:
        alpha (float): Weight of the FRM term. 0.4 in the official PoseTrack17 config (its
            PoseTrack18 config falls back to 0.5). Defaults to 0.4.
        use_target_weight (bool): Weight joints by their target weights. Defaults to ``True``.
        skip_empty_channel (bool): See :class:`KeypointMSELoss`. Defaults to ``False``.
        loss_weight (float): Multiplies the total. Defaults to 1.0.
        loss_name (str): Key of the total in the returned dict. Must contain ``'loss'``.
            Defaults to ``'loss_kpt'``.
    """

    def __init__(
        self,
        alpha: float = 0.4,
        use_target_weight: bool = True,
        skip_empty_channel: bool = False,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_kpt',
    ) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if 'loss' not in loss_name:
            raise ValueError(f'loss_name must contain "loss", got {loss_name!r}')
        self.alpha = float(alpha)
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name
        self.mse = KeypointMSELoss(
            use_target_weight=use_target_weight, skip_empty_channel=skip_empty_channel
        )

    def forward(
        self,
        heatmaps_frm: Tensor,
        heatmaps_srm: Tensor,
        target: Tensor,
        target_weights: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
    ) -> Dict[str, Tensor]:
        """Compute the loss.

        Args:
            heatmaps_frm (Tensor): ``H^F`` ``[B, K, H, W]``.
            heatmaps_srm (Tensor): ``H^S`` ``[B, K, H, W]``.
            target (Tensor): Target heatmaps ``[B, K, H, W]``.
            target_weights (Tensor, optional): ``[B, K]`` (or ``[B, K, H, W]``).
            mask (Tensor, optional): Valid-pixel mask, see :class:`KeypointMSELoss`.

        Returns:
            dict[str, Tensor]: ``{loss_name: total, 'mse_frm': ..., 'mse_srm': ...}``.
        """
        mse_frm = self.mse(heatmaps_frm, target, target_weights, mask)
        mse_srm = self.mse(heatmaps_srm, target, target_weights, mask)
        total = (self.alpha * mse_frm + (1.0 - self.alpha) * mse_srm) * self.loss_weight
        return {
            self.loss_name: total,
            'mse_frm': mse_frm.detach(),
            'mse_srm': mse_srm.detach(),
        }
