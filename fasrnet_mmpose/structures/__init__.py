# Copyright (c) OpenMMLab. All rights reserved.
"""The data structures shared by the dataset, the model and the inferencer.

``temporal_window`` (the frame order, offsets, sampling, margins) is the only one; its ``__all__``
is the package's, listed once there.
"""

from .temporal_window import *  # noqa: F403
from .temporal_window import __all__  # noqa: F401
