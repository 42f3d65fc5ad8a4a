# Copyright (c) OpenMMLab. All rights reserved.
from .bbox_transforms import ClippedNormalBBoxTransform
from .loading import LoadFrameWindow

__all__ = ['LoadFrameWindow', 'ClippedNormalBBoxTransform']
