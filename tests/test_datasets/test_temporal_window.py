# Copyright (c) OpenMMLab. All rights reserved.
"""The one temporal-window definition: order check, same window in dataset and inferencer,
fallback codes, missing centre frames."""

import os
import os.path as osp

import numpy as np
import pytest
import torch
from _synthetic import make_video_dataset

from fasrnet_mmpose.apis import iter_frame_windows
from fasrnet_mmpose.datasets import PoseTrackVideoDataset
from fasrnet_mmpose.models.heads import FaSRHead
from fasrnet_mmpose.models.modules.feature_refinement import FeatureRefinementModule
from fasrnet_mmpose.structures import (
    FALLBACK_BOUNDARY,
    FALLBACK_MISSING,
    FALLBACK_NONE,
    FRAME_ORDER,
    FUSION_CENTRE_INDEX,
    NUM_FRAMES,
    TemporalWindow,
    check_frame_offsets,
)


def build(ann_file, root, **kwargs):
    return PoseTrackVideoDataset(
        ann_file=ann_file, data_prefix=dict(img=root + '/'), pipeline=[], **kwargs
    )


def frame_indices(info):
    return [int(osp.splitext(osp.basename(p))[0]) for p in info['frame_paths']]


@pytest.mark.parametrize('offsets', [(0, 1, -1), (0, 2, -2), (0, 1, -1, -2), (0, -1, 1, -2)])
def test_next_before_previous_is_an_error_everywhere(tmp_path, offsets):
    """[0, 1, -1] would silently swap previous and next: the dataset and the inferencer refuse."""
    match = r'order \[current, previous, next\].*next frame comes before a previous one'
    with pytest.raises(ValueError, match=match):
        check_frame_offsets(offsets)
    ann = make_video_dataset(str(tmp_path), nframes=4, labelled=(1,))
    with pytest.raises(ValueError, match=r'PoseTrackVideoDataset: frame_offsets.*' + match):
        build(ann, str(tmp_path), frame_offsets=offsets)
    frames = ((np.zeros((4, 4, 3), np.uint8), str(i)) for i in range(3))
    with pytest.raises(ValueError, match=match):
        next(iter_frame_windows(frames, offsets))


@pytest.mark.parametrize(
    'offsets, reason', [((0, -1, -1), 'listed twice'), ((1, 0, -1), 'must come first')]
)
def test_other_bad_offsets_name_the_rule(offsets, reason):
    with pytest.raises(ValueError, match=reason):
        check_frame_offsets(offsets)


def test_valid_orders():
    assert check_frame_offsets([0, -2, 2]) == (0, -2, 2)
    assert check_frame_offsets((0, -1, -2)) == (0, -1, -2)  # previous frames only (online)
    assert check_frame_offsets((0, 1)) == (0, 1)
    with pytest.raises(ValueError, match='frame_sampler'):
        TemporalWindow((0, -1, 1), 'uniform')


def test_model_contract_comes_from_the_window_definition():
    """The head's T, the frame order of its error, and the TSA's centre all come from it."""
    assert FRAME_ORDER == ('current', 'previous', 'next') and NUM_FRAMES == 3
    frm = FeatureRefinementModule(num_feat=8, num_joints=17)
    assert frm.tsa_fusion.center_frame_idx == FUSION_CENTRE_INDEX == 1
    assert frm.tsa_fusion.feat_fusion.in_channels == NUM_FRAMES * 8
    with pytest.raises(ValueError, match=r'T=3.*\[current, previous, next\]'):
        FaSRHead(in_channels=8)._last_level((torch.zeros(1, 2, 8, 8, 8),))


@pytest.mark.parametrize('offsets', [(0, -1, 1), (0, -2, 2), (0, -3, 1), (0, -1, -2)])
def test_dataset_and_inferencer_give_the_same_window(tmp_path, offsets):
    """Every frame of a 7-frame video labelled: same frames and margins in both."""
    nframes = 7
    ann = make_video_dataset(str(tmp_path), nframes=nframes, labelled=range(nframes))
    ds = build(ann, str(tmp_path), frame_offsets=offsets)
    by_frame = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        by_frame[info['frame_index']] = (frame_indices(info), info['margin'].tolist())
    frames = [(np.full((4, 4, 3), t, np.uint8), f'{t}.jpg') for t in range(nframes)]
    windows = list(iter_frame_windows(iter(frames), offsets, online=False))
    assert len(windows) == nframes
    for w in windows:
        ids = [int(f[0, 0, 0]) for f in w.frames]
        assert (ids, w.margin.tolist()) == by_frame[w.index], w.index


def test_fallback_codes_separate_boundary_and_missing(tmp_path):
    # frame 4 not on disk; frame 0 has no previous frame (boundary)
    ann = make_video_dataset(str(tmp_path), nframes=6, labelled=(0, 3), on_disk=[0, 1, 2, 3, 5])
    ds = build(ann, str(tmp_path), frame_offsets=(0, -1, 1))
    infos = {ds.get_data_info(i)['frame_index']: ds.get_data_info(i) for i in range(len(ds))}
    assert infos[0]['neighbour_fallback'].tolist() == [FALLBACK_BOUNDARY, FALLBACK_NONE]
    assert infos[3]['neighbour_fallback'].tolist() == [FALLBACK_NONE, FALLBACK_MISSING]
    assert infos[3]['neighbour_fallback'].dtype == np.int8
    assert frame_indices(infos[3]) == [3, 2, 3] and infos[3]['margin'].tolist() == [1, 1]
    # without the check nothing is flagged (and the missing path is kept)
    unchecked = build(ann, str(tmp_path), check_frames_exist=False)
    info = next(
        unchecked.get_data_info(i)
        for i in range(len(unchecked))
        if unchecked.get_data_info(i)['frame_index'] == 3
    )
    assert info['neighbour_fallback'].tolist() == [FALLBACK_NONE, FALLBACK_NONE]
    assert frame_indices(info) == [3, 2, 4]


def test_missing_centre_frame_is_an_error_when_the_dataset_is_built(tmp_path):
    ann = make_video_dataset(str(tmp_path), nframes=6, labelled=(1, 3))
    os.remove(osp.join(str(tmp_path), 'images', 'val', '000001_test', '000003.jpg'))
    with pytest.raises(FileNotFoundError, match=r'centre frame .*000003\.jpg.*1 of 2'):
        build(ann, str(tmp_path))
    # a neighbour is never reported as "the centre frame used instead" of a missing centre
    assert len(build(ann, str(tmp_path), check_frames_exist=False)) == 4


def test_random_sampler_keeps_the_order(tmp_path):
    ann = make_video_dataset(str(tmp_path), nframes=12, labelled=(6,))
    ds = build(ann, str(tmp_path), frame_offsets=(0, -3, 3), frame_sampler='random')
    np.random.seed(0)
    for _ in range(20):
        t, prev, nxt = frame_indices(ds.get_data_info(0))
        assert prev < t < nxt  # [current, previous, next] whatever the draw
