# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``PoseLocalVisualizer`` made to work with numpy >= 2.4."""

from typing import Union

import numpy as np
from mmpose.registry import VISUALIZERS
from mmpose.visualization import PoseLocalVisualizer


@VISUALIZERS.register_module()
class FaSRPoseLocalVisualizer(PoseLocalVisualizer):
    """``PoseLocalVisualizer`` whose OpenCV backend accepts a one-element radius array.

    mmpose 1.3.2 draws keypoints with ``radius=np.array([r])`` and its OpenCV backend calls
    ``int(radius)``: numpy >= 2.4 refuses to convert an array with ``ndim > 0`` to a scalar
    (``TypeError: only 0-dimensional arrays can be converted to Python scalars``), so every
    keypoint drawing fails there. This class passes the radius on as a scalar; everything else
    is mmpose's (same arguments, same output).
    """

    def draw_circles(
        self,
        center: np.ndarray,
        radius: Union[int, float, np.ndarray],
        face_colors: Union[str, tuple, list] = 'none',
        alpha: float = 1.0,
        **kwargs,
    ) -> 'FaSRPoseLocalVisualizer':
        if self.backend == 'opencv' and np.size(radius) == 1:
            radius = np.asarray(radius).reshape(()).item()
        return super().draw_circles(center, radius, face_colors=face_colors, alpha=alpha, **kwargs)
