# Copyright (c) OpenMMLab. All rights reserved.
"""Frame sources and windows, person boxes, outputs and the model index of the inferencer."""
