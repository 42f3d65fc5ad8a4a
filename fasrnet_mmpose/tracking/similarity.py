# Copyright (c) OpenMMLab. All rights reserved.
"""Pairwise similarities between poses, used to associate detections with tracks.

All functions are vectorised over both sets (no per-pair or per-joint Python loops).
"""

from typing import Optional

import numpy as np


def box_area(bboxes: np.ndarray) -> np.ndarray:
    """Areas of ``xyxy`` boxes (0 for degenerate boxes).

    Args:
        bboxes (np.ndarray): ``(N, 4)`` boxes ``x1, y1, x2, y2``.

    Returns:
        np.ndarray: ``(N,)`` float64 areas.
    """
    bboxes = np.asarray(bboxes, np.float64).reshape(-1, 4)
    w = np.clip(bboxes[:, 2] - bboxes[:, 0], 0, None)
    h = np.clip(bboxes[:, 3] - bboxes[:, 1], 0, None)
    return w * h


def box_iou(bboxes1: np.ndarray, bboxes2: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair of ``xyxy`` boxes.

    Args:
        bboxes1 (np.ndarray): ``(N, 4)`` boxes.
        bboxes2 (np.ndarray): ``(M, 4)`` boxes.

    Returns:
        np.ndarray: ``(N, M)`` float64 IoU in ``[0, 1]`` (0 where the union is empty).
    """
    a = np.asarray(bboxes1, np.float64).reshape(-1, 4)
    b = np.asarray(bboxes2, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def keypoints_to_bboxes(
    keypoints: np.ndarray, visible: Optional[np.ndarray] = None, padding: float = 0.0
) -> np.ndarray:
    """Tight ``xyxy`` boxes around the visible keypoints of each pose.

    Args:
        keypoints (np.ndarray): ``(N, K, 2)`` coordinates.
        visible (np.ndarray, optional): ``(N, K)`` bool; all keypoints when None.
        padding (float): Relative padding on each side (0.1 = 10 % of the width/height).
            Defaults to 0.

    Returns:
        np.ndarray: ``(N, 4)`` float64 boxes; all zeros for a pose without visible joints.
    """
    kpts = np.asarray(keypoints, np.float64)
    if visible is None:
        visible = np.ones(kpts.shape[:2], bool)
    visible = np.asarray(visible, bool)
    any_vis = visible.any(axis=1)
    lo = np.where(visible[..., None], kpts, np.inf).min(axis=1)  # (N, 2)
    hi = np.where(visible[..., None], kpts, -np.inf).max(axis=1)
    lo[~any_vis] = 0.0
    hi[~any_vis] = 0.0
    pad = (hi - lo) * padding
    return np.concatenate([lo - pad, hi + pad], axis=1)


def oks_similarity(
    keypoints1: np.ndarray,
    visible1: np.ndarray,
    keypoints2: np.ndarray,
    visible2: np.ndarray,
    areas2: np.ndarray,
    sigmas: np.ndarray,
) -> np.ndarray:
    """Object keypoint similarity (COCO's OKS) of every pose pair.

    ``OKS = mean_k exp(-d_k^2 / (2 * area * (2 * sigma_k)^2))`` over the joints visible
    in both poses, with the scale ``area`` of the second set (the tracks): this is mmpose's
    ``oks_iou`` formula, evaluated for all pairs at once. Pairs without a common visible
    joint get 0.

    Args:
        keypoints1 (np.ndarray): ``(N, K, 2)`` poses (detections).
        visible1 (np.ndarray): ``(N, K)`` bool.
        keypoints2 (np.ndarray): ``(M, K, 2)`` poses (tracks).
        visible2 (np.ndarray): ``(M, K)`` bool.
        areas2 (np.ndarray): ``(M,)`` object areas (pixels^2) of the second set.
        sigmas (np.ndarray): ``(K,)`` per-keypoint OKS sigmas of the dataset.

    Returns:
        np.ndarray: ``(N, M)`` float64 OKS in ``[0, 1]``.
    """
    k1 = np.asarray(keypoints1, np.float64)
    k2 = np.asarray(keypoints2, np.float64)
    d2 = np.sum((k1[:, None] - k2[None]) ** 2, axis=-1)  # (N, M, K)
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2  # (K,)
    area = np.maximum(np.asarray(areas2, np.float64), np.finfo(np.float64).eps)
    e = d2 / (2.0 * area[None, :, None] * var[None, None, :])
    both = np.asarray(visible1, bool)[:, None] & np.asarray(visible2, bool)[None]
    n = both.sum(axis=-1)
    total = np.where(both, np.exp(-e), 0.0).sum(axis=-1)
    return np.where(n > 0, total / np.maximum(n, 1), 0.0)
