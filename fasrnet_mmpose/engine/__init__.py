# Copyright (c) OpenMMLab. All rights reserved.
from .hooks import MissingFramesHook

__all__ = ['MissingFramesHook']
