# Copyright (c) OpenMMLab. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from _synthetic import make_video_dataset
from _train_helpers import META_KEYS
from conftest import shared_path
from mmcv.transforms import Compose

from fasrnet_mmpose.datasets import (
    ClippedNormalBBoxTransform,
    LoadFrameWindow,
    PoseTrackVideoDataset,
)

INPUT_SIZE = (48, 64)  # (w, h)
CODEC = dict(type='MSRAHeatmap', input_size=INPUT_SIZE, heatmap_size=(12, 16), sigma=2)


def train_pipeline():
    return [
        dict(type='LoadFrameWindow'),
        dict(type='GetBBoxCenterScale', padding=1.25),
        dict(type='RandomFlip', direction='horizontal', prob=0.5),
        dict(type='RandomHalfBody', prob=0.3, min_total_keypoints=9, padding=1.5),
        dict(type='ClippedNormalBBoxTransform'),
        dict(type='TopdownAffine', input_size=INPUT_SIZE),
        dict(type='GenerateTarget', encoder=CODEC),
        dict(type='PackPoseInputs', meta_keys=META_KEYS),
    ]


class TestLoadFrameWindow:
    def test_reads_frame_paths_once_each(self, tmp_path):
        paths = []
        for i in range(2):
            img = np.full((20, 30, 3), 40 * (i + 1), np.uint8)
            paths.append(str(tmp_path / f'{i}.png'))
            cv2.imwrite(paths[-1], img)
        margin = np.array([1, 1])
        out = LoadFrameWindow()(dict(frame_paths=[paths[0], paths[1], paths[0]], margin=margin))
        assert len(out['img']) == 3 and out['img_shape'] == (20, 30)
        assert out['img'][0] is out['img'][2]  # the repeated centre frame was decoded once
        assert out['img'][1][0, 0, 0] == 80
        # the window's margins pass through; no dead `num_frames` key is added
        assert out['margin'].tolist() == [1, 1] and 'num_frames' not in out
        # a window of frames has no default margins: the error names the window and the doc
        with pytest.raises(KeyError, match='0.png.*margin.*temporal_window.md'):
            LoadFrameWindow()(dict(frame_paths=[paths[0], paths[1], paths[0]]))
        with pytest.raises(ValueError, match='3 frames need 2 margins'):
            LoadFrameWindow()(dict(frame_paths=paths + paths[:1], margin=np.array([1])))

    def test_single_image_is_repeated(self, tmp_path):
        img = np.random.randint(0, 255, (10, 12, 3), np.uint8)
        out = LoadFrameWindow(num_frames=3)(dict(img=img))
        assert len(out['img']) == 3 and all(x is img for x in out['img'])
        path = str(tmp_path / 'a.png')
        cv2.imwrite(path, img)
        out = LoadFrameWindow(num_frames=5)(dict(img_path=path))
        assert len(out['img']) == 5 and out['margin'].tolist() == [1, 1, 1, 1]
        assert np.array_equal(out['img'][4], img)

    def test_errors_name_the_file(self, tmp_path):
        a, b = str(tmp_path / 'a.png'), str(tmp_path / 'b.png')
        cv2.imwrite(a, np.zeros((10, 10, 3), np.uint8))
        cv2.imwrite(b, np.zeros((12, 10, 3), np.uint8))
        with pytest.raises(ValueError, match='b.png'):
            LoadFrameWindow()(dict(frame_paths=[a, b, a]))
        with pytest.raises(FileNotFoundError, match='missing.png'):
            LoadFrameWindow()(dict(frame_paths=[a, str(tmp_path / 'missing.png')]))
        bad = tmp_path / 'bad.jpg'
        bad.write_bytes(b'not an image')
        with pytest.raises(ValueError, match='bad.jpg'):
            LoadFrameWindow()(dict(img_path=str(bad)))
        with pytest.raises(KeyError):
            LoadFrameWindow()(dict())


def test_clipped_normal_bbox_transform_statistics():
    np.random.seed(1)
    t = ClippedNormalBBoxTransform()
    out = t(dict(bbox_scale=np.ones((20000, 2), np.float32)))
    scale, rot = out['bbox_scale'][:, 0], out['bbox_rotation']
    assert scale.min() >= 0.65 - 1e-6 and scale.max() <= 1.35 + 1e-6
    at_bounds = np.mean(np.isclose(scale, 0.65) | np.isclose(scale, 1.35))
    assert 0.28 < at_bounds < 0.36  # P(|N(0,1)| > 1) = 0.317: mass on the bounds
    assert np.all(out['bbox_scale'][:, 0] == out['bbox_scale'][:, 1])
    assert 0.37 < np.mean(rot == 0) < 0.43  # rotate_prob 0.6
    assert np.abs(rot).max() <= 90


class TestPipeline:
    def test_shapes_and_identical_affine_on_every_frame(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(3,))
        ds = PoseTrackVideoDataset(
            ann_file=ann, data_prefix=dict(img=str(tmp_path) + '/'), pipeline=train_pipeline()
        )
        # distinct frames: the window must contain three different crops
        np.random.seed(0)
        sample = ds[0]
        inputs = sample['inputs']
        assert inputs.shape == (3, 3, 64, 48) and inputs.dtype == torch.uint8
        assert not torch.equal(inputs[0], inputs[1])
        ds_meta = sample['data_samples']
        assert ds_meta.gt_fields.heatmaps.shape == (17, 16, 12)  # centre frame targets only
        assert ds_meta.gt_instance_labels.keypoint_weights.shape == (1, 17)
        assert ds_meta.metainfo['margin'].tolist() == [1, 1]
        assert len(ds_meta.metainfo['frame_paths']) == 3

        # identical frames through the random pipeline: identical crops <=> identical affine
        pipeline = Compose(train_pipeline())
        img = cv2.imread(ds.get_data_info(0)['img_path'])
        for seed in range(12):
            np.random.seed(seed)
            info = ds.get_data_info(0)
            info['img'] = [img.copy(), img.copy(), img.copy()]
            out = pipeline(info)
            x = out['inputs']
            assert torch.equal(x[0], x[1]) and torch.equal(x[0], x[2]), seed

    def test_real_frames_pipeline(self):
        video = shared_path('data', 'posetrack18_mini', 'videos', '000001_mpiinew_test')
        frames = [osp.join(video, f'{i:06d}.jpg') for i in (4, 3, 5)]
        results = dict(
            frame_paths=frames,
            margin=np.array([1, 1]),
            bbox=np.array([[200.0, 100.0, 500.0, 600.0]], np.float32),
            bbox_score=np.ones(1, np.float32),
        )
        pipeline = Compose(
            [
                dict(type='LoadFrameWindow'),
                dict(type='GetBBoxCenterScale', padding=1.25),
                dict(type='TopdownAffine', input_size=(288, 384)),
                dict(type='PackPoseInputs', meta_keys=META_KEYS),
            ]
        )
        out = pipeline(results)
        x = out['inputs'].float()
        assert out['inputs'].shape == (3, 3, 384, 288)
        # consecutive real frames: similar but not identical crops
        assert 0 < (x[0] - x[1]).abs().mean() < 40
