# Copyright (c) OpenMMLab. All rights reserved.
import json
import os
import os.path as osp

import numpy as np
import pytest
from _synthetic import frame_name, make_video_dataset, person, write_json
from conftest import shared_path

from fasrnet_mmpose.datasets import AnnotationError, PoseTrackVideoDataset
from fasrnet_mmpose.datasets.body import posetrack_video_dataset as ptv_module
from fasrnet_mmpose.structures import FALLBACK_MISSING, FALLBACK_NONE


def build(ann_file, root, **kwargs):
    return PoseTrackVideoDataset(
        ann_file=ann_file, data_prefix=dict(img=root + '/'), pipeline=[], **kwargs
    )


def edit_json(path: str, edit) -> str:
    """Rewrite the JSON file ``path`` after ``edit(content)`` changed its content in place."""
    with open(path) as f:
        content = json.load(f)
    edit(content)
    return write_json(path, content)


def info_of(ds, frame_index):
    idx = next(i for i in range(len(ds)) if ds.get_data_info(i)['frame_index'] == frame_index)
    return ds.get_data_info(idx)


def offsets_from_paths(info):
    stems = [int(osp.splitext(osp.basename(p))[0]) for p in info['frame_paths']]
    return [s - stems[0] for s in stems]


class TestSyntheticPT18:
    def test_instances_and_default_window(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(0, 3, 7))
        ds = build(ann, str(tmp_path))
        assert len(ds) == 6  # 2 persons on each of 3 labelled frames
        info = info_of(ds, 3)
        assert isinstance(info['img_path'], str) and info['img_path'] == info['frame_paths'][0]
        assert offsets_from_paths(info) == [0, -1, 1]  # official [t, t-1, t+1]
        # the offsets used: both neighbours are the frames themselves (no fallback)
        assert info['neighbour_fallback'].tolist() == [FALLBACK_NONE, FALLBACK_NONE]
        assert info['margin'].tolist() == [1, 1] and info['margin'].dtype == np.int64
        assert info['bbox'].shape == (1, 4) and info['keypoints'].shape == (1, 17, 2)
        assert info['keypoints_visible'].shape == (1, 17)
        assert info['bbox_score'].tolist() == [1.0]
        assert info['vid_id'] == '000001' and info['nframes'] == 8
        assert ds.num_missing_frames == 0
        # mmpose metainfo (PoseTrack keypoints, flip indices) is attached
        assert info['flip_indices'][3] == 4 and ds.metainfo['num_keypoints'] == 17

    def test_boundaries_use_centre_with_margin_one(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(0, 7))
        ds = build(ann, str(tmp_path))
        first, last = info_of(ds, 0), info_of(ds, 7)
        assert offsets_from_paths(first) == [0, 0, 1]
        assert first['frame_paths'][1] == first['img_path']
        assert first['margin'].tolist() == [1, 1]  # official: 1, not 0
        assert offsets_from_paths(last) == [0, -1, 0]
        assert last['margin'].tolist() == [1, 1]
        assert ds.num_missing_frames == 0  # boundaries are not "missing" frames

    def test_margin_of_asymmetric_offsets(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(3, 1))
        ds = build(ann, str(tmp_path), frame_offsets=[0, -2, 1])
        assert info_of(ds, 3)['margin'].tolist() == [2, 1]
        assert offsets_from_paths(info_of(ds, 3)) == [0, -2, 1]
        # clipped at the start: t=1 has a single previous frame
        assert offsets_from_paths(info_of(ds, 1)) == [0, -1, 1]
        assert info_of(ds, 1)['margin'].tolist() == [1, 1]

    def test_random_sampling_happens_on_every_access(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=12, labelled=(6,))
        ds = build(ann, str(tmp_path), frame_offsets=[0, -3, 3], frame_sampler='random')
        np.random.seed(0)
        seen = set()
        for _ in range(40):
            info = ds.get_data_info(0)
            offs = offsets_from_paths(info)
            assert -3 <= offs[1] <= -1 and 1 <= offs[2] <= 3
            assert info['margin'].tolist() == [-offs[1], offs[2]]
            seen.add(tuple(offs))
        assert len(seen) >= 6  # 9 possible pairs; one draw at load time would give 1
        # the random range is limited by the frames that exist: t=6 of 12 frames, offset -8
        ds2 = build(ann, str(tmp_path), frame_offsets=[0, -8], frame_sampler='random')
        assert all(-6 <= offsets_from_paths(ds2.get_data_info(0))[1] <= -1 for _ in range(20))

    def test_random_mode_with_official_distance_equals_fixed(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(0, 3, 7))
        fixed = build(ann, str(tmp_path))
        rand = build(ann, str(tmp_path), frame_sampler='random')  # DISTANCE=2 -> offsets [0,-1,1]
        for i in range(len(fixed)):
            for _ in range(3):
                assert rand.get_data_info(i)['frame_paths'] == fixed.get_data_info(i)['frame_paths']

    def test_missing_neighbour_falls_back_to_centre_and_logs_once(self, tmp_path, monkeypatch):
        # frame 4 is not on disk; frames 3 and 5 are labelled: 3's next and 5's prev are missing
        ann = make_video_dataset(
            str(tmp_path), nframes=8, labelled=(3, 5), on_disk=[0, 1, 2, 3, 5, 6, 7]
        )
        logged = []
        monkeypatch.setattr(ptv_module, 'print_log', lambda msg, **kw: logged.append(msg))
        ds = build(ann, str(tmp_path))
        info3 = info_of(ds, 3)
        assert offsets_from_paths(info3) == [0, -1, 0]
        # the next frame (4) fell back to the centre: flagged as missing, not as a boundary
        assert info3['neighbour_fallback'].tolist() == [FALLBACK_NONE, FALLBACK_MISSING]
        assert info3['margin'].tolist() == [1, 1]  # official: the sampled margin stays
        info5 = info_of(ds, 5)
        assert offsets_from_paths(info5) == [0, 0, 1]
        assert ds.num_missing_frames >= 2
        for i in range(len(ds)):
            ds.get_data_info(i)
        assert len(logged) == 1 and '000004.jpg' in logged[0]

    def test_test_mode_with_gt_boxes(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(2,))
        ds = build(ann, str(tmp_path), test_mode=True)
        assert len(ds) == 2 and ds.get_data_info(0)['bbox_score'].tolist() == [1.0]

    def test_detection_boxes(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=8, labelled=(2,))
        dets = [
            dict(image_id=10_002, category_id=1, bbox=[1, 2, 20, 30], score=0.9),
            dict(image_id=10_002, category_id=1, bbox=[30, 2, 20, 30], score=0.1),
            dict(image_id=10_002, category_id=2, bbox=[30, 2, 20, 30], score=0.95),  # not a person
            # an unlabelled frame, located by name + nframes
            dict(
                image_name='images/val/000001_test/000005.jpg',
                nframes=8,
                bbox=[3, 3, 10, 20],
                score=0.5,
                category_id=1,
            ),
        ]
        det_file = write_json(str(tmp_path / 'dets.json'), dets)
        ds = build(
            ann,
            str(tmp_path),
            bbox_file=det_file,
            test_mode=True,
            filter_cfg=dict(bbox_score_thr=0.2),
        )
        assert len(ds) == 2
        scores = sorted(float(ds.get_data_info(i)['bbox_score'][0]) for i in range(len(ds)))
        assert scores == pytest.approx([0.5, 0.9])
        unlabelled = next(
            ds.get_data_info(i) for i in range(len(ds)) if ds.get_data_info(i)['frame_index'] == 5
        )
        assert offsets_from_paths(unlabelled) == [0, -1, 1]
        assert unlabelled['bbox'].tolist() == [[3, 3, 12, 22]]
        with pytest.raises(ValueError, match='test_mode'):
            build(ann, str(tmp_path), bbox_file=det_file)
        # ann_file and bbox_file relative to data_root, as in the configs
        ds = PoseTrackVideoDataset(
            ann_file=osp.basename(ann),
            bbox_file='dets.json',
            data_root=str(tmp_path),
            data_prefix=dict(img=''),
            test_mode=True,
            filter_cfg=dict(bbox_score_thr=0.2),
        )
        assert len(ds) == 2 and ds.bbox_file == osp.join(str(tmp_path), 'dets.json')
        assert osp.exists(ds.get_data_info(0)['img_path'])

    def test_official_box_cleaning(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))

        def boxes(content):
            content['annotations'][0]['bbox'] = [-5, 10, 200, 20]  # clipped to the 80x60 image
            content['annotations'][1]['bbox'] = [10, 10, 0.5, 20]  # empty after cleaning: dropped

        edit_json(ann, boxes)
        ds = build(ann, str(tmp_path))
        assert len(ds) == 1
        assert ds.get_data_info(0)['bbox'].tolist() == [[0, 10, 79, 29]]


class TestSyntheticPT17:
    def test_eight_digit_one_based_frames(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=6, labelled=(1, 4, 6), version='pt17')
        ds = build(ann, str(tmp_path), version='pt17')
        first, mid, last = info_of(ds, 1), info_of(ds, 4), info_of(ds, 6)
        assert osp.basename(mid['frame_paths'][1]) == '00000003.jpg'
        assert osp.basename(mid['frame_paths'][2]) == '00000005.jpg'
        assert offsets_from_paths(first) == [0, 0, 1]  # frame 1 is the first frame
        assert offsets_from_paths(last) == [0, -1, 0]  # frame N is the last frame
        assert ds.num_missing_frames == 0

    def test_wrong_version_is_visible_as_missing_frames(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=6, labelled=(4,), version='pt17')
        ds = build(ann, str(tmp_path), version='pt18')  # looks for 6-digit names
        ds.get_data_info(0)
        assert ds.num_missing_frames == 2


class TestBadAnnotations:
    @pytest.mark.parametrize('field', ['vid_id', 'nframes', 'frame_id'])
    def test_missing_image_field(self, tmp_path, field):
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))
        edit_json(ann, lambda content: content['images'][0].pop(field))
        with pytest.raises(AnnotationError, match=rf'{osp.basename(ann)}.*images\[0\].*{field}'):
            build(ann, str(tmp_path))

    def test_bad_keypoint_length(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))

        def cut(content):
            del content['annotations'][1]['keypoints'][-3:]

        edit_json(ann, cut)
        with pytest.raises(AnnotationError, match=r'annotations\[1\].*51 values.*got 48'):
            build(ann, str(tmp_path))

    def test_unknown_image_and_unparsable_name(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))
        edit_json(ann, lambda content: content['annotations'].append(person(999, 7)))
        with pytest.raises(AnnotationError, match='image_id 999'):
            build(ann, str(tmp_path))

        def rename(content):
            content['annotations'].pop()
            content['images'][0]['file_name'] = 'images/val/000001_test/frame_a.jpg'

        edit_json(ann, rename)
        with pytest.raises(AnnotationError, match='frame_a.jpg'):
            build(ann, str(tmp_path))

    def test_bad_detection_record(self, tmp_path):
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))
        det_file = write_json(
            str(tmp_path / 'dets.json'), [dict(image_id=12345, bbox=[1, 1, 5, 5], score=0.9)]
        )
        with pytest.raises(AnnotationError, match=r'dets.json.*detection \[0\].*12345'):
            build(ann, str(tmp_path), bbox_file=det_file, test_mode=True)

    def test_missing_files_and_bad_arguments(self, tmp_path):
        with pytest.raises(FileNotFoundError, match='nope.json'):
            build(str(tmp_path / 'nope.json'), str(tmp_path))
        ann = make_video_dataset(str(tmp_path), nframes=3, labelled=(1,))
        with pytest.raises(ValueError, match='frame_offsets'):
            build(ann, str(tmp_path), frame_offsets=[-1, 0, 1])
        with pytest.raises(ValueError, match='version'):
            build(ann, str(tmp_path), version='pt21')
        with open(ann, 'w') as f:
            f.write('{"images": [')
        with pytest.raises(AnnotationError, match='not valid JSON'):
            build(ann, str(tmp_path))


class TestRealPoseTrack18:
    """The real PoseTrack18 sample in ../shared (3 labelled first frames, no neighbours)."""

    def test_gt_mode(self):
        root = shared_path('data', 'posetrack18_mini')
        ds = build(osp.join(root, 'annotations', 'test_posetrack18_val.json'), root)
        assert len(ds) == 14
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert osp.exists(info['img_path'])
            # labelled frames are frame 0: previous = centre (boundary); next (000001) is not
            # shipped -> centre as well
            assert info['frame_paths'] == [info['img_path']] * 3
            assert info['margin'].tolist() == [1, 1]
        assert ds.num_missing_frames == len(ds)

    def test_detection_mode(self):
        root = shared_path('data', 'posetrack18_mini')
        dets = json.load(
            open(osp.join(root, 'annotations', 'test_posetrack18_human_detections.json'))
        )
        ds = build(
            osp.join(root, 'annotations', 'test_posetrack18_val.json'),
            root,
            bbox_file=osp.join(root, 'annotations', 'test_posetrack18_human_detections.json'),
            test_mode=True,
            filter_cfg=dict(bbox_score_thr=0.2),
        )
        assert len(ds) == sum(d['score'] >= 0.2 for d in dets)
        assert all(ds.get_data_info(i)['bbox_score'][0] >= 0.2 for i in range(len(ds)))

    def test_consecutive_real_frames(self, tmp_path):
        video = shared_path('data', 'posetrack18_mini', 'videos', '000001_mpiinew_test')
        frames = sorted(os.listdir(video))
        # an annotation file for frame 4 of the 10 real consecutive frames
        ann = write_json(
            str(tmp_path / 'ann.json'),
            dict(
                images=[
                    dict(
                        id=1,
                        file_name=f'000001_mpiinew_test/{frame_name(4, "pt18")}',
                        vid_id='000001',
                        nframes=len(frames),
                        frame_id=1,
                    )
                ],
                annotations=[person(1, 1, box=(100, 100, 200, 300))],
            ),
        )
        ds = PoseTrackVideoDataset(
            ann_file=ann,
            data_prefix=dict(img=osp.dirname(video) + '/'),
            pipeline=[],
            frame_offsets=[0, -2, 2],
            frame_sampler='random',
        )
        for _ in range(10):
            info = ds.get_data_info(0)
            assert all(osp.exists(p) for p in info['frame_paths'])
            assert 1 <= -offsets_from_paths(info)[1] <= 2
        assert ds.num_missing_frames == 0
