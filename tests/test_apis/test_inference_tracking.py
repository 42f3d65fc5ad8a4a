# Copyright (c) OpenMMLab. All rights reserved.
"""Pose tracking in FaSRnetInferencer and tools/demo_video.py: stable track ids in the
results, the JSON and the rendered video."""

import json

import numpy as np
import pytest
from _apis_helpers import (  # noqa: F401
    DEMO_CLIP,
    frame_image,
    one_torch_thread,
    tiny_assets,
    write_video,
)
from conftest import load_tool

from fasrnet_mmpose.apis import FaSRnetInferencer
from fasrnet_mmpose.apis.inferencers.fasrnet_inferencer import draw_tracks, track_colour

demo = load_tool('demo_video')


def _inferencer(**kwargs) -> FaSRnetInferencer:
    assets = tiny_assets()
    kwargs.setdefault('det_model', 'whole_image')
    return FaSRnetInferencer(assets['config'], weights=assets['checkpoint'], device='cpu', **kwargs)


def _ids(results):
    return [[inst['track_id'] for inst in r['predictions'][0]] for r in results]


@pytest.mark.parametrize('online', [False, True])
def test_ids_follow_the_people_not_their_order(online):
    """Two people walking right; their boxes come in swapped order on odd frames."""
    frames = [frame_image(i) for i in range(6)]
    a = lambda i: [18 + i, 18, 38 + i, 62]  # noqa: E731
    b = lambda i: [68 + i, 28, 88 + i, 72]  # noqa: E731
    boxes = {i: [a(i), b(i)] if i % 2 == 0 else [b(i), a(i)] for i in range(6)}
    ids = _ids(_inferencer(online=online)(frames, bboxes=boxes))
    assert ids == [[0, 1], [1, 0]] * 3  # the same person keeps its id
    # a second call starts afresh (the tracker is reset), track=False gives no ids
    assert _ids(_inferencer(online=online)(frames[:2], bboxes=boxes)) == [[0, 1], [1, 0]]
    results = list(_inferencer()(frames[:2], bboxes=boxes, track=False))
    assert all('track_id' not in inst for r in results for inst in r['predictions'][0])
    assert _inferencer(track=False).tracker is None


def test_shipped_clip_distinct_ids_against_people():
    """The shipped clip (30 frames, OpenCV HOG boxes): few ids, each kept over many frames.

    Measured: 115 person instances, at most 7 per frame, 8 distinct track ids (the stable
    pedestrians keep theirs over the whole clip); numbering by index would reuse 0..6 for
    different people frame after frame.
    """
    ids = _ids(_inferencer(det_model='hog')(DEMO_CLIP))
    assert len(ids) == 30
    instances = sum(len(f) for f in ids)
    most = max(len(f) for f in ids)
    distinct = set(i for f in ids for i in f)
    assert all(len(set(f)) == len(f) for f in ids)  # unique within a frame
    assert instances >= 60 and most >= 3
    assert len(distinct) <= most + 2, (len(distinct), most)
    assert instances / len(distinct) >= 10  # a track lasts 10+ frames on average
    # the two most frequent ids are present in (almost) every frame
    counts = sorted((sum(i in f for f in ids) for i in distinct), reverse=True)
    assert counts[1] >= 27, counts


def test_draw_tracks_uses_one_colour_per_track():
    img = np.zeros((60, 100, 3), np.uint8)
    inst = dict(bboxes=np.array([[5, 15, 40, 55], [50, 15, 95, 55]], np.float32))
    inst['track_ids'] = np.array([3, 8])

    class Instances(dict):
        __getattr__ = dict.__getitem__

    draw_tracks(img, Instances(inst), draw_bbox=True)
    assert tuple(img[35, 5]) == track_colour(3) and tuple(img[35, 95]) == track_colour(8)
    assert track_colour(3) != track_colour(8)
    assert (img[20:50, 10:35] == 0).all()  # only the outline and the label are drawn


def test_demo_json_and_video_carry_track_ids(tmp_path):
    video = tmp_path / 'walk.mp4'
    write_video(str(video), 3)
    boxes = tmp_path / 'boxes.json'
    two = [[18, 18, 38, 62], [68, 28, 88, 72]]
    boxes.write_text(json.dumps({'0': two, '1': two[::-1], '2': two}))
    assets = tiny_assets()
    common = ['--config', assets['config'], '--weights', assets['checkpoint'], '--device', 'cpu']
    common += ['--bbox-file', str(boxes), '--no-progress']
    assert demo.main([str(video), '--out-dir', str(tmp_path / 'a'), *common]) == 0
    result = json.loads((tmp_path / 'a' / 'walk_pose.json').read_text())
    ids = [[i['track_id'] for i in f['instances']] for f in result['frames']]
    assert ids == [[0, 1], [1, 0], [0, 1]]
    assert result['meta']['tracking'] is True and result['meta']['num_tracks'] == 2
    assert demo.main([str(video), '--out-dir', str(tmp_path / 'b'), '--no-track', *common]) == 0
    result = json.loads((tmp_path / 'b' / 'walk_pose.json').read_text())
    assert all('track_id' not in i for f in result['frames'] for i in f['instances'])
    assert result['meta']['tracking'] is False
