# Copyright (c) OpenMMLab. All rights reserved.
from .missing_frames_hook import MissingFramesHook

__all__ = ['MissingFramesHook']
