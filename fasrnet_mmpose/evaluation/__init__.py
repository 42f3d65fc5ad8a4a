# Copyright (c) OpenMMLab. All rights reserved.
"""Evaluation: the official PoseTrack mAP (poseval's protocol) without poseval."""

from .functional import PoseTrackFormatError, evaluate_dirs, evaluate_videos  # noqa: F401
from .metrics import PoseTrackMAPMetric  # noqa: F401

__all__ = ['PoseTrackMAPMetric', 'PoseTrackFormatError', 'evaluate_dirs', 'evaluate_videos']
