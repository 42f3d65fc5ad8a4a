# Copyright (c) OpenMMLab. All rights reserved.
"""OpenCV's HOG + linear SVM people detector as a drop-in for mmdet's
``DetInferencer`` (no download, no mmdet model)."""

from typing import Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.structures import BaseDataElement, InstanceData
from mmpose.structures.bbox import bbox_clip_border

__all__ = ['HOGPersonDetector', 'HOG_DETECTOR_NAMES']

#: ``det_model`` values that select this detector
HOG_DETECTOR_NAMES = ('hog', 'opencv-hog', 'opencv_hog')


class HOGPersonDetector:
    """OpenCV's HOG people detector (``cv2.HOGDescriptor_getDefaultPeopleDetector``).

    Ships inside OpenCV (offline); finds upright people about 100 px tall or
    taller, much weaker than a CNN detector (docs/inference.md). Called like
    mmdet's ``DetInferencer``, so it plugs into mmpose's ``Pose2DInferencer``
    (``inferencer.detector = HOGPersonDetector(); inferencer.det_cat_ids =
    (0, )``) and :class:`FaSRnetInferencer` (``det_model='hog'``).

    Args:
        upscale (float, optional): Resize factor applied before detection.
            ``None`` (default) = ``max(1, min_long_side / long side)``, so
            small frames are enlarged and people in them become detectable.
        min_long_side (int): See ``upscale``. Defaults to 768.
        win_stride (int): Sliding-window stride in pixels. Defaults to 8.
        padding (int): Window padding in pixels. Defaults to 8.
        scale (float): Image-pyramid step. Defaults to 1.05.
        hit_threshold (float): SVM margin threshold. Defaults to 0.
        shrink (Sequence[float]): Fraction of the box width/height removed
            on each side: the 64x128 HOG window has a margin around the
            person. Defaults to ``(0.15, 0.05)``.

    Scores are ``1 - exp(-m)`` of the SVM margin ``m`` (0 at the decision
    boundary, ~0.63 at ``m = 1``, ~0.95 at ``m = 3``).
    """

    def __init__(
        self,
        upscale: Optional[float] = None,
        min_long_side: int = 768,
        win_stride: int = 8,
        padding: int = 8,
        scale: float = 1.05,
        hit_threshold: float = 0.0,
        shrink: Sequence[float] = (0.15, 0.05),
    ) -> None:
        if upscale is not None and upscale <= 0:
            raise ValueError(f'upscale must be > 0, got {upscale}')
        self.upscale = upscale
        self.min_long_side = min_long_side
        self.win_stride = (win_stride, win_stride)
        self.padding = (padding, padding)
        self.scale = scale
        self.hit_threshold = hit_threshold
        self.shrink = tuple(float(s) for s in shrink)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, img: np.ndarray) -> np.ndarray:
        """Detect people in one BGR image.

        Args:
            img (np.ndarray): ``H x W x 3`` BGR image.

        Returns:
            np.ndarray: ``(N, 5)`` float32 rows ``[x1, y1, x2, y2, score]``
            in image coordinates.
        """
        h, w = img.shape[:2]
        factor = self.upscale
        if factor is None:
            factor = max(1.0, self.min_long_side / max(h, w))
        work = img if factor == 1.0 else cv2.resize(img, (round(w * factor), round(h * factor)))
        win_w, win_h = self._hog.winSize
        if work.shape[0] < win_h or work.shape[1] < win_w:
            # smaller than one detection window: nobody fits (and OpenCV may crash on it)
            return np.zeros((0, 5), np.float32)
        rects, weights = self._hog.detectMultiScale(
            work,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=self.padding,
            scale=self.scale,
        )
        if len(rects) == 0:
            return np.zeros((0, 5), np.float32)
        rects = np.asarray(rects, np.float32).reshape(-1, 4) / factor
        margins = np.asarray(weights, np.float32).reshape(-1)
        x, y, bw, bh = rects.T
        sx, sy = self.shrink
        boxes = np.stack(
            [
                x + sx * bw,
                y + sy * bh,
                x + (1 - sx) * bw,
                y + (1 - sy) * bh,
                1.0 - np.exp(-np.maximum(margins, 0.0)),
            ],
            axis=1,
        )
        boxes[:, :4] = bbox_clip_border(boxes[:, :4], (w, h))
        return boxes.astype(np.float32)

    def __call__(self, inputs: Union[np.ndarray, str], **kwargs) -> dict:
        """``DetInferencer``-like call on one BGR image or image path (``kwargs`` ignored).

        Returns:
            dict: ``predictions``: one data sample with ``pred_instances``
            (``bboxes`` (N, 4) xyxy, ``scores`` (N,), ``labels`` (N,) = 0).
        """
        img = cv2.imread(inputs, cv2.IMREAD_COLOR) if isinstance(inputs, str) else inputs
        if img is None:
            raise ValueError(f'HOGPersonDetector: cannot read image {inputs}')
        boxes = self.detect(img)
        instances = InstanceData(
            bboxes=boxes[:, :4], scores=boxes[:, 4], labels=np.zeros(len(boxes), np.int64)
        )
        return dict(predictions=[BaseDataElement(pred_instances=instances)])
