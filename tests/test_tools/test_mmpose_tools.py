# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's own analysis tools on our configs: ``tools/analysis_tools/get_flops.py``."""

import os.path as osp
import re
import sys

import mmpose
import pytest
from _train_helpers import PROJECT_ROOT, run_tool, subprocess_env
from mmengine.analysis import get_model_complexity_info
from mmpose.registry import MODELS

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

GET_FLOPS = osp.join(
    osp.dirname(mmpose.__file__), '.mim', 'tools', 'analysis_tools', 'get_flops.py'
)
MAIN = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)
UNITS = {'': 1, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12}


def _size(text: str) -> float:
    value, unit = re.fullmatch(r'([\d.]+)([KMGT]?)', text.strip()).groups()
    return float(value) * UNITS[unit]


def _row(table: str, module: str) -> list:
    """``[params, flops, activations]`` of a module row of mmengine's complexity table."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if cells and cells[0] == module:
            return cells[1:]
    raise AssertionError(f'no row {module!r} in\n{table}')


@pytest.mark.skipif(not osp.exists(GET_FLOPS), reason=f'{GET_FLOPS} is not shipped')
def test_mmpose_get_flops_counts_the_three_frame_model():
    """get_flops.py feeds one [1, 3, H, W] image to ``model._forward``: the estimator repeats it
    over the 3-frame window, so the backbone row is 3 x HRNet-W48 on one image, plus the head."""
    proc = run_tool(
        [sys.executable, GET_FLOPS, MAIN, '--input-shape', '128', '96'],
        env=subprocess_env(),
        timeout=600,
    )
    out = proc.stdout
    assert 'Input shape: (1, 3, 128, 96)' in out
    assert 'Params: 65.395M' in out  # the whole model (tests/test_configs counts 65,395,439)
    model_flops = _size(_row(out, 'model')[1])
    backbone_flops = _size(_row(out, 'backbone')[1])
    head_flops = _size(_row(out, 'head')[1])
    hrnet = MODELS.build(hrnet_w48())
    hrnet.eval()  # as get_flops.py's model (batch norm is not counted in eval mode)
    single = get_model_complexity_info(hrnet, (3, 128, 96), show_table=False, show_arch=False)[
        'flops'
    ]
    # 4 significant digits in the table
    assert backbone_flops == pytest.approx(3 * single, rel=2e-3)
    assert head_flops > 0 and model_flops == pytest.approx(backbone_flops + head_flops, rel=2e-3)
