# Copyright (c) OpenMMLab. All rights reserved.
"""bbox files and box clipping."""

import json

import numpy as np
import pytest

from fasrnet_mmpose.apis.inferencers.utils.bboxes import (
    BBoxFileError,
    clip_bboxes,
    load_bbox_file,
    normalize_bboxes,
)


def _write(tmp_path, obj, name='boxes.json'):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def test_frame_dict_layout(tmp_path):
    boxes = load_bbox_file(_write(tmp_path, {'0': [[1, 2, 30, 40]], '2': [[5, 5, 9, 9, 0.5]]}))
    assert sorted(boxes) == [0, 2]
    np.testing.assert_allclose(boxes[0], [[1, 2, 30, 40, 1]])
    np.testing.assert_allclose(boxes[2], [[5, 5, 9, 9, 0.5]])


def test_predictions_layout(tmp_path):
    frames = [
        dict(
            frame_id=0,
            instances=[dict(bbox=[[1, 2, 3, 4]], bbox_score=0.9, keypoints=[[0, 0]] * 17)],
        ),
        dict(frame_id=1, instances=[]),
    ]
    for obj in (frames, dict(meta={}, frames=frames)):
        boxes = load_bbox_file(_write(tmp_path, obj))
        np.testing.assert_allclose(boxes[0], [[1, 2, 3, 4, 0.9]], rtol=1e-6)
        assert boxes[1].shape == (0, 5)


def test_coco_detection_layout_is_xywh(tmp_path):
    records = [
        dict(frame_id=3, bbox=[10, 20, 5, 6], score=0.7, category_id=1),
        dict(frame_id=3, bbox=[0, 0, 1, 1], score=0.9, category_id=2),
        dict(frame_id=4, bbox=[1, 1, 2, 2]),
    ]
    boxes = load_bbox_file(_write(tmp_path, records))
    np.testing.assert_allclose(boxes[3], [[10, 20, 15, 26, 0.7]], rtol=1e-6)
    np.testing.assert_allclose(boxes[4], [[1, 1, 3, 3, 1]])


@pytest.mark.parametrize(
    'obj, match',
    [
        ('not json', 'not valid JSON'),
        ({'x': [[1, 2, 3, 4]]}, 'not a frame index'),
        ({'0': [[1, 2, 3]]}, 'frame 0'),
        ([dict(bbox=[1, 2, 3, 4])], 'frame_id'),
        ([dict(frame_id=0)], 'neither'),
        (3, 'expected a JSON object or list'),
    ],
)
def test_bad_files(tmp_path, obj, match):
    path = tmp_path / 'bad.json'
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    with pytest.raises(BBoxFileError, match=match):
        load_bbox_file(str(path))
    with pytest.raises(FileNotFoundError):
        load_bbox_file(str(tmp_path / 'missing.json'))


def test_clip_bboxes():
    boxes = normalize_bboxes(
        [
            [-10, -10, 50, 40, 1],
            [200, 200, 300, 300, 1],
            [10, 10, 10.5, 30, 1],
            [np.nan, 0, 5, 5, 1],
            [60, 5, 20, 30, 1],
            [5, 5, 30, 30, 0.4],
        ]
    )
    kept, dropped = clip_bboxes(boxes, width=100, height=80)
    assert dropped == 4  # outside, too thin, NaN, x2 < x1
    np.testing.assert_allclose(kept, [[0, 0, 50, 40, 1], [5, 5, 30, 30, 0.4]], rtol=1e-6)
    assert normalize_bboxes(None).shape == (0, 5)
    assert normalize_bboxes([1, 2, 3, 4]).shape == (1, 5)
    np.testing.assert_allclose(
        normalize_bboxes([[1, 2, 3, 4], [1, 2, 3, 4, 0.5]]), [[1, 2, 3, 4, 1], [1, 2, 3, 4, 0.5]]
    )
    for bad in ([[1, 2]], [[1, 2, 3, 4], [1, 2]], [['a', 2, 3, 4]], np.zeros((2, 3))):
        with pytest.raises(ValueError, match='rows'):
            normalize_bboxes(bad)
