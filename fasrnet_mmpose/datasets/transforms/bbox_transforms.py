# Copyright (c) OpenMMLab. All rights reserved.
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ClippedNormalBBoxTransform(BaseTransform):
    """The official FaSRnet/DCPose/HRNet scale and rotation augmentation (clipped normals).

    Per box: ``scale *= clip(1 + scale_sigma * N(0,1), *scale_range)`` and, with probability
    ``rotate_prob``, ``rotation = clip(rotate_sigma * N(0,1), *rotate_range)`` degrees (else 0).
    Unlike mmpose's ``RandomBBoxTransform`` (truncated normals, redrawn inside the bounds), a
    clipped normal puts probability mass exactly on the bounds (about 32 % of the scales with the
    official values). No centre shift. Since the estimator crops every frame with the centre box,
    all frames of a window share the same augmentation.

    Required Keys:
        - bbox_scale

    Modified Keys:
        - bbox_scale

    Added Keys:
        - bbox_rotation

    Args:
        scale_sigma (float): std of the scale factor around 1. Defaults to 0.35.
        scale_range (tuple[float, float]): clip range of the scale factor. Defaults to (0.65, 1.35).
        rotate_sigma (float): std of the rotation in degrees. Defaults to 45.
        rotate_range (tuple[float, float]): clip range of the rotation. Defaults to (-90, 90).
        rotate_prob (float): probability to rotate. Defaults to 0.6.
    """

    def __init__(
        self,
        scale_sigma: float = 0.35,
        scale_range: Tuple[float, float] = (0.65, 1.35),
        rotate_sigma: float = 45.0,
        rotate_range: Tuple[float, float] = (-90.0, 90.0),
        rotate_prob: float = 0.6,
    ) -> None:
        self.scale_sigma = scale_sigma
        self.scale_range = tuple(scale_range)
        self.rotate_sigma = rotate_sigma
        self.rotate_range = tuple(rotate_range)
        self.rotate_prob = rotate_prob

    def transform(self, results: dict) -> dict:
        """Scale ``bbox_scale`` and set ``bbox_rotation`` (one draw per box)."""
        num = results['bbox_scale'].shape[0]
        scale = np.clip(1 + self.scale_sigma * np.random.randn(num, 1), *self.scale_range)
        rotate = np.clip(self.rotate_sigma * np.random.randn(num), *self.rotate_range)
        rotate = np.where(np.random.rand(num) < self.rotate_prob, rotate, 0.0)
        results['bbox_scale'] = (results['bbox_scale'] * scale).astype(np.float32)
        results['bbox_rotation'] = rotate.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(scale_sigma={self.scale_sigma}, '
            f'scale_range={self.scale_range}, rotate_sigma={self.rotate_sigma}, '
            f'rotate_range={self.rotate_range}, rotate_prob={self.rotate_prob})'
        )
