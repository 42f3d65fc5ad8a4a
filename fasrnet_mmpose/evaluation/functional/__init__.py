# Copyright (c) OpenMMLab. All rights reserved.
from .posetrack_eval import (JOINT_GROUPS, NUM_JOINTS, POSEVAL_JOINTS, POSEVAL_NAMES,
                             PT18_KEYPOINTS, PT18_TO_POSEVAL, PersonArrays, PoseTrackFormatError,
                             PoseTrackVideo, assign_predictions, average_precision, evaluate_dirs,
                             evaluate_videos, format_table, load_gt_dir, load_posetrack_file,
                             load_pred_dir, metrics_to_json, parse_posetrack_video,
                             points_in_polygons, summarize)

__all__ = [
    'JOINT_GROUPS', 'NUM_JOINTS', 'POSEVAL_JOINTS', 'POSEVAL_NAMES', 'PT18_KEYPOINTS',
    'PT18_TO_POSEVAL', 'PersonArrays', 'PoseTrackFormatError', 'PoseTrackVideo',
    'assign_predictions', 'average_precision', 'evaluate_dirs', 'evaluate_videos', 'format_table',
    'load_gt_dir', 'load_posetrack_file', 'load_pred_dir', 'metrics_to_json',
    'parse_posetrack_video', 'points_in_polygons', 'summarize'
]
