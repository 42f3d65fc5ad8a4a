# Copyright (c) OpenMMLab. All rights reserved.
from .body import AnnotationError, PoseTrackVideoDataset
from .transforms import ClippedNormalBBoxTransform, LoadFrameWindow

__all__ = [
    'PoseTrackVideoDataset',
    'AnnotationError',
    'LoadFrameWindow',
    'ClippedNormalBBoxTransform',
]
