# Copyright (c) OpenMMLab. All rights reserved.
"""tools/benchmark_inference.py prints its table (timings are never asserted)."""

import re

import pytest
from _apis_helpers import cli_args, one_torch_thread, tiny_assets, write_video  # noqa: F401
from conftest import load_tool

bench = load_tool('benchmark_inference')


def test_benchmark_table(tmp_path, capsys):
    video = str(tmp_path / 'clip.mp4')
    write_video(video, 4)
    rc = bench.main(
        cli_args(
            video,
            config=tiny_assets()['config'],
            max_frames=2,
            warmup=1,
            det='whole-image',
            device='cpu',
        )
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert '3 frames decoded once' in out
    for column in ('decode', 'detect', 'crop', 'pose', 'total', 'frames/s', 'persons/s'):
        assert column in out
    header = next(line for line in out.splitlines() if line.startswith('model '))
    stages = ('boxes', 'preprocess', 'model', 'postproc', 'render', 'tracking', 'other')
    assert all(stage in header.split() for stage in stages)
    rows = {
        line.split('  ')[0].strip(): line
        for line in out.splitlines()
        if line.startswith(('FaSRnet', 'HRNet', 'ratio'))
    }
    assert set(rows) == {
        'FaSRnet offline (T=3)',
        'HRNet-W8 single-frame',
        'ratio FaSRnet / single-frame',
    }
    for label in ('FaSRnet offline (T=3)', 'HRNet-W8 single-frame'):
        frames, persons, forwards = rows[label][30:].split()[:3]
        assert (frames, persons, forwards) == ('2', '2', '2')  # one forward per frame
    assert re.search(r'\d+\.\d\dx', rows['ratio FaSRnet / single-frame'])


def test_benchmark_rejects_bad_sizes():
    with pytest.raises(SystemExit):
        bench.parse_args(['--input-size', '100', '96'])
