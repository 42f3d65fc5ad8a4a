# Copyright (c) OpenMMLab. All rights reserved.
"""tools/eval_posetrack.py and tools/benchmark_metric.py."""

import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from _posetrack_synth import TABLE_HEADER
from conftest import PROJECT_ROOT, shared_path

TOOLS = osp.join(PROJECT_ROOT, 'tools')


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', osp.join(TOOLS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected():
    with open(
        shared_path('data', 'posetrack_eval_reference', 'pred_noisy_expected_poseval.json')
    ) as f:
        return json.load(f)


def _table_row(expected):
    ap = np.asarray(expected['ap'])
    groups = [[12, 13, 14], [8, 9], [7, 10], [6, 11], [2, 3], [1, 4], [0, 5]]
    return [f'{ap[g].mean():.1f}' for g in groups] + [f'{ap[15]:.1f}']


@pytest.mark.parametrize(
    'gt,pred,fmt', [('val', 'pred_noisy', 'pt18'), ('val_pt17', 'pred_noisy_pt17fmt', 'pt17')]
)
def test_eval_posetrack_cli_prints_table_and_json(tmp_path, gt, pred, fmt):
    """The CLI (as a user runs it) prints Table 1's layout with poseval's numbers."""
    expected = _expected()
    out = tmp_path / 'total_AP_metrics.json'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(TOOLS, 'eval_posetrack.py'),
            '--gt',
            shared_path('data', 'posetrack18_mini', 'annotations', gt),
            '--pred',
            shared_path('data', 'posetrack_eval_reference', pred),
            '--format',
            fmt,
            '--json',
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('Method'))
    assert lines[header].split() == TABLE_HEADER
    row = lines[header + 2].split()
    assert row[0] == pred and row[1:] == _table_row(expected)
    with open(out) as f:
        written = json.load(f)
    assert written['names'] == expected['names']
    for key in ('ap', 'pre', 'rec'):
        np.testing.assert_allclose(written[key], expected[key], atol=0.01, rtol=0)
        np.testing.assert_allclose(written[key], expected[key], atol=1e-9, rtol=0)


def test_eval_posetrack_needs_only_numpy(tmp_path):
    """The tool loads the evaluation module by file: no torch/mmpose import."""
    code = (
        'import sys; sys.path.insert(0, {tools!r}); import eval_posetrack as e; '
        'rc = e.main(["--gt", {gt!r}, "--pred", {pred!r}]); '
        'assert rc == 0; assert "torch" not in sys.modules and "mmpose" not in sys.modules, '
        '"heavy imports"'
    ).format(
        tools=TOOLS,
        gt=shared_path('data', 'posetrack18_mini', 'annotations', 'val'),
        pred=shared_path('data', 'posetrack_eval_reference', 'pred_exact'),
    )
    proc = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert '100.0' in proc.stdout


def test_eval_posetrack_bad_input(tmp_path, capsys):
    tool = _load_tool('eval_posetrack')
    gt = shared_path('data', 'posetrack18_mini', 'annotations', 'val')
    empty = tmp_path / 'preds'
    empty.mkdir()
    assert tool.main(['--gt', gt, '--pred', str(empty)]) == 1
    err = capsys.readouterr().err
    assert osp.join(str(empty), '003418_mpii_test.json') in err
    assert tool.main(['--gt', gt, '--pred', str(empty), '--format', 'pt17']) == 1
    assert "format='pt17'" in capsys.readouterr().err


def test_benchmark_prints_time_and_memory(capsys):
    tool = _load_tool('benchmark_metric')
    args = ['--videos', '2', '--frames', '3', '--persons', '2', '--write', '--repeat', '1']
    assert tool.main(args + ['--format', 'pt18']) == 0
    out = capsys.readouterr().out
    for text in (
        '2 videos x 3 labelled frames x 2 persons',
        'process()',
        'evaluate()',
        'metric total',
        'peak traced memory',
        'MiB',
        'mAP',
        # the file evaluation, phase by phase, against the previous implementation (same run)
        'file evaluation (pt18 GT, pt18 predictions: 12 GT / 66 predicted persons)',
        'baseline: previous implementation',
        'parse GT files',
        'parse prediction files',
        'regions+assign+AP',
        'results identical to the baseline: yes',
    ):
        assert text in out
    speedups = [float(line.split()[-1].rstrip('x')) for line in out.splitlines() if 's ' in line
                and line.strip().startswith(('parse', 'regions', 'total'))]  # fmt: skip
    assert len(speedups) == 4 and all(v > 0 for v in speedups)
    assert (
        tool.main(
            [
                '--videos',
                '1',
                '--frames',
                '2',
                '--persons',
                '1',
                '--format',
                'pt17',
                '--nms',
                'oks_nms',
                '--no-memory',
                '--repeat',
                '1',
            ]
        )
        == 0
    )
    assert 'peak traced memory' not in capsys.readouterr().out
