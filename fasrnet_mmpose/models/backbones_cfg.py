# Copyright (c) OpenMMLab. All rights reserved.
"""The plugin's HRNet-W48 backbone config, read from the configs (nothing is built here).

HRNet-W48 is defined once, in ``configs/_base_/models/hrnet_w48.py`` (mmpose's COCO HRNet-W48
with only the high-resolution stage-4 output): the configs inherit it through ``_base_``, and the
tools and tests that build the backbone without a full config read the same file here.
"""

import copy
import functools
import os.path as osp
from typing import List

#: the config fragment that defines HRNet-W48, relative to the ``configs/`` folder
HRNET_W48_CONFIG = osp.join('_base_', 'models', 'hrnet_w48.py')

_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _candidate_config_dirs() -> List[str]:
    """``configs/`` of an installed package (``.mim``, as mmpose ships it) or of a checkout."""
    return [
        osp.join(_PACKAGE_DIR, '.mim', 'configs'),
        osp.join(osp.dirname(_PACKAGE_DIR), 'configs'),
    ]


@functools.lru_cache(maxsize=None)
def _read_hrnet_w48() -> dict:
    from mmengine.config import Config

    paths = [osp.join(d, HRNET_W48_CONFIG) for d in _candidate_config_dirs()]
    for path in paths:
        if osp.isfile(path):
            return Config.fromfile(path).model.backbone.to_dict()
    raise FileNotFoundError(
        f'Cannot find the HRNet-W48 config fragment: looked for {" and ".join(paths)}. '
        'Reinstall the package (pip install .) or run from a source checkout.'
    )


def hrnet_w48() -> dict:
    """mmpose's HRNet-W48 backbone config as the plugin's configs use it (without ``init_cfg``).

    Returns:
        dict: A fresh copy of ``model.backbone`` of ``configs/_base_/models/hrnet_w48.py``
        (``type='HRNet'``, ``extra`` with the four stages), free to modify.
    """
    return copy.deepcopy(_read_hrnet_w48())
