# Copyright (c) OpenMMLab. All rights reserved.
from .fasrnet_inferencer import FaSRnetInferencer

__all__ = ['FaSRnetInferencer']
