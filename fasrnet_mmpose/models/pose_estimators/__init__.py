# Copyright (c) OpenMMLab. All rights reserved.
from .video_topdown import VideoTopdownPoseEstimator

__all__ = ['VideoTopdownPoseEstimator']
