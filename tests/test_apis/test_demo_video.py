# Copyright (c) OpenMMLab. All rights reserved.
"""tools/demo_video.py end to end on a few frames (tiny model)."""

import json
import os.path as osp
import subprocess
import sys

import pytest
from _apis_helpers import (  # noqa: F401
    DEMO_CLIP,
    PROJECT_ROOT,
    cli_args,
    one_torch_thread,
    read_video,
    tiny_assets,
    write_image_folder,
    write_video,
)
from conftest import load_tool

DEMO = osp.join(PROJECT_ROOT, 'tools', 'demo_video.py')
demo = load_tool('demo_video')


def test_demo_on_a_synthetic_video_with_weights(tmp_path, capsys):
    video = str(tmp_path / 'walk.mp4')
    write_video(video, 4)
    out = tmp_path / 'out'
    assets = tiny_assets()
    rc = demo.main(
        cli_args(
            video,
            config=assets['config'],
            weights=assets['checkpoint'],
            whole_image=True,
            out_dir=out,
            device='cpu',
        )
    )
    assert rc == 0
    stdout = capsys.readouterr().out
    assert '4/4' in stdout  # progress bar
    frames, fps = read_video(str(out / 'walk_pose.mp4'))
    assert len(frames) == 4 and frames[0].shape == (96, 128, 3) and fps == 10
    result = json.loads((out / 'walk_pose.json').read_text())
    assert result['meta']['random_init'] is False
    assert result['meta']['frame_offsets'] == [0, -1, 1] and result['meta']['online'] is False
    assert len(result['meta']['keypoint_names']) == 17
    assert [f['frame_id'] for f in result['frames']] == [0, 1, 2, 3]
    assert all(len(f['instances']) == 1 for f in result['frames'])
    assert len(result['frames'][0]['instances'][0]['keypoints']) == 17


def test_demo_default_clip_hog_random_init(tmp_path, capsys):
    out = tmp_path / 'out'
    rc = demo.main(
        cli_args(
            config=tiny_assets()['config'],
            max_frames=2,
            out_dir=out,
            device='cpu',
            no_progress=True,
        )
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert 'RANDOMLY INITIALISED' in err
    frames, fps = read_video(str(out / 'vtest_clip_pose.mp4'))
    assert len(frames) == 2 and frames[0].shape == (384, 512, 3) and fps == 10
    result = json.loads((out / 'vtest_clip_pose.json').read_text())
    meta = result['meta']
    assert meta['random_init'] is True and meta['detector'] == 'opencv_hog'
    assert meta['input'] == DEMO_CLIP
    assert all(len(f['instances']) >= 1 for f in result['frames'])  # HOG finds pedestrians


def test_demo_image_folder_bbox_file_online(tmp_path):
    write_image_folder(str(tmp_path / 'seq'), 3)
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'0': [[10, 10, 60, 90]], '2': [[-50, -50, -10, -10]]}))
    out = tmp_path / 'out'
    assets = tiny_assets()
    rc = demo.main(
        cli_args(
            tmp_path / 'seq',
            config=assets['config'],
            weights=assets['checkpoint'],
            bbox_file=boxes,
            online=True,
            fps=5,
            out_dir=out,
            device='cpu',
            no_progress=True,
        )
    )
    assert rc == 0
    frames, fps = read_video(str(out / 'seq_pose.mp4'))
    assert len(frames) == 3 and fps == 5
    result = json.loads((out / 'seq_pose.json').read_text())
    assert [len(f['instances']) for f in result['frames']] == [1, 0, 0]
    assert result['meta']['online'] is True
    assert result['meta']['boxes_dropped_outside_image'] == 1
    assert result['meta']['detector'] == f'bbox_file:{boxes}'


@pytest.mark.parametrize('make', ['missing', 'garbage', 'empty_dir', 'bad_bbox_file'])
def test_demo_bad_inputs(tmp_path, capsys, make):
    path = tmp_path / 'input.mp4'
    extra = []
    if make == 'garbage':
        path.write_bytes(b'garbage' * 50)
    elif make == 'empty_dir':
        path = tmp_path / 'frames'
        path.mkdir()
    elif make == 'bad_bbox_file':
        write_video(str(path), 2)
        (tmp_path / 'boxes.json').write_text('{"0": [[1, 2]]}')
        extra = ['--bbox-file', str(tmp_path / 'boxes.json')]
    rc = demo.main(
        [str(path), '--config', tiny_assets()['config'], '--out-dir', str(tmp_path / 'out')] + extra
    )
    assert rc == 1
    assert 'demo_video.py: error:' in capsys.readouterr().err


def test_demo_cli_subprocess(tmp_path):
    """The README command shape, as a real process (tiny config, 2 frames of the shipped clip)."""
    proc = subprocess.run(
        cli_args(
            sys.executable,
            DEMO,
            config=tiny_assets()['config'],
            max_frames=2,
            out_dir=tmp_path,
            device='cpu',
            threads=1,
        ),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'RANDOMLY INITIALISED' in proc.stderr
    assert osp.isfile(tmp_path / 'vtest_clip_pose.mp4')
    assert osp.isfile(tmp_path / 'vtest_clip_pose.json')
    # no mmengine WARNING about mmpose's missing "function" registry (FaSRnetInferencer's collate)
    assert 'Failed to search registry' not in proc.stdout + proc.stderr


def test_demo_radius_and_thickness_reach_the_drawing(tmp_path):
    write_image_folder(str(tmp_path / 'seq'), 1)
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'0': [[10, 10, 60, 90]]}))
    assets, frames = tiny_assets(), {}
    for radius, thickness in ((1, 1), (6, 4)):
        out = tmp_path / f'out{radius}'
        args = dict(config=assets['config'], weights=assets['checkpoint'], bbox_file=boxes)
        args.update(out_dir=out, device='cpu', no_progress=True, no_bbox=True, kpt_thr=-1e9)
        args.update(radius=radius, thickness=thickness, no_track=True)
        assert demo.main(cli_args(tmp_path / 'seq', **args)) == 0
        frames[radius] = read_video(str(out / 'seq_pose.mp4'))[0][0].astype(int)
    assert frames[1].shape == frames[6].shape  # the same input frame, drawn twice
    # larger dots and limbs cover clearly more pixels than the small ones
    assert (abs(frames[6] - frames[1]).sum(axis=-1) > 60).sum() > 50
