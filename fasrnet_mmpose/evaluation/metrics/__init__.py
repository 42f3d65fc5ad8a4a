# Copyright (c) OpenMMLab. All rights reserved.
from .posetrack_map_metric import PoseTrackMAPMetric

__all__ = ['PoseTrackMAPMetric']
