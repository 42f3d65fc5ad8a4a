# Copyright (c) OpenMMLab. All rights reserved.
"""The official PoseTrack per-frame mAP (poseval's protocol) in numpy, without poseval.

``posetrack_data`` (joints, the "absent joint" rule, the person arrays), one module per file
format with its reader and writer (``posetrack17_format``: ``annolist``, ``posetrack18_format``:
``images``/``annotations``), ``posetrack_io`` (files and folders), ``posetrack_protocol``
(ignore regions, PCKh, assignment, AP, tables). Needs only numpy: ``tools/eval_posetrack.py``
loads this package without importing torch/mmpose.
"""

from .posetrack17_format import DUMMY_SCORE, dummy_persons, read_pt17, write_pt17
from .posetrack18_format import read_pt18, write_pt18
from .posetrack_data import (
    FORMATS,
    MIN_SCORE,
    NUM_JOINTS,
    POSEVAL_JOINTS,
    POSEVAL_NAMES,
    POSEVAL_TO_PT18,
    PT18_KEYPOINTS,
    PT18_TO_POSEVAL,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
    absent_joints,
    write_json,
)
from .posetrack_io import (
    list_gt_files,
    load_gt_dir,
    load_posetrack_file,
    load_pred_dir,
    parse_posetrack_video,
)
from .posetrack_protocol import (
    JOINT_GROUPS,
    assign_predictions,
    average_precision,
    evaluate_dirs,
    evaluate_videos,
    format_table,
    metrics_to_json,
    points_in_polygons,
    summarize,
)

__all__ = [
    'DUMMY_SCORE', 'FORMATS', 'JOINT_GROUPS', 'MIN_SCORE', 'NUM_JOINTS', 'POSEVAL_JOINTS',
    'POSEVAL_NAMES', 'POSEVAL_TO_PT18', 'PT18_KEYPOINTS', 'PT18_TO_POSEVAL', 'PersonArrays',
    'PoseTrackFormatError', 'PoseTrackVideo', 'absent_joints', 'assign_predictions',
    'average_precision', 'dummy_persons', 'evaluate_dirs', 'evaluate_videos', 'format_table',
    'list_gt_files', 'load_gt_dir', 'load_posetrack_file', 'load_pred_dir', 'metrics_to_json',
    'parse_posetrack_video', 'points_in_polygons', 'read_pt17', 'read_pt18', 'summarize',
    'write_json', 'write_pt17', 'write_pt18',
]  # fmt: skip
