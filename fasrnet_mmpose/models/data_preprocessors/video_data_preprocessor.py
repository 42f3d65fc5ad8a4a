# Copyright (c) OpenMMLab. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS


@MODELS.register_module()
class VideoPoseDataPreprocessor(PoseDataPreprocessor):
    """Per-frame normalisation of multi-frame top-down inputs.

    mmpose's ``PoseDataPreprocessor`` asserts 3-D ``[3,H,W]`` samples. This one takes the
    ``[T,3,H,W]`` samples packed by ``PackPoseInputs`` from a :class:`LoadFrameWindow` pipeline
    (a list of them, or an already stacked ``[B,T,3,H,W]`` tensor), converts BGR→RGB on the channel
    dimension of every frame, normalises with ``mean``/``std`` and stacks to ``[B,T,3,H,W]``
    float. Single-frame ``[3,H,W]`` samples become ``T = 1``. Top-down crops share one input size,
    so there is no padding; ``pad_size_divisor`` must be 1.

    Args:
        mean (Sequence[float], optional): per-channel mean (after the colour conversion).
        std (Sequence[float], optional): per-channel std.
        bgr_to_rgb (bool): convert BGR→RGB. Defaults to False.
        rgb_to_bgr (bool): convert RGB→BGR. Defaults to False.
        non_blocking (bool): non-blocking device transfer. Defaults to False.
        pad_size_divisor (int): must be 1 (kept for config compatibility).
        pad_value (float | int): unused (no padding).
        batch_augments (list[dict], optional): not supported for video inputs (must be None).
    """

    def __init__(
        self,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        non_blocking: Optional[bool] = False,
        pad_size_divisor: int = 1,
        pad_value: Union[float, int] = 0,
        batch_augments: Optional[List[dict]] = None,
    ) -> None:
        if pad_size_divisor != 1:
            raise ValueError(
                'VideoPoseDataPreprocessor: top-down crops are not padded; '
                f'pad_size_divisor must be 1, got {pad_size_divisor}'
            )
        if batch_augments:
            raise ValueError(
                'VideoPoseDataPreprocessor: batch_augments are not supported for multi-frame inputs'
            )
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=1,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            non_blocking=non_blocking,
            batch_augments=None,
        )

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and stack a batch.

        Args:
            data (dict): ``inputs``: list of ``[T,3,H,W]`` (or ``[3,H,W]``) uint8/float tensors or a
                ``[B,T,3,H,W]`` tensor; ``data_samples``: list of ``PoseDataSample``.
            training (bool): unused (no batch augmentation).

        Returns:
            dict: ``inputs`` float ``[B,T,3,H,W]`` and ``data_samples`` with ``batch_input_shape``
            and ``pad_shape`` set.
        """
        data = self.cast_data(data)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            batch = inputs
        else:
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(
                    'VideoPoseDataPreprocessor: all samples of a batch must have the '
                    f'same [T,3,H,W] shape (top-down crops), got {sorted(shapes)}'
                )
            batch = torch.stack(list(inputs))
        if batch.dim() == 4:  # [B,3,H,W] single-frame samples -> T = 1
            batch = batch.unsqueeze(1)
        if batch.dim() != 5 or batch.shape[2] != 3:
            raise ValueError(
                'VideoPoseDataPreprocessor: expected [B,T,3,H,W] inputs, got shape '
                f'{tuple(batch.shape)}'
            )
        if self._channel_conversion:
            batch = batch[:, :, [2, 1, 0]]
        batch = batch.float()  # [B,T,3,H,W]
        if self._enable_normalize:
            batch = (batch - self.mean.view(1, 1, 3, 1, 1)) / self.std.view(1, 1, 3, 1, 1)
        if data_samples is not None:
            shape = tuple(batch.shape[-2:])
            for data_sample in data_samples:
                data_sample.set_metainfo({'batch_input_shape': shape, 'pad_shape': shape})
        return {'inputs': batch, 'data_samples': data_samples}
