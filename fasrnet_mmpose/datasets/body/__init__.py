# Copyright (c) OpenMMLab. All rights reserved.
from .posetrack_video_dataset import AnnotationError, PoseTrackVideoDataset

__all__ = ['PoseTrackVideoDataset', 'AnnotationError']
