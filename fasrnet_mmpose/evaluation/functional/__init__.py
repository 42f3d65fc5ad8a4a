# Copyright (c) OpenMMLab. All rights reserved.
"""The official PoseTrack evaluation (poseval's protocol) in numpy + orjson, without torch/mmpose
(``tools/eval_posetrack.py`` loads it by file); its modules: ``docs/evaluation.md``."""

from .posetrack_data import PT18_KEYPOINTS, PoseTrackFormatError, metrics_to_json
from .posetrack_formats import load_gt_dir, load_pred_dir, parse_posetrack_video
from .posetrack_protocol import evaluate_dirs, evaluate_videos, format_table, summarize

__all__ = [
    'PT18_KEYPOINTS', 'PoseTrackFormatError', 'evaluate_dirs', 'evaluate_videos', 'format_table',
    'load_gt_dir', 'load_pred_dir', 'metrics_to_json', 'parse_posetrack_video', 'summarize',
]  # fmt: skip
