# Copyright (c) OpenMMLab. All rights reserved.
from .fasr_pose_local_visualizer import FaSRPoseLocalVisualizer

__all__ = ['FaSRPoseLocalVisualizer']
