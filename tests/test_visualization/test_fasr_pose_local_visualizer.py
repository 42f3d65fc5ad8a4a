# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRPoseLocalVisualizer: mmpose's keypoint drawing, also with numpy >= 2.4."""

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

from fasrnet_mmpose.visualization import FaSRPoseLocalVisualizer

META = dict(
    keypoint_colors=np.array([[255, 0, 0], [0, 255, 0]], np.uint8),
    skeleton_links=[(0, 1)],
    skeleton_link_colors=np.array([[0, 0, 255]], np.uint8),
    num_keypoints=2,
)


def _draw(cls) -> np.ndarray:
    vis = cls(radius=4, line_width=1, name=f'vis_{cls.__name__}_{np.random.randint(1 << 30)}')
    vis.set_dataset_meta(META)
    sample = PoseDataSample()
    inst = InstanceData()
    inst.keypoints = np.array([[[20.0, 30.0], [60.0, 30.0]]], np.float32)
    inst.keypoint_scores = np.ones((1, 2), np.float32)
    sample.pred_instances = inst
    return vis.add_datasample(
        'x', np.zeros((64, 80, 3), np.uint8), sample, draw_gt=False, draw_bbox=False, show=False
    )


def test_draws_keypoints_with_an_array_radius():
    img = _draw(FaSRPoseLocalVisualizer)
    # keypoint 0 red, keypoint 1 green (RGB), at their centres; the background stays black
    assert tuple(img[30, 20]) == (255, 0, 0)
    assert tuple(img[30, 60]) == (0, 255, 0)
    assert img[5, 5].sum() == 0
    # the radius (4 px) was honoured: inside the disc coloured, outside not
    assert tuple(img[30 + 3, 20]) == (255, 0, 0)
    assert img[30 + 7, 20].sum() == 0


def test_same_image_as_mmpose_where_mmpose_works():
    try:
        int(np.array([1]))
    except TypeError:
        pytest.skip(f'numpy {np.__version__}: mmpose PoseLocalVisualizer itself fails here')
    np.testing.assert_array_equal(_draw(FaSRPoseLocalVisualizer), _draw(PoseLocalVisualizer))


def test_registered_and_used_by_the_configs():
    from conftest import PROJECT_ROOT
    from mmengine.config import Config

    assert VISUALIZERS.get('FaSRPoseLocalVisualizer') is FaSRPoseLocalVisualizer
    cfg = Config.fromfile(f'{PROJECT_ROOT}/configs/_base_/default_runtime.py')
    assert cfg.visualizer.type == 'FaSRPoseLocalVisualizer'
