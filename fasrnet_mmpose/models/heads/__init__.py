# Copyright (c) OpenMMLab. All rights reserved.
from .fasr_head import FaSRHead

__all__ = ['FaSRHead']
