# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrackMAPMetric: collection, official-format files, in-process AP, flags, mapping."""

import glob
import json
import logging
import os
import os.path as osp

import _posetrack_reference as reference
import _posetrack_synth as synth
import numpy as np
import pytest
from _posetrack_synth import Frame, Person
from conftest import shared_path
from mmpose.registry import METRICS

from fasrnet_mmpose.evaluation import PoseTrackMAPMetric
from fasrnet_mmpose.evaluation import functional as pe

KEYS = ['Head AP', 'Shou AP', 'Elb AP', 'Wri AP', 'Hip AP', 'Knee AP', 'Ankl AP', 'AP', 'Total AP']


def _samples(videos, root='/data/posetrack18', box=None, seed=0):
    """Top-down data samples (dicts) of the synthetic predictions, one per person."""
    rng = np.random.default_rng(seed)
    samples = []
    for v, (name, frames) in enumerate(sorted(videos.items())):
        for f, fr in enumerate(frames):
            for p in fr.pred:
                kp = np.zeros((17, 2), np.float32)
                kp[synth.POSEVAL_TO_PT18] = p.xy * p.has[:, None]
                sc = np.zeros(17, np.float32)
                sc[synth.POSEVAL_TO_PT18] = p.score * p.has
                b = rng.uniform(0.3, 1.0) if box is None else box
                samples.append(
                    dict(
                        img_path=f'{root}/{synth.frame_name(name, f)}',
                        img_id=synth.image_id(v, f),
                        vid_id=name.split('_')[0],
                        frame_index=f,
                        id=len(samples),
                        pred_instances=dict(keypoints=kp[None], keypoint_scores=sc[None]),
                        gt_instances=dict(bbox_scores=np.array([b], np.float32)),
                    )
                )
    return samples


def _run(metric, samples, batch=7):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i : i + batch])
    return metric.evaluate(len(samples))


def _person(offset=(0.0, 0.0), score=0.9):
    xy = np.stack([100 + 10 * np.arange(15), 200 + 5 * np.arange(15)], 1) + np.asarray(offset)
    return Person(xy, np.ones(15, bool), np.full(15, score), head=[0.0, 0.0, 30.0, 40.0])


def test_registered_and_argument_checks(tmp_path):
    gt_dir, _ = synth.write_videos(str(tmp_path), {'vid': [Frame([_person()], [])]})
    metric = METRICS.build(dict(type='PoseTrackMAPMetric', gt_folder=gt_dir))
    assert isinstance(metric, PoseTrackMAPMetric)
    assert metric.prefix == 'posetrack' and metric.nms_mode == 'none'
    assert metric.multiply_box_score and metric.outfile_format == 'pt18'
    with pytest.raises(ValueError, match='gt_folder'):
        PoseTrackMAPMetric(gt_folder='')
    with pytest.raises(ValueError, match='format'):
        PoseTrackMAPMetric(gt_folder='x', format='coco')
    with pytest.raises(ValueError, match='outfile_format'):
        PoseTrackMAPMetric(gt_folder='x', outfile_format='pt19')
    with pytest.raises(ValueError, match='nms_mode'):
        PoseTrackMAPMetric(gt_folder='x', nms_mode='soft_oks_nms')
    with pytest.raises(ValueError, match='outfile_prefix'):
        PoseTrackMAPMetric(gt_folder='x', format_only=True)


@pytest.mark.parametrize(
    'gt,fmt,out_fmt',
    [
        ('val', 'pt18', 'pt18'),
        ('val', 'pt18', 'pt17'),
        ('val_pt17', 'pt17', 'pt17'),
        ('val_pt17', 'pt17', 'pt18'),
    ],
)
def test_shared_gt_keypoints_give_100(tmp_path, gt, fmt, out_fmt):
    """GT keypoints fed as predictions (other data root) -> 100; both result key names."""
    gt_dir = shared_path('data', 'posetrack18_mini', 'annotations', gt)
    samples = []
    pt18_dir = shared_path('data', 'posetrack18_mini', 'annotations', 'val')
    for path in sorted(glob.glob(osp.join(pt18_dir, '*.json'))):
        with open(path) as f:
            data = json.load(f)
        images = {im['id']: im for im in data['images']}
        for ann in data['annotations']:
            kp = np.asarray(ann['keypoints'], float).reshape(17, 3)
            image = images[ann['image_id']]
            samples.append(
                dict(
                    img_path='/somewhere/else/posetrack18/' + image['file_name'],
                    img_id=ann['image_id'],
                    vid_id=image['vid_id'],
                    frame_index=int(osp.splitext(osp.basename(image['file_name']))[0]),
                    id=ann['id'],
                    pred_instances=dict(
                        keypoints=kp[None, :, :2], keypoint_scores=(kp[None, :, 2] > 0) * 0.8
                    ),
                    gt_instances=dict(bbox_scores=np.array([0.9])),
                )
            )
    metric = PoseTrackMAPMetric(
        gt_folder=gt_dir, format=fmt, outfile_format=out_fmt, outfile_prefix=str(tmp_path / 'out')
    )
    res = _run(metric, samples)
    assert list(res) == [f'posetrack/{k}' for k in KEYS]
    assert all(v == 100.0 for v in res.values())
    written = pe.evaluate_dirs(gt_dir, str(tmp_path / 'out'))
    np.testing.assert_array_equal(written['ap'], 100.0)


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize(
    'gt_format,out_format', [('pt18', 'pt18'), ('pt18', 'pt17'), ('pt17', 'pt17')]
)
def test_in_process_equals_written_files(tmp_path, seed, gt_format, out_format):
    """In-process AP == AP of the written official files == the naive poseval restatement."""
    videos = synth.random_videos(seed, num_videos=3, num_frames=4, ties=seed == 1)
    gt_dir, _ = synth.write_videos(str(tmp_path), videos, gt_format)
    out = str(tmp_path / 'written')
    metric = PoseTrackMAPMetric(
        gt_folder=gt_dir, format=gt_format, outfile_format=out_format, outfile_prefix=out
    )
    res = _run(metric, _samples(videos, seed=seed))
    files = pe.evaluate_dirs(gt_dir, out)
    summary = pe.summarize(files['ap'])
    for name, value in summary.items():
        key = 'posetrack/AP' if name == 'Total' else f'posetrack/{name} AP'
        np.testing.assert_equal(res[key], value)
    assert res['posetrack/Total AP'] == res['posetrack/AP']
    pytest.importorskip('shapely')
    pairs = []
    for path in sorted(glob.glob(osp.join(gt_dir, '*.json'))):
        with open(path) as f, open(osp.join(out, osp.basename(path))) as g:
            pairs.append((json.load(f), json.load(g)))
    expected = reference.evaluate(pairs)
    np.testing.assert_allclose(files['ap'], expected['ap'], atol=1e-9)


def test_written_files_content(tmp_path):
    videos = {
        'vid': [
            Frame([_person()], [_person(score=0.5), _person((300, 0), 0.25)]),
            Frame([_person()], []),
        ]
    }
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    samples = _samples(videos, box=0.5)
    samples[0]['pred_instances']['keypoint_scores'][0, 16] = 0.8  # r_ankle -> poseval id 0
    for fmt in ('pt18', 'pt17'):
        out = str(tmp_path / fmt)
        _run(PoseTrackMAPMetric(gt_folder=gt_dir, outfile_format=fmt, outfile_prefix=out), samples)
        assert os.listdir(out) == ['vid.json']
        with open(osp.join(out, 'vid.json')) as f:
            data = json.load(f)
        kp0 = samples[0]['pred_instances']['keypoints'][0]
        if fmt == 'pt18':
            assert [im['id'] for im in data['images']] == [
                synth.image_id(0, 0),
                synth.image_id(0, 1),
            ]
            assert data['categories'][0]['keypoints'] == list(synth.PT18_NAMES)
            anns = data['annotations']
            assert [a['track_id'] for a in anns] == [0, 1]
            assert {a['image_id'] for a in anns} == {synth.image_id(0, 0)}
            assert len(anns[0]['keypoints']) == 51 and len(anns[0]['scores']) == 17
            assert anns[0]['score'] == 0.5
            assert anns[0]['scores'][16] == pytest.approx(0.8 * 0.5)  # heatmap max x box
            assert anns[0]['scores'][0] == pytest.approx(0.5 * 0.5)
            assert anns[0]['keypoints'][48:] == pytest.approx([*kp0[16], 0.4])
        else:
            frames = data['annolist']
            assert len(frames) == 2
            assert frames[0]['image'][0]['name'] == synth.frame_name('vid', 0)
            rects = frames[0]['annorect']
            assert [r['track_id'] for r in rects] == [[0], [1]]
            points = rects[0]['annopoints'][0]['point']
            assert [p['id'][0] for p in points] == list(range(15))  # 15 joints, ears dropped
            assert points[0]['x'][0] == pytest.approx(kp0[16, 0])  # r_ankle
            assert points[0]['score'][0] == pytest.approx(0.4)
            assert points[13]['x'][0] == pytest.approx(kp0[0, 0])  # nose
            # frame without detections: one dummy point, ranked last
            assert frames[1]['annorect'][0]['annopoints'][0]['point'] == [
                dict(id=[0], x=[0.0], y=[0.0], score=[-100.0])
            ]


def test_multiply_box_score_flag(tmp_path):
    """Box score x heatmap max ranks a low-box duplicate below the true detection."""
    videos = {'vid': [Frame([_person()], [_person(score=0.9), _person(score=0.9)])]}
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    samples = _samples(videos)
    samples[0]['gt_instances']['bbox_scores'][:] = 0.9
    samples[1]['gt_instances']['bbox_scores'][:] = 0.3
    res = _run(PoseTrackMAPMetric(gt_folder=gt_dir), samples)
    assert res['posetrack/AP'] == 100.0
    out = str(tmp_path / 'raw')
    res = _run(
        PoseTrackMAPMetric(gt_folder=gt_dir, multiply_box_score=False, outfile_prefix=out), samples
    )
    assert res['posetrack/AP'] == pytest.approx(50.0)  # tie: the duplicate ranks first
    with open(osp.join(out, 'vid.json')) as f:
        ann = json.load(f)['annotations'][1]
    assert ann['scores'][0] == pytest.approx(0.9) and ann['score'] == pytest.approx(0.3)


def test_oks_nms(tmp_path):
    videos = {
        'vid': [
            Frame(
                [_person(), _person((400, 0))],
                [_person(score=0.9), _person((0.5, 0), 0.9), _person((400, 0), 0.8)],
            )
        ]
    }
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    samples = _samples(videos, box=1.0)
    res = _run(PoseTrackMAPMetric(gt_folder=gt_dir), samples)
    assert res['posetrack/AP'] < 100.0  # the near-duplicate is a false positive
    res = _run(PoseTrackMAPMetric(gt_folder=gt_dir, nms_mode='oks_nms', nms_thr=0.9), samples)
    assert res['posetrack/AP'] == 100.0


def test_oks_nms_equals_mmpose(tmp_path):
    from mmpose.evaluation.functional import oks_nms

    gt_dir, _ = synth.write_videos(str(tmp_path), {'vid': [Frame([_person()], [])]})
    metric = PoseTrackMAPMetric(gt_folder=gt_dir, nms_mode='oks_nms', nms_thr=0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 9))
        base = rng.uniform(0, 300, (3, 17, 2))
        kpts = base[rng.integers(0, 3, n)] + rng.normal(0, 6, (n, 17, 2))
        scores, box = rng.random((n, 17)), rng.random(n)
        areas = rng.uniform(2000, 9000, n)
        p = dict(keypoints=kpts, keypoint_scores=scores, bbox_scores=box)
        ours = metric.nms_keep(p, areas)
        above = scores > 0.2
        rank = np.array([s[a].mean() if a.any() else 0 for s, a in zip(scores, above)]) * box
        db = [
            dict(
                keypoints=np.concatenate([kpts[i], scores[i][:, None]], 1),
                score=rank[i],
                area=areas[i],
            )
            for i in range(n)
        ]
        np.testing.assert_array_equal(ours, np.sort(oks_nms(db, 0.5)))


def test_format_only(tmp_path):
    """Test-set style GT (frames listed, no annotations): files are written, no metrics."""
    videos = {'a': [Frame([], [_person()]), Frame([], [])], 'b': [Frame([], [])]}
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    out = str(tmp_path / 'submit')
    metric = PoseTrackMAPMetric(
        gt_folder=gt_dir, format_only=True, outfile_prefix=out, outfile_format='pt17'
    )
    assert _run(metric, _samples(videos)) == {}
    assert sorted(os.listdir(out)) == ['a.json', 'b.json']
    with open(osp.join(out, 'a.json')) as f:
        assert len(json.load(f)['annolist']) == 2


def test_frame_mapping(tmp_path):
    """Samples map to GT frames by the metainfo ids (vid_id, frame_index), not by img_path."""
    videos = {
        '000001_mpii_test': [Frame([_person()], [_person()]), Frame([_person()], [_person()])]
    }
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    samples = _samples(videos)
    # the vid_id as the folder name, its number, an int; numpy frame indices; no usable path
    for s, vid in zip(samples, ['000001_mpii_test', 1]):
        s.update(vid_id=vid, frame_index=np.int64(s['frame_index']), img_path=None, img_id=None)
    assert _run(PoseTrackMAPMetric(gt_folder=gt_dir), samples)['posetrack/AP'] == 100.0
    # the same for PoseTrack17 GT files, which have no vid_id field (folder names only)
    gt17, _ = synth.write_videos(str(tmp_path / 'pt17'), videos, 'pt17')
    res = _run(PoseTrackMAPMetric(gt_folder=gt17, format='pt17'), _samples(videos))
    assert res['posetrack/AP'] == 100.0
    # duplicated samples (same frame and instance id) count once
    samples = _samples(videos)
    assert (
        _run(PoseTrackMAPMetric(gt_folder=gt_dir), samples + samples[:1])['posetrack/AP'] == 100.0
    )
    # some unmatched: warning, evaluation goes on; none matched: error
    samples = _samples(videos) + [dict(_samples(videos)[0], vid_id='other', frame_index=0)]
    res = _run(PoseTrackMAPMetric(gt_folder=gt_dir), samples)
    assert res['posetrack/AP'] == 100.0
    bad = [dict(s, frame_index=s['frame_index'] + 7) for s in samples]
    with pytest.raises(ValueError, match='map to no frame'):
        _run(PoseTrackMAPMetric(gt_folder=gt_dir), bad)


@pytest.mark.parametrize('key', ['vid_id', 'frame_index'])
def test_missing_ids_name_the_key_and_the_fix(tmp_path, key):
    videos = {'vid': [Frame([_person()], [_person()])]}
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    sample = _samples(videos)[0]
    del sample[key]
    with pytest.raises(ValueError, match=f"'{key}'.*PackPoseInputs\\(meta_keys"):
        PoseTrackMAPMetric(gt_folder=gt_dir).process({}, [sample])


def test_bad_predictions_are_reported(tmp_path):
    videos = {'vid': [Frame([_person()], [_person()])]}
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    metric = PoseTrackMAPMetric(gt_folder=gt_dir)
    sample = _samples(videos)[0]
    sample['pred_instances']['keypoints'] = np.zeros((1, 15, 2))
    with pytest.raises(ValueError, match=r'\(N, 17, 2\)'):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='pred_instances'):
        metric.process({}, [dict(img_path='x')])
    # non-finite model outputs are written as "not predicted" instead of failing the run
    sample = _samples(videos)[0]
    sample['pred_instances']['keypoints'][0, 0] = np.nan
    res = _run(PoseTrackMAPMetric(gt_folder=gt_dir), [sample])
    assert res['posetrack/Head AP'] < 100.0
    # a missing GT folder names it
    with pytest.raises(FileNotFoundError, match='missing_folder'):
        _run(PoseTrackMAPMetric(gt_folder=str(tmp_path / 'missing_folder')), _samples(videos))


def test_with_mmengine_evaluator_and_pose_data_samples(tmp_path):
    """The real data flow: PoseDataSample objects through mmengine's Evaluator."""
    import torch
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    videos = {
        'vid': [Frame([_person(), _person((300, 0))], [_person(score=0.9), _person((300, 0), 0.7)])]
    }
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    data_samples = []
    for s in _samples(videos):
        ds = PoseDataSample(
            metainfo=dict(
                img_path=s['img_path'],
                img_id=s['img_id'],
                id=s['id'],
                vid_id=s['vid_id'],
                frame_id=s['img_id'],
                frame_index=s['frame_index'],
                nframes=1,
            )
        )
        ds.pred_instances = InstanceData(
            keypoints=s['pred_instances']['keypoints'],
            keypoint_scores=torch.from_numpy(s['pred_instances']['keypoint_scores']),
        )
        ds.gt_instances = InstanceData(bbox_scores=s['gt_instances']['bbox_scores'])
        data_samples.append(ds)
    evaluator = Evaluator(dict(type='PoseTrackMAPMetric', gt_folder=gt_dir, prefix='posetrack18'))
    evaluator.dataset_meta = dict(dataset_name='posetrack18')
    evaluator.process(data_samples=data_samples)
    res = evaluator.evaluate(len(data_samples))
    assert res['posetrack18/AP'] == res['posetrack18/Total AP'] == 100.0


def test_table_is_logged(tmp_path):
    videos = {'vid': [Frame([_person()], [_person()])]}
    gt_dir, _ = synth.write_videos(str(tmp_path), videos)
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    messages = []

    class _Handler(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler, level = _Handler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _run(PoseTrackMAPMetric(gt_folder=gt_dir), _samples(videos))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any('Shoulder' in m and 'mAP' in m and '100.0' in m for m in messages)
