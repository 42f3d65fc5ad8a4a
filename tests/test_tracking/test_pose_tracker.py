# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTracker / track_video on small synthetic videos, and the similarity functions."""

import numpy as np
import pytest
from conftest import posetrack_sigmas
from mmpose.evaluation.functional.nms import oks_iou

from fasrnet_mmpose.tracking import (
    PoseTracker,
    box_iou,
    keypoints_to_bboxes,
    oks_similarity,
    track_video,
)

SIGMAS = posetrack_sigmas()
K = len(SIGMAS)


def _skeleton(rng):
    """A person-like pose: 17 joints inside a 60 x 150 box around the origin."""
    return rng.uniform([-30, -75], [30, 75], size=(K, 2))


def _people_video(num_frames=12, num_people=4, seed=0, jitter=1.0):
    """People walking on straight lines (some crossing), with jitter.

    Returns:
        tuple: per-frame ``(keypoints, scores, bboxes)`` with the persons in random
        order, and per frame the true identity of each row.
    """
    rng = np.random.default_rng(seed)
    shapes = np.stack([_skeleton(rng) for _ in range(num_people)])
    start = rng.uniform([100, 200], [900, 300], size=(num_people, 2))
    velocity = rng.uniform(-12, 12, size=(num_people, 2))
    frames, truth = [], []
    for t in range(num_frames):
        order = rng.permutation(num_people)
        centre = start + velocity * t
        kpts = shapes + centre[:, None] + rng.normal(0, jitter, (num_people, K, 2))
        kpts = kpts[order]
        scores = rng.uniform(0.5, 1.0, (num_people, K))
        boxes = keypoints_to_bboxes(kpts, padding=0.1)
        frames.append((kpts, scores, boxes))
        truth.append(order)
    return frames, truth


def _consistent(ids_per_frame, truth_per_frame):
    """Whether each true identity keeps one id and each id one identity."""
    pairs = {
        (int(t), int(i)) for ids, tr in zip(ids_per_frame, truth_per_frame) for t, i in zip(tr, ids)
    }
    return len({t for t, _ in pairs}) == len(pairs) == len({i for _, i in pairs})


def test_stable_ids_for_moving_people():
    frames, truth = _people_video()
    tracker = PoseTracker(SIGMAS)
    ids = [tracker.update(*f) for f in frames]
    for frame_ids in ids:
        assert frame_ids.dtype == np.int64
        assert (frame_ids >= 0).all()
        assert len(np.unique(frame_ids)) == len(frame_ids)
    assert _consistent(ids, truth)
    assert sorted(np.unique(np.concatenate(ids)).tolist()) == [0, 1, 2, 3]


def test_track_video_equals_online_updates():
    frames, truth = _people_video(seed=3)
    tracker = PoseTracker(SIGMAS, max_age=2)
    online = [tracker.update(*f) for f in frames]
    offline = track_video(frames, sigmas=SIGMAS, max_age=2)
    assert len(offline) == len(frames)
    for a, b in zip(online, offline):
        np.testing.assert_array_equal(a, b)
    # boxes are optional: the keypoint boxes are used instead
    no_boxes = track_video([(k, s) for k, s, _ in frames], sigmas=SIGMAS)
    assert _consistent(no_boxes, truth)


def test_empty_frames_and_max_age():
    frames, truth = _people_video(num_frames=4, num_people=2, seed=1, jitter=0.0)
    empty = (np.zeros((0, K, 2)), np.zeros((0, K)), np.zeros((0, 4)))
    tracker = PoseTracker(SIGMAS, max_age=2, motion=False)
    first = tracker.update(*frames[0])
    out = tracker.update(*empty)
    assert out.shape == (0,) and out.dtype == np.int64
    assert tracker.update([], [], []).shape == (0,)  # lists without rows are fine too
    # two frames without a match: still within max_age -> same ids
    again = tracker.update(*frames[0])
    np.testing.assert_array_equal(again, first)
    # three empty frames: the tracks are gone -> new ids
    for _ in range(3):
        tracker.update(*empty)
    assert tracker.num_tracks == 0
    fresh = tracker.update(*frames[0])
    assert set(fresh.tolist()) == {2, 3}


def test_missed_person_keeps_id_within_max_age():
    frames, truth = _people_video(num_frames=8, num_people=3, seed=5)
    tracker = PoseTracker(SIGMAS, max_age=3)
    ids = []
    for t, (k, s, b) in enumerate(frames):
        keep = np.ones(len(k), bool)
        if t in (3, 4):  # identity 0 is not detected in two frames
            keep = truth[t] != 0
        ids.append(tracker.update(k[keep], s[keep], b[keep]))
        truth[t] = truth[t][keep]
    assert _consistent(ids, truth)


def test_new_person_far_away_gets_new_id_and_reset():
    rng = np.random.default_rng(2)
    pose = _skeleton(rng) + 500
    scores = np.ones((1, K))
    tracker = PoseTracker(SIGMAS, min_similarity=0.2)
    assert tracker.update(pose[None], scores).tolist() == [0]
    assert tracker.update(pose[None] + 3, scores).tolist() == [0]
    assert tracker.update(pose[None] + 400, scores).tolist() == [1]
    tracker.reset()
    assert tracker.num_tracks == 0
    assert tracker.update(pose[None], scores).tolist() == [0]


def test_low_score_keypoints_are_ignored():
    """Joints below kpt_thr do not enter the OKS: a wild low-score joint changes nothing."""
    rng = np.random.default_rng(4)
    pose = _skeleton(rng) + 300
    scores = np.full((1, K), 0.9)
    moved = pose.copy()
    moved[:8] += 300  # 8 of 17 joints elsewhere: OKS 9/17 with them, 1 without
    low = scores.copy()
    low[0, :8] = 0.1
    for moved_scores, expected in ((low, [0]), (scores, [1])):
        tracker = PoseTracker(SIGMAS, iou_weight=0.0, min_similarity=0.7, motion=False)
        tracker.update(pose[None], scores)
        assert tracker.update(moved[None], moved_scores).tolist() == expected


@pytest.mark.parametrize(
    'args,match',
    [
        ((np.zeros((2, 5, 2)), np.zeros((2, 5)), np.zeros((2, 4))), r'\[N, 17, 2\]'),
        ((np.zeros((2, K, 2)), np.zeros((3, K)), np.zeros((2, 4))), 'keypoint_scores'),
        ((np.zeros((2, K, 2)), np.zeros((2, K)), np.zeros((2, 5))), 'bboxes'),
        ((np.full((1, K, 2), np.nan), np.zeros((1, K)), np.zeros((1, 4))), 'NaN'),
    ],
)
def test_bad_input_raises_one_clear_line(args, match):
    with pytest.raises(ValueError, match=match):
        PoseTracker(SIGMAS).update(*args)
    with pytest.raises(ValueError, match=r'frames\[0\]'):
        track_video([args], sigmas=SIGMAS)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(sigmas=[]),
        dict(sigmas=SIGMAS, max_age=-1),
        dict(sigmas=SIGMAS, oks_weight=0, iou_weight=0),
    ],
)
def test_bad_options(kwargs):
    with pytest.raises(ValueError, match='PoseTracker'):
        PoseTracker(**kwargs)


def test_oks_equals_mmpose_oks_iou():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, (3, K, 2))
    b = a[[1, 0]] + rng.normal(0, 5, (2, K, 2))
    va = rng.uniform(size=(3, K)) > 0.2
    vb = rng.uniform(size=(2, K)) > 0.2
    area = np.array([900.0, 1600.0])
    ours = oks_similarity(a, va, b, vb, area, SIGMAS)
    for j in range(2):
        g = np.concatenate([b[j], vb[j, :, None].astype(float)], axis=1).reshape(-1)
        d = np.concatenate([a, va[..., None].astype(float)], axis=2).reshape(3, -1)
        ref = oks_iou(g, d, area[j], np.full(3, area[j]), SIGMAS, vis_thr=0.5)
        np.testing.assert_allclose(ours[:, j], ref, rtol=1e-5)


def test_box_iou_and_keypoint_boxes():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], float)
    b = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 0, 0]], float)
    np.testing.assert_allclose(box_iou(a, b), [[1, 0, 0], [25 / 175, 0, 0]])
    kpts = np.array([[[1, 2], [5, 9], [100, 100]]], float)
    vis = np.array([[True, True, False]])
    np.testing.assert_allclose(keypoints_to_bboxes(kpts, vis), [[1, 2, 5, 9]])
    np.testing.assert_allclose(keypoints_to_bboxes(kpts, vis, padding=0.5), [[-1, -1.5, 7, 12.5]])
    np.testing.assert_allclose(keypoints_to_bboxes(kpts, ~np.ones_like(vis)), [[0, 0, 0, 0]])
