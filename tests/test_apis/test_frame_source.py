# Copyright (c) OpenMMLab. All rights reserved.
"""Frame sources: each frame decoded once, clear errors on bad inputs."""

import os.path as osp

import cv2
import numpy as np
import pytest
from _apis_helpers import DEMO_CLIP, frame_id_of, frame_image, write_image_folder, write_video

from fasrnet_mmpose.apis.inferencers.utils import frame_source as frame_source_module
from fasrnet_mmpose.apis.inferencers.utils.frame_source import (
    CameraSource,
    FrameListSource,
    ImageFolderSource,
    VideoFileSource,
    frame_name,
    open_frame_source,
)


class CountingCapture:
    """Wraps a real ``cv2.VideoCapture`` and counts decodes and seeks."""

    instances = []

    def __init__(self, *args):
        self._cap = _REAL_CAPTURE(*args)
        self.reads = 0
        self.seeks = 0
        CountingCapture.instances.append(self)

    def read(self):
        self.reads += 1
        return self._cap.read()

    def set(self, *args):
        self.seeks += 1
        return self._cap.set(*args)

    def __getattr__(self, name):
        return getattr(self._cap, name)


_REAL_CAPTURE = cv2.VideoCapture


@pytest.fixture
def counting_capture(monkeypatch):
    CountingCapture.instances = []
    monkeypatch.setattr(frame_source_module.cv2, 'VideoCapture', CountingCapture)
    return CountingCapture


def test_video_source_decodes_each_frame_once(tmp_path, counting_capture):
    path = str(tmp_path / 'clip.mp4')
    expected = write_video(path, 6)
    source = open_frame_source(path)
    assert isinstance(source, VideoFileSource) and source.is_video
    assert (source.width, source.height, source.fps, len(source)) == (128, 96, 10.0, 6)
    frames = list(source)
    assert [name for _, name in frames] == [frame_name(i) for i in range(6)]
    assert frame_name(3) == '000003.jpg'
    for (frame, _), ref in zip(frames, expected):
        np.testing.assert_array_equal(frame, ref)
    cap = counting_capture.instances[-1]
    assert cap.reads == 7  # 6 frames + the read that finds the end
    assert cap.seeks == 0
    assert source.num_decoded == 6
    with pytest.raises(RuntimeError, match='only once'):
        list(source)


def test_video_source_max_frames_stops_decoding(tmp_path, counting_capture):
    path = str(tmp_path / 'clip.mp4')
    write_video(path, 6)
    source = open_frame_source(path, max_frames=2)
    assert len(source) == 2
    assert len(list(source)) == 2
    assert counting_capture.instances[-1].reads == 2
    assert source.num_decoded == 2


def test_shipped_clip_is_readable():
    source = open_frame_source(DEMO_CLIP)
    assert (source.width, source.height, source.fps) == (512, 384, 10.0)
    assert len(list(source)) == 30
    assert osp.getsize(DEMO_CLIP) < 1024 * 1024


def test_image_folder_natural_order_and_single_decode(tmp_path, monkeypatch):
    paths = write_image_folder(str(tmp_path / 'frames'), 11)
    (tmp_path / 'frames' / 'notes.txt').write_text('not an image')
    reads = []
    real_imread = cv2.imread
    monkeypatch.setattr(
        frame_source_module.cv2, 'imread', lambda p, *a: reads.append(p) or real_imread(p, *a)
    )
    source = open_frame_source(str(tmp_path / 'frames'))
    assert isinstance(source, ImageFolderSource) and not source.is_video
    assert len(source) == 11
    items = list(source)
    assert [name for _, name in items] == paths  # frame_2 before frame_10
    assert [frame_id_of(f) for f, _ in items] == list(range(11))
    assert reads == paths


def test_frame_list_source_mixed(tmp_path):
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, frame_image(1))
    arr = frame_image(2)
    source = open_frame_source([arr, path])
    assert isinstance(source, FrameListSource)
    (f0, n0), (f1, n1) = list(source)
    assert f0 is arr and n0 == frame_name(0)
    assert n1 == path and frame_id_of(f1) == 1
    assert source.num_decoded == 1
    single = open_frame_source(arr)
    assert len(single) == 1


def _garbage_video(d):
    (d / 'bad.mp4').write_bytes(b'this is no video' * 100)
    return str(d / 'bad.mp4')


def _empty_folder(d):
    (d / 'empty').mkdir()
    return str(d / 'empty')


@pytest.mark.parametrize(
    'make, error, match',
    [
        (lambda d: str(d / 'missing.mp4'), FileNotFoundError, 'does not exist'),
        (_garbage_video, ValueError, 'Cannot (open|decode)'),
        (_empty_folder, ValueError, 'no image files'),
        (lambda d: [], ValueError, 'empty'),
    ],
)
def test_bad_inputs(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        open_frame_source(make(tmp_path))


def test_video_without_frames(tmp_path):
    path = str(tmp_path / 'empty.mp4')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (64, 48))
    writer.release()
    with pytest.raises((ValueError, FileNotFoundError)):
        open_frame_source(path)


def test_unreadable_image_in_folder(tmp_path):
    write_image_folder(str(tmp_path / 'f'), 2)
    (tmp_path / 'f' / 'frame_3.png').write_bytes(b'garbage')
    source = open_frame_source(str(tmp_path / 'f'))
    with pytest.raises(ValueError, match='frame_3.png'):
        list(source)


def test_camera_source(monkeypatch):

    class FakeCamera:
        def __init__(self, index):
            self.index, self.count = index, 0

        def isOpened(self):  # noqa: N802
            return self.index == 1

        def get(self, prop):
            return {
                cv2.CAP_PROP_FPS: 30.0,
                cv2.CAP_PROP_FRAME_WIDTH: 128,
                cv2.CAP_PROP_FRAME_HEIGHT: 96,
            }.get(prop, 0)

        def read(self):
            self.count += 1
            return (True, frame_image(self.count - 1)) if self.count <= 3 else (False, None)

        def release(self):
            pass

    monkeypatch.setattr(frame_source_module.cv2, 'VideoCapture', FakeCamera)
    source = open_frame_source('webcam:1')
    assert isinstance(source, CameraSource) and source.is_video and source.fps == 30.0
    assert [frame_id_of(f) for f, _ in source] == [0, 1, 2]
    with pytest.raises(ValueError, match='Cannot open camera 0'):
        open_frame_source('webcam')
