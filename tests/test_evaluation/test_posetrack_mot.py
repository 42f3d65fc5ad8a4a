# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack tracking evaluation (poseval's MOTA): equal to poseval, both formats, edge cases."""

import copy
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from _posetrack_reference import to_annolist
from conftest import PROJECT_ROOT, load_tool, shared_path
from scipy.optimize import linear_sum_assignment

from fasrnet_mmpose.evaluation.functional import PoseTrackFormatError, metrics_to_json
from fasrnet_mmpose.evaluation.functional.posetrack_mot import (
    MAX_TRACK_ID,
    MOT_KEYS,
    NUM_JOINTS,
    JointAccumulators,
    evaluate_tracking_dirs,
    format_mot_table,
)

REF = ('data', 'posetrack_tracking_reference')
SETS = ('true_ids', 'ids_reset_every_4_frames', 'shuffled_ids_per_frame', 'noisy_with_misses')
KEYS = ('mota', 'motp', 'pre', 'rec')


def _expected(name):
    with open(shared_path(*REF, f'pred_{name}_poseval_MOT.json')) as f:
        return json.load(f)


def _assert_equal(result, expected):
    for key in KEYS:
        np.testing.assert_allclose(result[key], expected[key], atol=0.01, rtol=0, err_msg=key)
    if 'names' in result:
        assert result['names'] == expected['names']


def _convert_dir(src: str, dst: str) -> str:
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        with open(osp.join(src, name)) as f:
            data = json.load(f)
        with open(osp.join(dst, name), 'w') as f:
            json.dump({'annolist': to_annolist(data)}, f)  # PT18 -> PT17
    return dst


def _copy_dir(src: str, dst: str, edit=None) -> str:
    """Copy a folder of per-video files, applying ``edit(name, data)`` to each."""
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        with open(osp.join(src, name)) as f:
            data = json.load(f)
        if edit is not None:
            edit(name, data)
        with open(osp.join(dst, name), 'w') as f:
            json.dump(data, f)
    return dst


# ------------------------------------------------------------------------- reference sets
@pytest.mark.parametrize('name', SETS)
def test_equals_poseval_pt18(name):
    gt = shared_path(*REF, 'gt')
    result = evaluate_tracking_dirs(gt, shared_path(*REF, f'pred_{name}'))
    _assert_equal(result, _expected(name))
    _assert_equal(metrics_to_json(result, MOT_KEYS), _expected(name))
    assert result['num_frames'] == 6 + 8 - 2  # the last labelled frame of each video is left out


@pytest.mark.parametrize('name', SETS)
def test_equals_poseval_pt17(tmp_path, name):
    gt = _convert_dir(shared_path(*REF, 'gt'), str(tmp_path / 'gt'))
    pred = _convert_dir(shared_path(*REF, f'pred_{name}'), str(tmp_path / 'pred'))
    result = evaluate_tracking_dirs(gt, pred, 'pt17')
    _assert_equal(result, _expected(name))
    # PT17 GT with PT18 predictions (poseval converts each file on its own)
    mixed = evaluate_tracking_dirs(gt, shared_path(*REF, f'pred_{name}'))
    _assert_equal(mixed, _expected(name))


def test_cli_track_alone_and_with_ap(tmp_path):
    gt, pred = shared_path(*REF, 'gt'), shared_path(*REF, 'pred_noisy_with_misses')
    tool = osp.join(PROJECT_ROOT, 'tools', 'eval_posetrack.py')
    out = tmp_path / 'total_MOT_metrics.json'
    proc = subprocess.run(
        [sys.executable, tool, '--track', '--gt', gt, '--pred', pred, '--json', str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'MOTA' in proc.stdout and 'mAP' not in proc.stdout
    row = proc.stdout.splitlines()[-2].split()
    assert row[0] == 'pred_noisy_with_misses'
    assert row[8:] == ['25.4', '40.2', '65.1', '54.8']  # MOTA, MOTP, Prec, Rec totals
    with open(out) as f:
        _assert_equal(json.load(f), _expected('noisy_with_misses'))

    ap_out, mot_out = tmp_path / 'ap.json', tmp_path / 'mot.json'
    args = ['--track', '--ap', '--gt', gt, '--pred', pred, '--json', str(ap_out)]
    assert load_tool('eval_posetrack').main(args + ['--mot-json', str(mot_out)]) == 0
    with open(mot_out) as f:
        _assert_equal(json.load(f), _expected('noisy_with_misses'))
    with open(ap_out) as f:
        ap = json.load(f)
    with open(shared_path(*REF, 'pred_noisy_with_misses_poseval_AP.json')) as f:
        expected_ap = json.load(f)
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_allclose(ap[key], expected_ap[key], atol=0.01, rtol=0)


def test_cli_track_needs_only_numpy_and_scipy(tmp_path):
    code = (
        'import sys; sys.path.insert(0, {tools!r}); import eval_posetrack as e; '
        'rc = e.main(["--track", "--gt", {gt!r}, "--pred", {pred!r}]); '
        'assert rc == 0; assert "torch" not in sys.modules and "mmpose" not in sys.modules, '
        '"heavy imports"'
    ).format(
        tools=osp.join(PROJECT_ROOT, 'tools'),
        gt=shared_path(*REF, 'gt'),
        pred=shared_path(*REF, 'pred_true_ids'),
    )
    proc = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert '100.0' in proc.stdout


# ----------------------------------------------------------------------------- edge cases
def _run_edit(tmp_path, edit, src='pred_true_ids'):
    pred = _copy_dir(shared_path(*REF, src), str(tmp_path / 'pred'), edit)
    return evaluate_tracking_dirs(shared_path(*REF, 'gt'), pred)


def test_empty_prediction_video_counts_poseval_placeholders(tmp_path):
    """poseval's result: a labelled frame without predictions adds, per joint, one miss and
    one false positive (its ``[0]`` vs ``[0]`` placeholder), whatever the number of GT persons.
    """

    def empty_all(name, data):
        data['annotations'] = []

    result = _run_edit(tmp_path / 'all', empty_all)
    np.testing.assert_array_equal(result['num_objects'], 12)  # one per evaluated frame
    np.testing.assert_array_equal(result['num_misses'], 12)
    np.testing.assert_array_equal(result['num_false_positives'], 12)
    np.testing.assert_allclose(result['mota'], -100.0)
    np.testing.assert_allclose(result['motp'], 0.0)
    np.testing.assert_allclose(result['pre'], 0.0)
    np.testing.assert_allclose(result['rec'], 0.0)

    def empty_one(name, data):
        if name.startswith('000101'):
            data['annotations'] = []

    # poseval 4258a15 + motmetrics 1.4.0 on the same files: 70.029 / 75.936 / 85.014 / 85.014
    result = _run_edit(tmp_path / 'one', empty_one)
    np.testing.assert_allclose(
        [result[k][NUM_JOINTS] for k in KEYS], [70.029, 75.936, 85.014, 85.014], atol=0.001
    )


def test_track_ids_up_to_max_track_id_and_negative_give_the_same(tmp_path):
    def shift(n):
        def edit(name, data):
            for ann in data['annotations']:
                ann['track_id'] += n

        return edit

    for n in (1000, 9000, -100):  # the predicted ids are < 1000
        _assert_equal(_run_edit(tmp_path / str(n), shift(n)), _expected('true_ids'))
    with pytest.raises(PoseTrackFormatError, match=r'track_id 1\d{4} .* is >= 10000.*renumber'):
        _run_edit(tmp_path / 'big', shift(MAX_TRACK_ID))


def test_missing_or_duplicated_track_id_is_one_clear_error(tmp_path):
    def missing(name, data):
        del data['annotations'][3]['track_id']

    with pytest.raises(PoseTrackFormatError, match=r'000101_mpii_test.json: .* no "track_id"'):
        _run_edit(tmp_path / 'missing', missing)

    def duplicated(name, data):
        anns = data['annotations']
        assert anns[0]['image_id'] == anns[1]['image_id']
        anns[1]['track_id'] = anns[0]['track_id']

    with pytest.raises(PoseTrackFormatError, match=r'track_id 8 appears twice in frame 2'):
        _run_edit(tmp_path / 'dup', duplicated)

    gt = _copy_dir(shared_path(*REF, 'gt'), str(tmp_path / 'gt_dup'), duplicated)
    with pytest.raises(PoseTrackFormatError, match=r'GT track_id 1 appears twice in frame 2'):
        evaluate_tracking_dirs(gt, shared_path(*REF, 'pred_true_ids'))
    gt = _copy_dir(shared_path(*REF, 'gt'), str(tmp_path / 'gt'), missing)
    with pytest.raises(
        PoseTrackFormatError, match=r'a GT person in frame \d+ .* has track_id None'
    ):
        evaluate_tracking_dirs(gt, shared_path(*REF, 'pred_true_ids'))


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    def string_id(name, data):
        data['annotations'][0]['track_id'] = 'a'

    pred = _copy_dir(shared_path(*REF, 'pred_true_ids'), str(tmp_path / 'pred'), string_id)
    tool = load_tool('eval_posetrack')
    assert tool.main(['--track', '--gt', shared_path(*REF, 'gt'), '--pred', pred]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "has track_id 'a'; the tracking evaluation needs a number" in err


def test_video_with_one_labelled_frame_is_left_out(tmp_path, caplog, capsys):
    """poseval crashes (IndexError); we leave such a video out, with a warning."""
    gt_src = shared_path(*REF, 'gt')

    def unlabel(name, data):
        if name.startswith('009640'):
            labelled = sorted({a['image_id'] for a in data['annotations']})
            data['annotations'] = [a for a in data['annotations'] if a['image_id'] == labelled[0]]

    gt = _copy_dir(gt_src, str(tmp_path / 'gt'), unlabel)
    result = evaluate_tracking_dirs(gt, shared_path(*REF, 'pred_noisy_with_misses'))
    assert result['skipped_videos'] == [osp.join(gt, '009640_mpii_test.json')]
    assert 'only one labelled frame' in caplog.text

    # same as evaluating the other video alone
    alone_gt = _copy_dir(gt_src, str(tmp_path / 'gt1'))
    os.remove(osp.join(alone_gt, '009640_mpii_test.json'))
    alone = evaluate_tracking_dirs(alone_gt, shared_path(*REF, 'pred_noisy_with_misses'))
    for key in KEYS + ('num_objects', 'num_switches', 'sum_d'):
        np.testing.assert_array_equal(result[key], alone[key])
    assert result['num_frames'] == alone['num_frames'] == 5

    tool = load_tool('eval_posetrack')
    assert tool.main(['--track', '--gt', gt, '--pred', shared_path(*REF, 'pred_true_ids')]) == 0
    out = capsys.readouterr().out
    assert f'warning: {osp.join(gt, "009640_mpii_test.json")} has a single labelled frame' in out


def test_table_layout():
    result = {k: np.arange(16, dtype=float) for k in KEYS}
    lines = format_mot_table(result, name='x').splitlines()
    assert lines[0].split() == ['MOTA'] * 8 + ['MOTP', 'Prec', 'Rec']
    groups = ['Head', 'Shou', 'Elb', 'Wri', 'Hip', 'Knee', 'Ankl']
    assert lines[1].split() == ['Method'] + groups + ['Total'] * 4
    # groups: means of poseval's joints (Head = head_top, neck, nose = 14, 12, 13)
    assert (
        lines[3].split() == ['x', '13.0', '8.5', '8.5', '8.5', '2.5', '2.5', '2.5'] + ['15.0'] * 4
    )


# ------------------------------------------------- the accumulators against a plain restatement
class _LoopAccumulator:
    """motmetrics 1.4.0's ``MOTAccumulator.update`` for one joint, restated with plain loops
    (events counted; ``sum_d`` = ``events['D'].sum()``), scipy as the assignment solver.
    """

    def __init__(self):
        self.m, self.res_m, self.last_match, self.hyp_history = {}, {}, set(), set()
        self.c = dict(match=0, switch=0, miss=0, fp=0, obj=0, sum_d=0.0)

    def update(self, oids, hids, dists):
        dists = np.array(dists, float).reshape(len(oids), len(hids))
        self.c['sum_d'] += np.nansum(dists)  # RAW events
        o_done, h_done = set(), set()
        for i, o in enumerate(oids):
            if o in self.m and self.m[o] in hids:
                j = hids.index(self.m[o])
                if j not in h_done and np.isfinite(dists[i, j]):
                    o_done.add(i)
                    h_done.add(j)
                    self.c['match'] += 1
                    self.c['sum_d'] += dists[i, j]
                    self.last_match.add(o)
                    self.hyp_history.add(hids[j])
        rest = dists.copy()
        rest[sorted(o_done), :] = np.nan
        rest[:, sorted(h_done)] = np.nan
        ok = np.isfinite(rest)
        if ok.any():
            big = 2 * min(rest.shape) * (np.abs(rest[ok]).max() + 1) + 1
            for i, j in zip(*linear_sum_assignment(np.where(ok, rest, big))):
                if not ok[i, j]:
                    continue
                o, h, d = oids[i], hids[j], dists[i, j]
                switch = o in self.m and self.m[o] != h
                extra = int(switch and h not in self.hyp_history)  # ASCEND
                if h in self.res_m and self.res_m[h] != o:  # TRANSFER (+ MIGRATE)
                    extra += 1 + int(o not in self.last_match)
                self.c['switch' if switch else 'match'] += 1
                self.c['sum_d'] += d * (1 + extra)
                self.hyp_history.add(h)
                self.last_match.add(o)
                self.m[o], self.res_m[h] = h, o
                o_done.add(i)
                h_done.add(j)
        self.c['obj'] += len(oids)
        self.c['miss'] += len(oids) - len(o_done)
        self.c['fp'] += len(hids) - len(h_done)


@pytest.mark.parametrize('seed', range(6))
def test_accumulators_equal_loop_restatement(seed):
    """Random frames with re-used ids (switches, transfers) and exact ties."""
    rng = np.random.default_rng(seed)
    n_gt, n_pred = 5, 7
    ours = JointAccumulators(n_gt, n_pred)
    loops = [_LoopAccumulator() for _ in range(NUM_JOINTS)]
    for _ in range(15):
        g, p = int(rng.integers(1, n_gt + 1)), int(rng.integers(1, n_pred + 1))
        gids, pids = rng.permutation(n_gt)[:g], rng.permutation(n_pred)[:p]
        gv = rng.random((g, NUM_JOINTS)) < 0.85
        pv = rng.random((p, NUM_JOINTS)) < 0.85
        dist = rng.integers(0, 6, (g, p, NUM_JOINTS)) / 10  # ties
        dist[rng.random(dist.shape) < 0.3] = np.nan
        dist[~(gv[:, None] & pv[None])] = np.nan
        ours.update(gids, pids, gv, pv, copy.deepcopy(dist))
        for j, acc in enumerate(loops):
            gi, pi = np.flatnonzero(gv[:, j]), np.flatnonzero(pv[:, j])
            acc.update(gids[gi].tolist(), pids[pi].tolist(), dist[np.ix_(gi, pi, [j])][..., 0])
    loop = {k: np.array([a.c[k] for a in loops]) for k in loops[0].c}
    np.testing.assert_array_equal(ours.counts['num_matches'], loop['match'])
    np.testing.assert_array_equal(ours.counts['num_switches'], loop['switch'])
    np.testing.assert_array_equal(ours.counts['num_misses'], loop['miss'])
    np.testing.assert_array_equal(ours.counts['num_false_positives'], loop['fp'])
    np.testing.assert_array_equal(ours.counts['num_objects'], loop['obj'])
    np.testing.assert_allclose(ours.sum_d, loop['sum_d'], rtol=1e-12)
    assert loop['switch'].sum() > 0
