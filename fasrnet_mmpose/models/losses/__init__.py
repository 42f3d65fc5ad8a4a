# Copyright (c) OpenMMLab. All rights reserved.
from .fasr_loss import FaSRLoss

__all__ = ['FaSRLoss']
