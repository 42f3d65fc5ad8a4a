# Copyright (c) OpenMMLab. All rights reserved.
"""``track_video``: track the poses of a whole video (offline)."""

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .pose_tracker import PoseTracker

#: one frame: (keypoints [N, K, 2], keypoint_scores [N, K], bboxes [N, 4] xyxy or None)
Frame = Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]


def track_video(frames: Sequence[Frame], sigmas: np.ndarray, **options: Any) -> List[np.ndarray]:
    """Give every pose of a video a track id.

    The frames are tracked in order by one :class:`PoseTracker` (the same causal pass as
    online tracking, so online and offline ids agree); see ``docs/tracking.md``.

    Args:
        frames (Sequence[Frame]): Per frame ``(keypoints, keypoint_scores, bboxes)`` with
            shapes ``[N_f, K, 2]``, ``[N_f, K]`` and ``[N_f, 4]`` (or None: boxes around the
            keypoints). Frames without poses (``N_f == 0``) count as frames for ``max_age``.
        sigmas (np.ndarray): ``(K,)`` OKS sigmas of the dataset.
        **options: Further :class:`PoseTracker` arguments (``max_age``, ``oks_weight``, ...).

    Returns:
        List[np.ndarray]: Per frame, ``[N_f]`` int64 track ids.
    """
    tracker = PoseTracker(sigmas=sigmas, **options)
    out = []
    for f, frame in enumerate(frames):
        if not isinstance(frame, (tuple, list)) or len(frame) not in (2, 3):
            raise ValueError(
                f'track_video: frames[{f}] must be a tuple (keypoints, keypoint_scores, bboxes)'
            )
        bboxes = frame[2] if len(frame) == 3 else None
        try:
            out.append(tracker.update(frame[0], frame[1], bboxes))
        except ValueError as e:
            raise ValueError(f'track_video: frames[{f}]: {e}') from None
    return out
