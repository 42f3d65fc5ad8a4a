# Copyright (c) OpenMMLab. All rights reserved.
"""Multi-person pose tracking: stable ``track_id``s across the frames of a video.

Pure numpy/scipy (no torch): ``PoseTracker`` (online, one frame per ``update``) and
``track_video`` (a whole video). See ``docs/tracking.md``.
"""

from .pose_tracker import PoseTracker
from .similarity import box_area, box_iou, keypoints_to_bboxes, oks_similarity
from .track_video import track_video

__all__ = [
    'PoseTracker',
    'box_area',
    'box_iou',
    'keypoints_to_bboxes',
    'oks_similarity',
    'track_video',
]
