# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrackMAPMetric(track=True): tracked ids in the files, MOTA/MOTP/Pre/Rec next to the mAP."""

import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import posetrack_sigmas, shared_path

from fasrnet_mmpose.evaluation import PoseTrackMAPMetric
from fasrnet_mmpose.evaluation.functional.posetrack_mot import evaluate_tracking_dirs

REF = ('data', 'posetrack_tracking_reference')
SIGMAS = posetrack_sigmas()
MOT = ('MOTA', 'MOTP', 'MOT Pre', 'MOT Rec')


def _samples(pred_dir):
    """Top-down data samples (one per person) of PT18 prediction files, without track ids."""
    samples = []
    for name in sorted(os.listdir(pred_dir)):
        with open(osp.join(pred_dir, name)) as f:
            data = json.load(f)
        file_of = {img['id']: img['file_name'] for img in data['images']}
        for ann in data['annotations']:
            path = file_of[ann['image_id']]
            kpts = np.asarray(ann['keypoints'], np.float32).reshape(17, 3)
            samples.append(
                dict(
                    img_path='/data/posetrack18/' + path,
                    vid_id=name.split('_')[0],
                    frame_index=int(osp.splitext(osp.basename(path))[0]),
                    id=len(samples),
                    pred_instances=dict(
                        keypoints=kpts[None, :, :2],
                        keypoint_scores=np.asarray(ann['scores'], np.float32)[None],
                    ),
                    gt_instances=dict(bbox_scores=np.ones(1, np.float32)),
                )
            )
    return samples


def _run(metric, samples, batch=5):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i : i + batch])
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('out_format', ['pt18', 'pt17'])
def test_track_reports_mota_and_writes_the_ids(tmp_path, out_format):
    gt = shared_path(*REF, 'gt')
    out = str(tmp_path / 'preds')
    metric = PoseTrackMAPMetric(
        gt_folder=gt, outfile_prefix=out, outfile_format=out_format, track=True
    )
    metric.dataset_meta = dict(sigmas=SIGMAS)
    res = _run(metric, _samples(shared_path(*REF, 'pred_noisy_with_misses')))
    # the tracker's quality on this set (true ids: 25.4), reported next to the mAP
    assert res['posetrack/MOTA'] >= 23
    with open(shared_path(*REF, 'pred_noisy_with_misses_poseval_AP.json')) as f:
        assert res['posetrack/AP'] == pytest.approx(json.load(f)['ap'][-1], abs=0.01)
    # the written files carry the ids: evaluating them gives the same numbers
    written = evaluate_tracking_dirs(gt, out)
    for name, key in zip(MOT, ('mota', 'motp', 'pre', 'rec')):
        assert res[f'posetrack/{name}'] == pytest.approx(written[key][-1], abs=1e-9)


def test_without_track_no_mot_metrics_and_track_needs_sigmas(tmp_path):
    gt = shared_path(*REF, 'gt')
    samples = _samples(shared_path(*REF, 'pred_true_ids'))
    res = _run(PoseTrackMAPMetric(gt_folder=gt), samples)
    assert 'posetrack/AP' in res and not any(f'posetrack/{n}' in res for n in MOT)
    metric = PoseTrackMAPMetric(gt_folder=gt, track=True)
    with pytest.raises(ValueError, match=r'track=True\) needs the dataset.s keypoint `sigmas`'):
        _run(metric, samples)


def test_track_options_reach_the_tracker():
    """max_age=0 drops the ids of missed persons: a lower MOTA than the default (25.4)."""
    gt = shared_path(*REF, 'gt')
    samples = _samples(shared_path(*REF, 'pred_noisy_with_misses'))
    mota = {}
    for max_age in (0, 10):
        metric = PoseTrackMAPMetric(gt_folder=gt, track=True, track_options=dict(max_age=max_age))
        metric.dataset_meta = dict(sigmas=SIGMAS)
        mota[max_age] = _run(metric, samples)['posetrack/MOTA']
    assert mota[0] < mota[10] - 1.0
