# Copyright (c) OpenMMLab. All rights reserved.
"""The vectorised PoseTrack AP (poseval protocol): equality with poseval and corner cases."""

import json
import os.path as osp

import _posetrack_reference as reference
import _posetrack_synth as synth
import numpy as np
import pytest
from _posetrack_synth import Frame, Person
from conftest import shared_path

from fasrnet_mmpose.evaluation import functional as pe
from fasrnet_mmpose.evaluation.functional import posetrack_protocol as protocol
from fasrnet_mmpose.evaluation.functional.posetrack_data import MIN_SCORE

ANN = ('data', 'posetrack18_mini', 'annotations')
REF = ('data', 'posetrack_eval_reference')


def _expected():
    with open(shared_path(*REF, 'pred_noisy_expected_poseval.json')) as f:
        return json.load(f)


def _assert_same(result, expected, atol):
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_allclose(
            result[key], np.asarray(expected[key], float), atol=atol, rtol=0, err_msg=key
        )


# ------------------------------------------------------------------ poseval reference numbers
@pytest.mark.parametrize(
    'gt,pred',
    [
        ('val', 'pred_noisy'),
        ('val_pt17', 'pred_noisy_pt17fmt'),
        ('val', 'pred_noisy_pt17fmt'),
        ('val_pt17', 'pred_noisy'),
    ],
)
def test_equals_poseval_on_shared_reference(gt, pred):
    """Both GT formats (and mixed formats) reproduce poseval's total_AP_metrics.json."""
    expected = _expected()
    result = pe.evaluate_dirs(shared_path(*ANN, gt), shared_path(*REF, pred))
    _assert_same(result, expected, atol=0.01)  # the acceptance tolerance
    _assert_same(result, expected, atol=1e-9)  # in fact equal up to float summation order
    assert result['num_frames'] == 3
    table = pe.summarize(result['ap'])
    assert list(table) == ['Head', 'Shou', 'Elb', 'Wri', 'Hip', 'Knee', 'Ankl', 'Total']
    ap = np.asarray(expected['ap'])
    assert table['Head'] == pytest.approx(ap[[12, 13, 14]].mean())
    assert table['Total'] == pytest.approx(ap[15]) == pytest.approx(ap[:15].mean())


@pytest.mark.parametrize('gt_format,gt', [('pt18', 'val'), ('pt17', 'val_pt17')])
def test_exact_copy_gives_100(gt_format, gt):
    result = pe.evaluate_dirs(shared_path(*ANN, gt), shared_path(*REF, 'pred_exact'), gt_format)
    np.testing.assert_array_equal(result['ap'], 100.0)
    np.testing.assert_array_equal(result['rec'], 100.0)


def test_shared_reference_needs_ignore_regions():
    """The reference predictions put joints in ignore regions: without them AP differs."""
    gt = pe.load_gt_dir(shared_path(*ANN, 'val'))
    for video in gt:
        video.ignore_regions = [[] for _ in video.ignore_regions]
    pred = pe.load_pred_dir(shared_path(*REF, 'pred_noisy'), gt)
    result = pe.evaluate_videos(gt, pred)
    assert abs(result['ap'][15] - _expected()['ap'][15]) > 0.1


# ---------------------------------------------------------------- naive restatement, random
@pytest.mark.parametrize('seed', range(12))
@pytest.mark.parametrize(
    'gt_format,pred_format', [('pt18', 'pt18'), ('pt17', 'pt17'), ('pt18', 'pt17')]
)
def test_equals_loop_reference_on_random_videos(seed, gt_format, pred_format):
    """Vectorised result == the joint-by-joint restatement of poseval (shapely regions)."""
    pytest.importorskip('shapely')
    videos = synth.random_videos(seed, num_videos=3, num_frames=5, ties=seed % 3 == 0)
    pairs = synth.to_pairs(videos, gt_format, pred_format)
    expected = reference.evaluate(pairs)
    gts = [pe.parse_posetrack_video(g, f'gt{i}', True) for i, (g, _) in enumerate(pairs)]
    preds = [pe.parse_posetrack_video(p, f'pred{i}', False) for i, (_, p) in enumerate(pairs)]
    result = pe.evaluate_videos(gts, preds)
    np.testing.assert_array_equal(result['num_gt'], expected['num_gt'])
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_allclose(result[key], expected[key], atol=1e-9, rtol=0, err_msg=key)


def test_chunked_pair_computation(monkeypatch):
    """PCKh matching and ignore regions are computed in chunks of pairs: same result."""
    videos = synth.random_videos(5, num_videos=2, num_frames=6)
    pairs = synth.to_pairs(videos)
    gts = [pe.parse_posetrack_video(g, f'gt{i}', True) for i, (g, _) in enumerate(pairs)]
    preds = [pe.parse_posetrack_video(p, f'pred{i}', False) for i, (_, p) in enumerate(pairs)]
    whole = pe.evaluate_videos(gts, preds)
    monkeypatch.setattr(protocol, '_PAIR_CHUNK', 7)
    monkeypatch.setattr(protocol, '_EDGE_CHUNK', 5)  # ignore-region (point, edge) pairs
    chunked = pe.evaluate_videos(gts, preds)
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_array_equal(chunked[key], whole[key])


def test_points_in_polygons_matches_shapely():
    shapely = pytest.importorskip('shapely')
    from shapely import geometry

    rng = np.random.default_rng(0)
    for _ in range(30):
        k = int(rng.integers(3, 9))
        poly = rng.integers(0, 20, (k, 2)).astype(float)  # integer grid: many boundary hits
        pts = np.concatenate(
            [rng.integers(-1, 21, (150, 2)).astype(float), poly, (poly + np.roll(poly, -1, 0)) / 2]
        )
        ours = protocol.points_in_polygons(pts, [poly])
        ref = np.array([geometry.Polygon(poly).contains(geometry.Point(*p)) for p in pts])
        np.testing.assert_array_equal(ours, ref, err_msg=f'{shapely.__version__} {poly}')
    # several polygons at once = union; degenerate polygons contain nothing
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    pts = np.array([[5, 5], [15, 5], [25, 5], [10, 5], [1, 1]], float)
    polys = [square, square + [20, 0], np.array([[0, 0], [30, 30]])]
    np.testing.assert_array_equal(
        protocol.points_in_polygons(pts, polys), [True, False, True, False, True]
    )
    # groups (frames): a point is only tested against the polygons of its own group
    inside = protocol.points_in_polygons(pts, polys, np.array([1, 1, 2, 1, 2]), np.array([1, 2, 2]))
    np.testing.assert_array_equal(inside, [True, False, True, False, False])


# ----------------------------------------------------------------------- synthetic protocol
def _person(offset=(0.0, 0.0), score=0.9, has=None, head=(0.0, 0.0, 30.0, 40.0)):
    """Joints on a line; head box 30x40 -> head size 0.6 * 50 = 30 -> PCKh radius 15."""
    xy = np.stack([100 + 10 * np.arange(15), 200 + 5 * np.arange(15)], 1) + np.asarray(offset)
    return Person(
        xy, np.ones(15, bool) if has is None else has, np.full(15, score), head=list(head)
    )


def _evaluate(tmp_path, videos, gt_format='pt18', pred_format=None):
    gt_dir, pred_dir = synth.write_videos(str(tmp_path), videos, gt_format, pred_format)
    return pe.evaluate_dirs(gt_dir, pred_dir)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_perfect_and_pckh_threshold(tmp_path, fmt):
    gt = _person()
    result = _evaluate(tmp_path / 'a', {'v': [Frame([gt], [_person((14.9, 0))])]}, fmt)
    np.testing.assert_array_equal(result['ap'], 100.0)
    # 15.1 px > 0.5 * head size (15 px): every joint is a false positive, the GT is missed
    result = _evaluate(tmp_path / 'b', {'v': [Frame([gt], [_person((15.1, 0))])]}, fmt)
    np.testing.assert_array_equal(result['ap'], 0.0)
    np.testing.assert_array_equal(result['rec'], 0.0)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_ignore_regions(tmp_path, fmt):
    """Joints strictly inside a region vanish from GT and predictions; the boundary stays."""
    inside = _person((600, 0))  # x in 700..840, y in 200..270
    region = ([650, 900, 900, 650], [150, 150, 300, 300])
    fp_inside = _person((620, 10), score=0.95)
    frames = [Frame([_person(), inside], [_person(score=0.9), fp_inside], [region])]
    result = _evaluate(tmp_path / 'a', {'v': frames}, fmt)
    np.testing.assert_array_equal(result['ap'], 100.0)
    np.testing.assert_array_equal(result['num_gt'], 1)  # the GT inside does not count
    # without the region: the missed GT halves recall and the FP ranks first
    result = _evaluate(tmp_path / 'b', {'v': [Frame(frames[0].gt, frames[0].pred)]}, fmt)
    assert (result['rec'][:15] == 50.0).all()
    # a false positive lying exactly on the region's boundary is not ignored
    on_edge = Person(
        np.stack([650 + 10 * np.arange(15), np.full(15, 150.0)], 1),
        np.ones(15, bool),
        np.full(15, 0.95),
    )
    frames = [Frame([_person()], [_person(score=0.9), on_edge], [region])]
    result = _evaluate(tmp_path / 'c', {'v': frames}, fmt)
    # ranking FP (0.95), TP (0.9): precision 0, 1/2 at recall 0, 1 -> AP 50
    np.testing.assert_allclose(result['ap'], 50.0)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_unlabelled_joints(tmp_path, fmt):
    has = np.ones(15, bool)
    has[11] = False  # left wrist not annotated for the first person
    has[3] = False  # nobody annotates the left hip
    other = np.ones(15, bool)
    other[3] = False
    gt = [_person(has=has), _person((0, 300), has=other)]
    # the first person's left wrist is predicted with a higher score than the second's
    p1 = _person(score=0.5)
    p1.score[11] = 0.95
    frames = [Frame(gt, [p1, _person((0, 300), score=0.5)])]
    result = _evaluate(tmp_path, {'v': frames}, fmt)
    ap = result['ap']
    assert result['num_gt'][11] == 1 and result['num_gt'][3] == 0
    assert ap[11] == pytest.approx(50.0)  # unannotated joint -> false positive ranked first
    assert np.isnan(ap[3])  # predicted but never annotated: NaN, skipped in the total
    others = [j for j in range(15) if j not in (3, 11)]
    np.testing.assert_array_equal(ap[others], 100.0)
    assert ap[15] == pytest.approx((13 * 100 + 50) / 14)
    assert np.isnan(pe.summarize(ap)['Hip'])  # group means do not skip NaN (poseval)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_duplicates(tmp_path, fmt):
    """A duplicate is never assigned: a false positive; with equal scores it ranks first."""
    frames = [Frame([_person()], [_person(score=0.9), _person(score=0.9)])]
    result = _evaluate(tmp_path / 'tie', {'v': frames}, fmt)
    np.testing.assert_allclose(result['ap'], 50.0)  # ties: later point first
    np.testing.assert_allclose(result['pre'], 50.0)
    frames = [Frame([_person()], [_person(score=0.9), _person(score=0.8)])]
    result = _evaluate(tmp_path / 'lower', {'v': frames}, fmt)
    np.testing.assert_array_equal(result['ap'], 100.0)
    np.testing.assert_allclose(result['pre'], 50.0)


def test_tied_scores_rule():
    """Ties rank like argsort(kind='stable')[::-1]: among equal scores, later points first."""
    scores = np.array([[0.5], [0.5], [0.9], [0.5]]).repeat(15, 1)
    labels = np.array([[1], [0], [1], [0]], bool).repeat(15, 1)
    res = protocol.average_precision(scores, labels, np.ones_like(labels), np.full(15, 2))
    # order: idx 2 (TP), 3 (FP), 1 (FP), 0 (TP): precision 1, 1/2, 1/3, 1/2 -> AP (1 + .5) / 2
    np.testing.assert_allclose(res['ap'], 75.0)
    np.testing.assert_allclose(res['pre'], 50.0)
    np.testing.assert_allclose(res['rec'], 100.0)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_empty_frames(tmp_path, fmt):
    # a frame without GT persons is not evaluated: its false positives do not count
    frames = [Frame([_person()], [_person()]), Frame([], [_person(score=1.0)])]
    result = _evaluate(tmp_path / 'a', {'v': frames}, fmt)
    np.testing.assert_array_equal(result['ap'], 100.0)
    assert result['num_frames'] == 1
    # a labelled frame without predictions: its GT are misses
    frames = [Frame([_person()], [_person()]), Frame([_person()], [])]
    result = _evaluate(tmp_path / 'b', {'v': frames}, fmt)
    np.testing.assert_allclose(result['ap'], 50.0)
    np.testing.assert_allclose(result['rec'], 50.0)
    # no predictions at all: AP 0 (poseval leaves the zeros)
    result = _evaluate(tmp_path / 'c', {'v': [Frame([_person()], [])]}, fmt)
    np.testing.assert_array_equal(result['ap'], 0.0)
    # nothing labelled anywhere: nothing evaluated, no crash
    result = _evaluate(tmp_path / 'd', {'v': [Frame([], [_person()])]}, fmt)
    assert result['num_frames'] == 0
    np.testing.assert_array_equal(result['ap'], 0.0)


@pytest.mark.parametrize('fmt', ['pt18', 'pt17'])
def test_sequences_of_one_frame(tmp_path, fmt):
    videos = {
        'a': [Frame([_person()], [_person()])],
        'b': [Frame([_person((0, 300))], [_person((0, 300), 0.7), _person((400, 0), 0.6)])],
        'c': [Frame([], [])],
    }
    result = _evaluate(tmp_path / 'a', videos, fmt)
    assert result['num_frames'] == 2
    np.testing.assert_array_equal(result['ap'], 100.0)  # the FP ranks last
    np.testing.assert_allclose(result['pre'], 200 / 3)
    # FP tied with video a's TP: it comes later in the concatenation, so it ranks first
    videos['b'][0].pred[1].score[:] = 0.9
    result = _evaluate(tmp_path / 'b', videos, fmt)
    np.testing.assert_allclose(result['ap'], 200 / 3)  # precision 0, 1/2, 2/3


def test_joints_at_origin_not_predicted_pt18(tmp_path):
    """PT18 keypoint (0, 0) with visibility/score 0 = not predicted (poseval's converter)."""
    gt_dir, pred_dir = synth.write_videos(str(tmp_path), {'v': [Frame([_person()], [])]})
    pred_file = osp.join(pred_dir, 'v.json')
    with open(pred_file) as f:
        pred = json.load(f)
    kp = np.zeros((17, 3))
    kp[synth.POSEVAL_TO_PT18, :2] = _person().xy
    kp[:, 2] = 0.9
    extra = np.zeros((17, 3))  # a second person with no predicted joint at all
    pred['annotations'] = [
        dict(
            image_id=pred['images'][0]['id'],
            track_id=track_id,
            keypoints=k.reshape(-1).tolist(),
            scores=k[:, 2].tolist(),
            score=1.0,
        )
        for track_id, k in enumerate((kp, extra))
    ]
    with open(pred_file, 'w') as f:
        json.dump(pred, f)
    np.testing.assert_array_equal(pe.evaluate_dirs(gt_dir, pred_dir)['ap'], 100.0)
    # the same joints at (0, 0) with a non-zero score are predictions (false positives)
    extra[:, 2] = 0.95
    pred['annotations'][1].update(keypoints=extra.reshape(-1).tolist(), scores=extra[:, 2].tolist())
    with open(pred_file, 'w') as f:
        json.dump(pred, f)
    np.testing.assert_allclose(pe.evaluate_dirs(gt_dir, pred_dir)['ap'], 50.0)


def test_pt18_missing_scores_fall_back_to_min_score(tmp_path):
    gt_dir, pred_dir = synth.write_videos(
        str(tmp_path), {'v': [Frame([_person(), _person((0, 300))], [_person(score=0.5)])]}
    )
    with open(osp.join(pred_dir, 'v.json')) as f:
        pred = json.load(f)
    extra = dict(pred['annotations'][0], track_id=1)
    extra['keypoints'] = (
        (np.asarray(extra['keypoints']).reshape(17, 3) + [0, 300, 0]).reshape(-1).tolist()
    )
    del extra['scores']  # poseval: points without a score get MIN_SCORE (ranked last)
    pred['annotations'].append(extra)
    video = pe.parse_posetrack_video(pred, 'x.json', False)
    assert (video.persons.score[1][video.persons.valid[1]] == MIN_SCORE).all()


def test_table_and_json_layout():
    ap = np.arange(16, dtype=float)
    table = pe.format_table(ap, name='Ours').splitlines()
    assert table[0].split() == synth.TABLE_HEADER
    assert table[2].split() == ['Ours', '13.0', '8.5', '8.5', '8.5', '2.5', '2.5', '2.5', '15.0']
    out = pe.metrics_to_json(dict(ap=ap, pre=ap, rec=ap))
    assert out['names']['12'] == 'neck' and out['names']['15'] == 'total'
    assert len(out['ap']) == len(out['pre']) == len(out['rec']) == 16


# ------------------------------------------------------------------------------ bad input
def _write(path, content):
    with open(path, 'w') as f:
        json.dump(content, f) if not isinstance(content, str) else f.write(content)
    return str(path)


@pytest.fixture
def good_dirs(tmp_path):
    return synth.write_videos(
        str(tmp_path), {'vid': [Frame([_person()], [_person()]), Frame([], [])]}
    )


def _mutate(pred_dir, fn):
    path = osp.join(pred_dir, 'vid.json')
    with open(path) as f:
        data = json.load(f)
    fn(data)
    _write(path, data)
    return path


def test_error_missing_prediction_file(tmp_path, good_dirs):
    gt_dir, _ = good_dirs
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r'empty[/\\]vid\.json does not exist'):
        pe.evaluate_dirs(gt_dir, str(empty))


def test_error_frame_count_mismatch(good_dirs):
    gt_dir, pred_dir = good_dirs
    path = _mutate(pred_dir, lambda d: d['images'].pop())
    with pytest.raises(pe.PoseTrackFormatError, match='1 prediction frames') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)


def test_error_missing_track_id(good_dirs):
    gt_dir, pred_dir = good_dirs
    path = _mutate(pred_dir, lambda d: d['annotations'][0].pop('track_id'))
    with pytest.raises(pe.PoseTrackFormatError, match='track_id') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)


def test_error_missing_track_id_pt17(tmp_path):
    gt_dir, pred_dir = synth.write_videos(
        str(tmp_path), {'vid': [Frame([_person()], [_person()])]}, 'pt17'
    )
    path = _mutate(pred_dir, lambda d: d['annolist'][0]['annorect'][0].pop('track_id'))
    with pytest.raises(pe.PoseTrackFormatError, match='track_id') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)


def test_error_duplicate_track_id(good_dirs):
    gt_dir, pred_dir = good_dirs
    path = _mutate(pred_dir, lambda d: d['annotations'].append(dict(d['annotations'][0])))
    with pytest.raises(pe.PoseTrackFormatError, match='appears twice') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)


@pytest.mark.parametrize(
    'bad',
    [
        lambda a: a.update(keypoints=a['keypoints'][:-3]),
        lambda a: a.update(keypoints=['x'] * 51),
        lambda a: a.update(keypoints=7),
        lambda a: a.pop('keypoints'),
        lambda a: a.update(keypoints=[None] * 51),
        lambda a: a.update(scores=[0.5] * 3),
    ],
)
def test_error_malformed_keypoints(good_dirs, bad):
    gt_dir, pred_dir = good_dirs
    path = _mutate(pred_dir, lambda d: bad(d['annotations'][0]))
    with pytest.raises(pe.PoseTrackFormatError) as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value) and 'annotations[0]' in str(e.value)


@pytest.mark.parametrize(
    'bad',
    [
        lambda p: p.pop('x'),
        lambda p: p.update(x=['a']),
        lambda p: p.update(y=[float('nan')]),
    ],
)
def test_error_malformed_points_pt17(tmp_path, bad):
    gt_dir, pred_dir = synth.write_videos(
        str(tmp_path), {'vid': [Frame([_person()], [_person()])]}, 'pt17'
    )
    path = _mutate(
        pred_dir, lambda d: bad(d['annolist'][0]['annorect'][0]['annopoints'][0]['point'][2])
    )
    with pytest.raises(pe.PoseTrackFormatError) as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value) and 'annorect[0]' in str(e.value)


def test_error_unknown_image_and_bad_json(good_dirs):
    gt_dir, pred_dir = good_dirs
    path = _mutate(pred_dir, lambda d: d['annotations'][0].update(image_id=-5))
    with pytest.raises(pe.PoseTrackFormatError, match='image_id -5') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)
    _write(path, '{"images": [')
    with pytest.raises(pe.PoseTrackFormatError, match='invalid JSON') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert path in str(e.value)
    _write(path, {'foo': 1})
    with pytest.raises(pe.PoseTrackFormatError, match='not a PoseTrack file') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)


def test_error_gt_format_and_head_box(tmp_path, good_dirs):
    gt_dir, pred_dir = good_dirs
    with pytest.raises(pe.PoseTrackFormatError, match="format='pt17'") as e:
        pe.evaluate_dirs(gt_dir, pred_dir, 'pt17')
    assert osp.join(gt_dir, 'vid.json') in str(e.value)
    gt_file = osp.join(gt_dir, 'vid.json')
    with open(gt_file) as f:
        gt = json.load(f)
    del gt['annotations'][0]['bbox_head']
    _write(gt_file, gt)
    with pytest.raises(pe.PoseTrackFormatError, match='bbox_head') as e:
        pe.evaluate_dirs(gt_dir, pred_dir)
    assert gt_file in str(e.value)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        pe.evaluate_dirs(str(tmp_path / 'nowhere'), pred_dir)
