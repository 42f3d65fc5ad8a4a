# Copyright (c) OpenMMLab. All rights reserved.
"""The official PoseTrack evaluation (poseval's protocol) in numpy, without poseval; the modules
are listed in ``docs/evaluation.md``. numpy + orjson only: ``tools/eval_posetrack.py`` loads this
package without torch/mmpose."""

from .posetrack_data import (
    MIN_SCORE,
    POSEVAL_JOINTS,
    POSEVAL_TO_PT18,
    PT18_KEYPOINTS,
    PT18_TO_POSEVAL,
    PoseTrackFormatError,
    metrics_to_json,
)
from .posetrack_formats import load_gt_dir, load_pred_dir, parse_posetrack_video
from .posetrack_protocol import (
    average_precision,
    evaluate_dirs,
    evaluate_videos,
    format_table,
    points_in_polygons,
    summarize,
)

__all__ = [
    'MIN_SCORE', 'POSEVAL_JOINTS', 'POSEVAL_TO_PT18', 'PT18_KEYPOINTS', 'PT18_TO_POSEVAL',
    'PoseTrackFormatError', 'average_precision', 'evaluate_dirs', 'evaluate_videos',
    'format_table', 'load_gt_dir', 'load_pred_dir', 'metrics_to_json', 'parse_posetrack_video',
    'points_in_polygons', 'summarize',
]  # fmt: skip
