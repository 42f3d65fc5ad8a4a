# Copyright (c) OpenMMLab. All rights reserved.
"""Outputs that are never silently wrong or lost: frame sizes, crashes, corrupted videos,
bbox files that match no frame, the video codec, the demo's JSON layout and --help."""

import json
import sys

import cv2
import numpy as np
import pytest
from _apis_helpers import (  # noqa: F401
    frame_id_of,
    frame_image,
    one_torch_thread,
    read_video,
    tiny_assets,
    write_image_folder,
    write_video,
)
from conftest import load_tool

from fasrnet_mmpose.apis import FaSRnetInferencer, PredictionsWriter, VideoSink, open_frame_source
from fasrnet_mmpose.apis.inferencers.utils.bboxes import BBoxFileError, load_bbox_file
from fasrnet_mmpose.apis.inferencers.utils.outputs import letterbox

demo = load_tool('demo_video')


def _demo(tmp_path, inputs, *extra):
    assets = tiny_assets()
    out = tmp_path / 'out'
    argv = [str(inputs), '--config', assets['config'], '--weights', assets['checkpoint']]
    rc = demo.main(argv + ['--out-dir', str(out), '--device', 'cpu', '--no-progress', *extra])
    return rc, out


def _fourcc(path) -> bytes:
    cap = cv2.VideoCapture(str(path))
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    cap.release()
    return code.to_bytes(4, 'little')


def _corrupted_video(path, num_frames=40):
    """An mp4v video whose middle bytes are scrambled (some frames cannot be decoded)."""
    write_video(str(path), num_frames)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 3000] = bytes((b * 7 + 13) % 256 for b in data[mid : mid + 3000])
    path.write_bytes(bytes(data))


def test_frames_of_different_size_all_become_output_frames(tmp_path):
    """Row 4: a folder whose frames differ in size -> one output frame per input frame."""
    folder = tmp_path / 'seq'
    write_image_folder(str(folder), 1, size=(96, 128))
    cv2.imwrite(str(folder / 'frame_2.png'), frame_image(1, size=(64, 160)))
    cv2.imwrite(str(folder / 'frame_3.png'), frame_image(2, size=(120, 90)))
    rc, out = _demo(tmp_path, folder, '--whole-image')
    assert rc == 0
    frames, _ = read_video(str(out / 'seq_pose.mp4'))
    result = json.loads((out / 'seq_pose.json').read_text())
    assert len(frames) == len(result['frames']) == 3  # today: video 1 frame, JSON 3
    assert {f.shape for f in frames} == {(96, 128, 3)}  # the first frame's size
    sizes = [(f['width'], f['height']) for f in result['frames']]
    assert sizes == [(128, 96), (160, 64), (90, 120)]
    assert result['meta']['frame_size'] == [128, 96] and result['meta']['complete'] is True


def test_letterbox_keeps_aspect_ratio_and_centres():
    img = np.full((50, 200, 3), 255, np.uint8)  # 4:1 into 100x100
    out = letterbox(img, (100, 100))
    assert out.shape == (100, 100, 3)
    rows = np.where(out[:, 50, 0] > 128)[0]
    assert (rows.min(), rows.max()) == (37, 61)  # 25 rows high, centred
    assert letterbox(img, (200, 50)) is img


def test_predictions_json_is_complete_after_every_frame(tmp_path):
    """Row 5: the predictions file parses after every added frame."""
    path = tmp_path / 'p.json'
    writer = PredictionsWriter(str(path), dict(input='x'))
    assert json.loads(path.read_text()) == dict(frames=[], meta=dict(input='x', complete=False))
    for i in range(3):
        writer.add(dict(frame_id=i, instances=[dict(bbox=np.arange(4.0))]), num_frames=i + 1)
        data = json.loads(path.read_text())
        assert [f['frame_id'] for f in data['frames']] == list(range(i + 1))
        assert data['meta']['num_frames'] == i + 1 and data['meta']['complete'] is False
    writer.close(complete=True)
    data = json.loads(path.read_text())
    assert data['meta']['complete'] is True
    assert data['frames'][2]['instances'][0]['bbox'] == [0, 1, 2, 3]


@pytest.mark.parametrize('online, finished', [(True, 2), (False, 1)])
def test_failure_mid_run_keeps_every_finished_frame(tmp_path, capsys, online, finished):
    """Row 5: a corrupt image at frame 2 -> video and JSON hold the finished frames, one line."""
    folder = tmp_path / 'seq'
    write_image_folder(str(folder), 4)
    (folder / 'frame_3.png').write_bytes(b'garbage')
    rc, out = _demo(tmp_path, folder, '--whole-image', *(['--online'] if online else []))
    assert rc == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if 'error:' in line]
    assert len(errors) == 1
    assert f'stopped at frame {finished}' in errors[0] and 'frame_3.png' in errors[0]
    result = json.loads((out / 'seq_pose.json').read_text())  # today: no JSON at all
    assert [f['frame_id'] for f in result['frames']] == list(range(finished))
    assert result['meta']['complete'] is False and 'frame_3.png' in result['meta']['error']
    assert len(read_video(str(out / 'seq_pose.mp4'))[0]) == finished


def test_corrupted_video_counts_failed_frames_and_keeps_numbers(tmp_path):
    """Row 6: undecodable frames are counted; the frames after them keep their numbers."""
    path = tmp_path / 'broken.mp4'
    _corrupted_video(path)
    source = open_frame_source(str(path))
    frames = list(source)
    report = source.decode_report()
    assert report['frames_in_header'] == 40
    assert 0 < report['frames_failed'] == 40 - len(frames)
    assert report['frames_failed'] == len(report['failed_frame_numbers'])
    # today: reading stops at the first bad frame (about half the video, exit 0)
    assert len(frames) > 30 and source.frame_numbers[-1] == 39
    tail = [(n, frame_id_of(f)) for n, (f, _) in zip(source.frame_numbers, frames)][-10:]
    assert all(n == content for n, content in tail)  # aligned with the source frame numbers


def test_demo_reports_decode_failures_in_meta(tmp_path, capsys):
    path = tmp_path / 'broken.mp4'
    _corrupted_video(path)
    rc, out = _demo(tmp_path, path, '--whole-image', '--online')
    assert rc == 0
    meta = json.loads((out / 'broken_pose.json').read_text())['meta']
    assert meta['frames_in_header'] == 40 and meta['frames_failed'] > 0
    assert meta['frames_read'] + meta['frames_failed'] == 40
    assert f'{meta["frames_failed"]} of the 40 frames' in capsys.readouterr().err
    ids = [f['frame_id'] for f in json.loads((out / 'broken_pose.json').read_text())['frames']]
    assert ids[-1] == 39 and not set(ids) & set(meta['failed_frame_numbers'])


def _inferencer():
    assets = tiny_assets()
    return FaSRnetInferencer(
        assets['config'], weights=assets['checkpoint'], device='cpu', det_model='whole_image'
    )


def test_bbox_file_matching_no_frame_is_an_error(tmp_path):
    """Row 7: frame keys beyond the input -> a clear error (today: 0 persons, no warning)."""
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps({'100': [[1, 1, 20, 20]], '101': [[1, 1, 20, 20]]}))
    frames = [frame_image(i) for i in range(3)]
    with pytest.raises(
        BBoxFileError, match=r'boxes.json: its frame indices \(100..101\) match none'
    ):
        list(_inferencer()(frames, bbox_file=str(path)))
    # unknown length (as a camera): the same error at the end of the run
    source = open_frame_source(frames)
    source.frame_count = 0
    with pytest.raises(BBoxFileError, match='match none of the 3 input frames'):
        list(_inferencer()(source, bboxes={7: [[1, 1, 20, 20]]}))
    write_video(str(tmp_path / 'v.mp4'), 2)
    rc, _ = _demo(tmp_path, tmp_path / 'v.mp4', '--bbox-file', str(path))
    assert rc == 1


@pytest.mark.parametrize('frame_id', [1.5, '2', True, -1, None])
def test_non_integer_frame_id_is_an_error(tmp_path, frame_id):
    """Row 7: ``frame_id`` must be a non-negative integer (today 1.5 -> frame 1)."""
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps([dict(frame_id=frame_id, bbox=[1, 2, 3, 4])]))
    with pytest.raises(BBoxFileError, match='record 0: .* is not a frame index'):
        load_bbox_file(str(path))


def test_video_is_h264_with_mp4v_fallback(tmp_path, monkeypatch):
    """Row 15: H.264 (imageio-ffmpeg), OpenCV's mp4v when the package is absent."""
    video = tmp_path / 'walk.mp4'
    write_video(str(video), 3)
    rc, out = _demo(tmp_path, video, '--whole-image')
    assert rc == 0 and _fourcc(out / 'walk_pose.mp4') in (b'h264', b'avc1')
    assert json.loads((out / 'walk_pose.json').read_text())['meta']['video_codec'] == 'h264'
    monkeypatch.setitem(sys.modules, 'imageio_ffmpeg', None)  # import fails
    sink = VideoSink(str(tmp_path / 'fallback.mp4'), 10)
    for i in range(3):
        sink.write(frame_image(i))
    sink.release()
    assert sink.codec == 'mp4v' and _fourcc(sink.path) in (b'FMP4', b'mp4v')
    assert len(read_video(sink.path)[0]) == 3


def test_demo_json_bbox_is_flat_and_has_the_frame_size(tmp_path):
    video = tmp_path / 'walk.mp4'
    write_video(str(video), 2)
    rc, out = _demo(tmp_path, video, '--whole-image')
    assert rc == 0
    frame = json.loads((out / 'walk_pose.json').read_text())['frames'][0]
    assert frame['instances'][0]['bbox'] == [0, 0, 128, 96]  # today [[0, 0, 128, 96]]
    assert (frame['width'], frame['height']) == (128, 96)


def test_device_default_shown_once_in_help(capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    entry = text[text.rindex('--device') : text.rindex('--threads')]
    assert entry.count('default') == 1, entry


def test_inferencer_video_outputs_survive_a_failure(tmp_path):
    """Row 5 for ``FaSRnetInferencer(..., out_dir=...)``: a failure at frame 2 keeps frames 0-1."""
    path = str(tmp_path / 'walk.mp4')
    write_video(path, 5)
    inferencer = _inferencer()
    real_test_step, calls = inferencer.model.test_step, []

    def failing_test_step(data):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError('model failed on the third frame')
        return real_test_step(data)

    inferencer.model.test_step = failing_test_step
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='third frame'):
        list(inferencer(path, out_dir=str(out)))
    preds = json.loads((out / 'predictions' / 'walk.json').read_text())  # today: no file
    assert [p['frame_id'] for p in preds] == [0, 1]
    assert (
        preds[0]['instances'][0]['bbox'] == [0, 0, 128, 96]
        and 'track_id' in preds[0]['instances'][0]
    )
    assert len(read_video(str(out / 'visualizations' / 'walk.mp4'))[0]) == 2


def test_after_a_decode_gap_boxes_and_margins_follow_source_numbers(tmp_path):
    """Row 6 in the model input: bbox keys are source frame numbers; margins span the gap."""
    path = tmp_path / 'broken.mp4'
    _corrupted_video(path)
    inferencer = _inferencer()
    margins, pipeline = [], inferencer.pipeline
    inferencer.pipeline = lambda r: margins.append(r['margin'].tolist()) or pipeline(r)
    source = open_frame_source(str(path))
    results = list(inferencer(source, bboxes={n: [[10, 10, 60, 90]] for n in (0, 38, 39)}))
    numbers = source.frame_numbers
    assert len(results) == len(numbers) < 40 and numbers[-1] == 39
    # the boxes of source frames 38 and 39 land on the last two results, not on positions 38/39
    assert [len(r['predictions'][0]) for r in results] == [1] + [0] * (len(numbers) - 3) + [1, 1]
    gap = next(i for i in range(1, len(numbers)) if numbers[i] - numbers[i - 1] > 1)
    margins.clear()
    list(inferencer(open_frame_source(str(path)), bboxes={numbers[gap]: [[10, 10, 60, 90]]}))
    assert margins == [[numbers[gap] - numbers[gap - 1], 1]]  # [previous, next] distances
