# Copyright (c) OpenMMLab. All rights reserved.
from . import data_preprocessors, heads, losses, modules, pose_estimators  # noqa: F401
