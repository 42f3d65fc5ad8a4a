# Copyright (c) OpenMMLab. All rights reserved.
"""``PoseTracker``: online (causal) multi-person pose tracking by pose and box similarity.

Each call to :meth:`PoseTracker.update` associates the poses of one frame with the live
tracks: similarity = weighted mean of OKS (dataset sigmas, scale = the track's box area)
and box IoU, against each track's pose moved by its estimated velocity; the Hungarian
algorithm (``scipy.optimize.linear_sum_assignment``) picks the assignment with the highest
total similarity among pairs above ``min_similarity``. Unmatched tracks stay alive for
``max_age`` frames (gap handling: a person missed by the detector, occluded or dropped
keeps its id when it comes back); unmatched poses start new tracks. See
``docs/tracking.md``.
"""

from typing import Optional, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from .similarity import box_area, box_iou, keypoints_to_bboxes, oks_similarity


def _as_frame(
    keypoints: np.ndarray,
    keypoint_scores: np.ndarray,
    bboxes: Optional[np.ndarray],
    num_keypoints: int,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert one frame's inputs to float64 arrays.

    Returns:
        tuple: ``keypoints (N, K, 2)``, ``scores (N, K)``, ``bboxes (N, 4)``.
    """
    kpts = np.asarray(keypoints, np.float64)
    if kpts.size == 0:
        kpts = kpts.reshape(0, num_keypoints, 2)
    if kpts.ndim != 3 or kpts.shape[1:] != (num_keypoints, 2):
        raise ValueError(
            f'PoseTracker.update: keypoints must have shape [N, {num_keypoints}, 2] '
            f'(one entry per sigma), got {list(kpts.shape)}'
        )
    n = len(kpts)
    scores = np.asarray(keypoint_scores, np.float64)
    if scores.size == 0 and n == 0:
        scores = scores.reshape(0, num_keypoints)
    if scores.shape != (n, num_keypoints):
        raise ValueError(
            f'PoseTracker.update: keypoint_scores must have shape [{n}, {num_keypoints}], '
            f'got {list(scores.shape)}'
        )
    if bboxes is None:
        boxes = np.zeros((n, 4), np.float64)
    else:
        boxes = np.asarray(bboxes, np.float64)
        if boxes.size == 0 and n == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.shape != (n, 4):
            raise ValueError(
                f'PoseTracker.update: bboxes must have shape [{n}, 4] (x1, y1, x2, y2), '
                f'got {list(boxes.shape)}'
            )
    for name, arr in (('keypoints', kpts), ('keypoint_scores', scores), ('bboxes', boxes)):
        if not np.isfinite(arr).all():
            raise ValueError(f'PoseTracker.update: {name} contain NaN/inf')
    return kpts, scores, boxes


class PoseTracker:
    """Online multi-person pose tracker (OKS + box IoU, Hungarian, gap handling).

    Args:
        sigmas (np.ndarray): ``(K,)`` per-keypoint OKS sigmas of the dataset (e.g. the
            ``sigmas`` of the model's ``dataset_meta``); K fixes the number of keypoints.
        oks_weight (float): Weight of the OKS in the similarity. Defaults to 1.0.
        iou_weight (float): Weight of the box IoU in the similarity. Defaults to 0.5.
            Similarity = ``(oks_weight * OKS + iou_weight * IoU) / (oks_weight +
            iou_weight)``, in ``[0, 1]``.
        max_age (int): Number of consecutive frames a track survives without a match
            (0: a track must be matched in every frame). Defaults to 10.
        min_similarity (float): Pairs with a lower similarity are never matched (the
            pose starts a new track). Defaults to 0.1.
        kpt_thr (float): Keypoints with a score above this take part in the OKS.
            Defaults to 0.3.
        motion (bool): Predict each track's position with a constant-velocity model
            (the velocity of its box centre, smoothed) before matching. Defaults to True.
        velocity_momentum (float): Weight of the previous velocity in the smoothed
            velocity (0: last displacement only). Defaults to 0.5.
        age_decay (float): Similarity factor per missed frame of a track, so that on a
            tie the track seen most recently wins. Defaults to 0.98.
    """

    def __init__(
        self,
        sigmas: np.ndarray,
        oks_weight: float = 1.0,
        iou_weight: float = 0.5,
        max_age: int = 10,
        min_similarity: float = 0.1,
        kpt_thr: float = 0.3,
        motion: bool = True,
        velocity_momentum: float = 0.5,
        age_decay: float = 0.98,
    ) -> None:
        sigmas = np.asarray(sigmas, np.float64).reshape(-1)
        if sigmas.size == 0 or not np.isfinite(sigmas).all() or (sigmas <= 0).any():
            raise ValueError('PoseTracker: sigmas must be a non-empty array of positive numbers')
        if oks_weight < 0 or iou_weight < 0 or oks_weight + iou_weight <= 0:
            raise ValueError('PoseTracker: oks_weight and iou_weight must be >= 0, not both 0')
        if int(max_age) != max_age or max_age < 0:
            raise ValueError(f'PoseTracker: max_age must be an integer >= 0, got {max_age!r}')
        if not 0 <= velocity_momentum < 1:
            raise ValueError('PoseTracker: velocity_momentum must be in [0, 1)')
        if not 0 < age_decay <= 1:
            raise ValueError('PoseTracker: age_decay must be in (0, 1]')
        self.sigmas = sigmas
        self.num_keypoints = sigmas.size
        self.oks_weight = float(oks_weight)
        self.iou_weight = float(iou_weight)
        self.max_age = int(max_age)
        self.min_similarity = float(min_similarity)
        self.kpt_thr = float(kpt_thr)
        self.motion = bool(motion)
        self.velocity_momentum = float(velocity_momentum)
        self.age_decay = float(age_decay)
        self.reset()

    # ----------------------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget all tracks; ids start again from 0."""
        k = self.num_keypoints
        self._ids = np.zeros(0, np.int64)  # (T,)
        self._kpts = np.zeros((0, k, 2), np.float64)  # (T, K, 2) last matched pose
        self._visible = np.zeros((0, k), bool)  # (T, K)
        self._boxes = np.zeros((0, 4), np.float64)  # (T, 4) last matched box
        self._velocity = np.zeros((0, 2), np.float64)  # (T, 2) box centre px / frame
        self._age = np.zeros(0, np.int64)  # (T,) frames since the last match
        self._next_id = 0

    @property
    def num_tracks(self) -> int:
        """int: Number of live tracks (matched or within ``max_age``)."""
        return len(self._ids)

    # ---------------------------------------------------------------------------- update
    def similarity(
        self, keypoints: np.ndarray, visible: np.ndarray, bboxes: np.ndarray
    ) -> np.ndarray:
        """Similarity of each pose of a frame to each live track.

        Args:
            keypoints (np.ndarray): ``(N, K, 2)`` poses.
            visible (np.ndarray): ``(N, K)`` bool, keypoints above ``kpt_thr``.
            bboxes (np.ndarray): ``(N, 4)`` boxes.

        Returns:
            np.ndarray: ``(N, T)`` similarity in ``[0, 1]`` (age decay applied).
        """
        elapsed = (self._age + 1).astype(np.float64)  # (T,)
        shift = self._velocity * elapsed[:, None] if self.motion else 0.0 * self._velocity
        track_kpts = self._kpts + shift[:, None, :]
        track_boxes = self._boxes + np.tile(shift, 2)
        oks = oks_similarity(
            keypoints, visible, track_kpts, self._visible, box_area(track_boxes), self.sigmas
        )
        iou = box_iou(bboxes, track_boxes)
        sim = (self.oks_weight * oks + self.iou_weight * iou) / (self.oks_weight + self.iou_weight)
        return sim * (self.age_decay ** self._age.astype(np.float64))[None, :]

    def update(
        self,
        keypoints: np.ndarray,
        keypoint_scores: np.ndarray,
        bboxes: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """Associate the poses of the next frame with the tracks and return their ids.

        Args:
            keypoints (np.ndarray): ``(N, K, 2)`` keypoint coordinates (image pixels).
            keypoint_scores (np.ndarray): ``(N, K)`` keypoint scores.
            bboxes (np.ndarray, optional): ``(N, 4)`` person boxes ``x1, y1, x2, y2``;
                None: the boxes around the keypoints above ``kpt_thr``. A box without area
                is replaced by that keypoint box as well.

        Returns:
            np.ndarray: ``(N,)`` int64 track ids (>= 0, unique within the frame, stable
            across frames). ``N == 0`` is allowed (every track ages by one frame).
        """
        kpts, scores, boxes = _as_frame(keypoints, keypoint_scores, bboxes, self.num_keypoints)
        n = len(kpts)
        visible = scores > self.kpt_thr
        # boxes without area (not given, degenerate) -> tight box around the keypoints
        no_area = box_area(boxes) <= 0
        if no_area.any():
            boxes[no_area] = keypoints_to_bboxes(kpts[no_area], visible[no_area])

        det_idx = np.zeros(0, np.int64)
        trk_idx = np.zeros(0, np.int64)
        if n and self.num_tracks:
            sim = self.similarity(kpts, visible, boxes)  # (N, T)
            allowed = sim >= self.min_similarity
            if allowed.any():
                cost = np.where(allowed, -sim, 1.0)  # any allowed pair beats a forbidden one
                rows, cols = linear_sum_assignment(cost)
                keep = allowed[rows, cols]
                det_idx, trk_idx = rows[keep], cols[keep]

        ids = np.empty(n, np.int64)
        ids[det_idx] = self._ids[trk_idx]

        # update matched tracks
        if len(trk_idx):
            old_c = (self._boxes[trk_idx, :2] + self._boxes[trk_idx, 2:]) / 2
            new_c = (boxes[det_idx, :2] + boxes[det_idx, 2:]) / 2
            step = (new_c - old_c) / (self._age[trk_idx] + 1)[:, None]
            m = self.velocity_momentum
            self._velocity[trk_idx] = m * self._velocity[trk_idx] + (1 - m) * step
            self._kpts[trk_idx] = kpts[det_idx]
            self._visible[trk_idx] = visible[det_idx]
            self._boxes[trk_idx] = boxes[det_idx]
        matched = np.zeros(self.num_tracks, bool)
        matched[trk_idx] = True
        self._age = np.where(matched, 0, self._age + 1)

        # drop tracks unmatched for more than max_age frames
        alive = self._age <= self.max_age
        if not alive.all():
            self._ids = self._ids[alive]
            self._kpts = self._kpts[alive]
            self._visible = self._visible[alive]
            self._boxes = self._boxes[alive]
            self._velocity = self._velocity[alive]
            self._age = self._age[alive]

        # unmatched poses start new tracks
        new = np.ones(n, bool)
        new[det_idx] = False
        num_new = int(new.sum())
        if num_new:
            new_ids = np.arange(self._next_id, self._next_id + num_new, dtype=np.int64)
            self._next_id += num_new
            ids[new] = new_ids
            self._ids = np.concatenate([self._ids, new_ids])
            self._kpts = np.concatenate([self._kpts, kpts[new]])
            self._visible = np.concatenate([self._visible, visible[new]])
            self._boxes = np.concatenate([self._boxes, boxes[new]])
            self._velocity = np.concatenate([self._velocity, np.zeros((num_new, 2))])
            self._age = np.concatenate([self._age, np.zeros(num_new, np.int64)])
        return ids
