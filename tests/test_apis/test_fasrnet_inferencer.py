# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnetInferencer on synthetic videos, image folders and the shipped clip (tiny model)."""

import json
import os.path as osp
import warnings
from typing import Dict, List

import cv2
import numpy as np
import pytest
from _apis_helpers import (  # noqa: F401
    DEMO_CLIP,
    frame_id_of,
    frame_image,
    one_torch_thread,
    tiny_assets,
    write_image_folder,
    write_video,
)
from mmpose.registry import INFERENCERS

from fasrnet_mmpose.apis import FaSRnetInferencer, HOGPersonDetector
from fasrnet_mmpose.apis.inferencers.utils import frame_source as frame_source_module
from fasrnet_mmpose.apis.inferencers.utils.frame_source import FrameListSource, open_frame_source

TWO_PEOPLE = [[10, 10, 50, 90, 0.9], [60, 20, 110, 90, 0.8]]


class Spy:
    """Records model forwards (batch sizes, T) and the frames given to the pipeline."""

    def __init__(self, inferencer: FaSRnetInferencer) -> None:
        self.batches: List[int] = []
        self.frames_per_sample: List[int] = []
        self.windows: List[Dict] = []
        model, pipeline = inferencer.model, inferencer.pipeline
        test_step = model.test_step

        def counting_test_step(data):
            self.batches.append(len(data['data_samples']))
            self.frames_per_sample.extend(int(x.shape[0]) for x in data['inputs'])
            return test_step(data)

        def recording_pipeline(results):
            self.windows.append(
                dict(
                    index=results['frame_index'],
                    frames=list(results['img']),
                    margin=results['margin'].tolist(),
                )
            )
            return pipeline(results)

        model.test_step = counting_test_step
        inferencer.pipeline = recording_pipeline


def _inferencer(**kwargs) -> FaSRnetInferencer:
    assets = tiny_assets()
    kwargs.setdefault('weights', assets['checkpoint'])
    kwargs.setdefault('det_model', 'whole_image')
    return FaSRnetInferencer(assets['config'], device='cpu', **kwargs)


def test_registered_in_mmpose_inferencers():
    assert INFERENCERS.get('fasrnet') is FaSRnetInferencer
    assert INFERENCERS.get('FaSRnetInferencer') is FaSRnetInferencer


def test_video_one_forward_per_frame_all_persons_batched(tmp_path, monkeypatch):
    path = str(tmp_path / 'clip.mp4')
    write_video(path, 5)
    reads = []
    real_capture = cv2.VideoCapture

    class CountingCapture:
        def __init__(self, *args):
            self._cap = real_capture(*args)

        def read(self):
            reads.append(1)
            return self._cap.read()

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(frame_source_module.cv2, 'VideoCapture', CountingCapture)
    inferencer = _inferencer()
    spy = Spy(inferencer)
    results = list(inferencer(path, bboxes={i: TWO_PEOPLE for i in range(5)}))

    assert len(results) == 5
    assert spy.batches == [2] * 5  # ONE forward per frame, both persons in it
    assert set(spy.frames_per_sample) == {3}  # [t, t-1, t+1]
    assert len(reads) == 6  # each frame decoded once (+1 read that hits the end)
    for result in results:
        (instances,) = result['predictions']
        assert len(instances) == 2
        assert np.asarray(instances[0]['keypoints']).shape == (17, 2)
        assert np.asarray(instances[0]['bbox']).reshape(-1).tolist() == TWO_PEOPLE[0][:4]
    # offline windows: [t, t-1, t+1], clipped at both ends, from the decoded frames
    windows = {w['index']: [frame_id_of(f) for f in w['frames']] for w in spy.windows}
    assert windows == {0: [0, 0, 1], 1: [1, 0, 2], 2: [2, 1, 3], 3: [3, 2, 4], 4: [4, 3, 4]}


@pytest.mark.parametrize('online', [False, True])
def test_offline_vs_online_neighbours(online):
    frames = [frame_image(i) for i in range(4)]
    inferencer = _inferencer(online=online)
    spy = Spy(inferencer)
    results = list(inferencer(frames))
    assert len(results) == 4 and spy.batches == [1] * 4
    ids = {id(f): i for i, f in enumerate(frames)}
    got = {w['index']: [ids[id(f)] for f in w['frames']] for w in spy.windows}
    if online:
        assert got == {0: [0, 0, 0], 1: [1, 0, 1], 2: [2, 1, 2], 3: [3, 2, 3]}
        assert all(max(v) <= t for t, v in got.items())  # never a future frame
    else:
        assert got == {0: [0, 0, 1], 1: [1, 0, 2], 2: [2, 1, 3], 3: [3, 2, 3]}
    assert all(w['margin'] == [1, 1] for w in spy.windows)
    # per-call override of the mode
    spy.windows.clear()
    list(inferencer(frames, online=not online))
    got = {w['index']: [ids[id(f)] for f in w['frames']] for w in spy.windows}
    assert (got[1] == [1, 0, 1]) == (not online)


def test_neighbours_change_the_prediction():
    """The model really sees t-1/t+1: a different neighbour gives other heatmaps."""
    frames = [frame_image(i) for i in range(3)]
    inferencer = _inferencer()
    box = {1: [[10, 10, 110, 90]]}
    offline = list(inferencer(frames, bboxes=box, return_datasamples=True))[1]
    online = list(inferencer(frames, bboxes=box, online=True, return_datasamples=True))[1]
    a = offline['predictions'][0].pred_instances.keypoint_scores
    b = online['predictions'][0].pred_instances.keypoint_scores
    assert not np.allclose(a, b, rtol=1e-3, atol=0)


def test_image_folder_out_dir(tmp_path, monkeypatch):
    paths = write_image_folder(str(tmp_path / 'frames'), 3)
    reads = []
    real_imread = cv2.imread
    monkeypatch.setattr(
        frame_source_module.cv2, 'imread', lambda p, *a: reads.append(p) or real_imread(p, *a)
    )
    inferencer = _inferencer()
    spy = Spy(inferencer)
    out_dir = tmp_path / 'out'
    results = list(inferencer(str(tmp_path / 'frames'), out_dir=str(out_dir)))
    assert len(results) == 3 and spy.batches == [1, 1, 1]
    assert reads == paths  # each image decoded once (visualisation reuses the array)
    # like Pose2DInferencer: one visualisation and one JSON per image
    for p in paths:
        stem = osp.splitext(osp.basename(p))[0]
        assert (out_dir / 'visualizations' / osp.basename(p)).is_file()
        pred = json.loads((out_dir / 'predictions' / f'{stem}.json').read_text())
        assert len(pred) == 1 and len(pred[0]['keypoints']) == 17


def test_video_out_dir_writes_video_and_json(tmp_path):
    path = str(tmp_path / 'walk.mp4')
    write_video(path, 4)
    out_dir = tmp_path / 'out'
    list(_inferencer()(path, out_dir=str(out_dir), draw_bbox=True))
    cap = cv2.VideoCapture(str(out_dir / 'visualizations' / 'walk.mp4'))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 4
    pred = json.loads((out_dir / 'predictions' / 'walk.json').read_text())
    assert [p['frame_id'] for p in pred] == [0, 1, 2, 3]


def test_shipped_clip_with_hog_detector():
    inferencer = _inferencer(det_model='hog')
    assert isinstance(inferencer.detector, HOGPersonDetector)
    spy = Spy(inferencer)
    results = list(inferencer(open_frame_source(DEMO_CLIP, max_frames=2), return_vis=True))
    assert len(results) == 2
    counts = [len(r['predictions'][0]) for r in results]
    assert min(counts) >= 2 and spy.batches == counts  # several pedestrians, one forward/frame
    assert results[0]['visualization'][0].shape == (384, 512, 3)


def test_frame_without_detection_gives_empty_result():
    frames = [frame_image(i) for i in range(3)]
    inferencer = _inferencer()
    spy = Spy(inferencer)
    results = list(
        inferencer(
            frames, bboxes={0: TWO_PEOPLE, 2: TWO_PEOPLE[:1]}, return_vis=True, draw_bbox=True
        )
    )
    assert [len(r['predictions'][0]) for r in results] == [2, 0, 1]
    assert spy.batches == [2, 1]  # no forward for the empty frame
    assert results[1]['visualization'][0].shape == (96, 128, 3)
    samples = list(inferencer(frames, bboxes={0: TWO_PEOPLE}, return_datasamples=True))
    assert samples[1]['predictions'][0].pred_instances.keypoints.shape == (0, 17, 2)
    # detector that finds nobody (HOG on flat synthetic frames), mmpose-style fallback
    hog = _inferencer(det_model=HOGPersonDetector(upscale=1.0))
    assert [len(r['predictions'][0]) for r in hog(frames)] == [0, 0, 0]
    fallback = _inferencer(det_model=HOGPersonDetector(upscale=1.0), whole_image_fallback=True)
    preds = [r['predictions'][0] for r in fallback(frames)]
    assert [len(p) for p in preds] == [1, 1, 1]
    assert np.asarray(preds[0][0]['bbox']).reshape(-1).tolist() == [0, 0, 128, 96]


def test_boxes_outside_the_image_are_clipped_or_dropped():
    inferencer = _inferencer()
    frames = [frame_image(0), frame_image(1)]
    boxes = {0: [[-50, -50, -10, -10], [100, 40, 300, 300, 0.7]], 1: [[500, 500, 600, 600]]}
    results = list(inferencer(frames, bboxes=boxes))
    (inst,) = results[0]['predictions'][0]
    assert np.asarray(inst['bbox']).reshape(-1).tolist() == [100, 40, 128, 96]
    assert inst['bbox_score'] == pytest.approx(0.7)
    assert results[1]['predictions'][0] == []
    assert inferencer.boxes.num_dropped == 2


def test_bbox_file(tmp_path):
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps([dict(frame_id=1, bbox=[10, 10, 40, 80], score=0.9)]))
    results = list(_inferencer()([frame_image(i) for i in range(3)], bbox_file=str(path)))
    assert [len(r['predictions'][0]) for r in results] == [0, 1, 0]
    bbox = results[1]['predictions'][0][0]['bbox']
    assert np.asarray(bbox).reshape(-1).tolist() == [10, 10, 50, 90]  # xywh -> xyxy
    with pytest.raises(ValueError, match='not both'):
        list(_inferencer()([frame_image(0)], bbox_file=str(path), bboxes={0: TWO_PEOPLE}))


def test_single_frame_video(tmp_path):
    path = str(tmp_path / 'one.mp4')
    write_video(path, 1)
    inferencer = _inferencer()
    spy = Spy(inferencer)
    results = list(inferencer(path))
    assert len(results) == 1 and spy.batches == [1]
    (window,) = spy.windows
    assert window['margin'] == [1, 1]
    assert window['frames'][0] is window['frames'][1] is window['frames'][2]


def test_bad_inputs(tmp_path):
    inferencer = _inferencer()
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'\x00garbage' * 64)
    with pytest.raises(ValueError, match='Cannot (open|decode)'):
        list(inferencer(str(bad)))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no image files'):
        list(inferencer(str(tmp_path / 'empty')))
    with pytest.raises(FileNotFoundError):
        list(inferencer(str(tmp_path / 'missing.mp4')))
    with pytest.raises(ValueError, match='empty'):
        list(inferencer([]))


def test_no_weights_warns_loudly(caplog):
    assets = tiny_assets()
    with pytest.warns(UserWarning, match='randomly initialised'):
        inferencer = FaSRnetInferencer(assets['config'], device='cpu', det_model='whole_image')
    assert not inferencer.weights_loaded
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert _inferencer().weights_loaded


def test_single_frame_config_is_rejected(tmp_path):
    cfg = tmp_path / 'single.py'
    cfg.write_text(
        '\n'.join(
            [
                f'_base_ = [{tiny_assets()["config"]!r}]',
                "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), "
                "dict(type='PackPoseInputs')]))",
            ]
        )
    )
    with pytest.raises(ValueError, match='LoadFrameWindow'):
        FaSRnetInferencer(
            str(cfg), weights=tiny_assets()['checkpoint'], device='cpu', det_model='whole_image'
        )


def test_frame_source_input_keeps_video_mode(tmp_path):
    path = str(tmp_path / 'v.mp4')
    write_video(path, 3)
    inferencer = _inferencer()
    list(inferencer(open_frame_source(path)))
    assert inferencer._video_input and inferencer.video_info['fps'] == 10.0
    list(inferencer(FrameListSource([frame_image(0)])))
    assert not inferencer._video_input
