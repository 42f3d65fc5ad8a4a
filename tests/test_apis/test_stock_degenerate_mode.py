# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's stock inferencers with a FaSRnet config: the degenerate (repeated-frame) mode."""

import numpy as np
import pytest
from _apis_helpers import frame_image, one_torch_thread, tiny_assets, write_video  # noqa: F401
from mmpose.apis import MMPoseInferencer
from mmpose.apis.inferencers import Pose2DInferencer

from fasrnet_mmpose.apis import FaSRnetInferencer


@pytest.fixture(scope='module')
def stock():
    assets = tiny_assets()
    return MMPoseInferencer(
        pose2d=assets['config'],
        pose2d_weights=assets['checkpoint'],
        det_model='whole_image',
        device='cpu',
    )


def test_mmpose_inferencer_runs_on_an_image(tmp_path, stock):
    img = frame_image(2)
    (result,) = list(stock(img))
    (instances,) = result['predictions']
    assert len(instances) == 1 and np.asarray(instances[0]['keypoints']).shape == (17, 2)
    # the same as FaSRnetInferencer on a single image: both see [img, img, img], margins 1
    ours = FaSRnetInferencer(
        tiny_assets()['config'],
        weights=tiny_assets()['checkpoint'],
        device='cpu',
        det_model='whole_image',
    )
    (mine,) = list(ours(img))
    np.testing.assert_allclose(
        instances[0]['keypoints'], mine['predictions'][0][0]['keypoints'], rtol=1e-5, atol=1e-4
    )


def test_mmpose_inferencer_runs_on_a_video_frame_by_frame(tmp_path, stock):
    path = str(tmp_path / 'clip.mp4')
    write_video(path, 3)
    results = list(stock(path, pred_out_dir=str(tmp_path / 'pred')))
    assert len(results) == 3
    assert (tmp_path / 'pred' / 'clip.json').is_file()


def test_pose2d_inferencer_sees_repeated_frames(tmp_path):
    assets = tiny_assets()
    inferencer = Pose2DInferencer(
        assets['config'], weights=assets['checkpoint'], det_model='whole_image', device='cpu'
    )
    seen = []
    pipeline = inferencer.pipeline

    def recording(results):
        out = pipeline(results)
        seen.append((len(out['inputs']), out['data_samples'].metainfo['margin'].tolist()))
        return out

    inferencer.pipeline = recording
    list(inferencer(frame_image(0)))
    assert seen == [(3, [1, 1])]  # LoadFrameWindow repeated the single frame 3 times
