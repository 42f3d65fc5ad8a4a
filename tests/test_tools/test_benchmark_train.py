# Copyright (c) OpenMMLab. All rights reserved.
"""Smoke test of ``tools/benchmark_train.py`` on the PoseTrack17 recipe with a tiny backbone."""

import json
import os.path as osp
import sys

import torch
from _train_helpers import PROJECT_ROOT, run_tool

CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)


def test_benchmark_train_reports_step_loader_and_memory(tmp_path):
    out = str(tmp_path / 'bench.json')
    proc = run_tool(
        [
            sys.executable,
            osp.join(PROJECT_ROOT, 'tools', 'benchmark_train.py'),
            CONFIG,
            '--backbone',
            'tiny',
            '--backbone-width',
            '8',
            '--input-size',
            '48',
            '64',
            '--batch-size',
            '2',
            '--num-workers',
            '0',
            '--steps',
            '1',
            '--warmup',
            '1',
            '--loader-batches',
            '2',
            '--num-frames',
            '4',
            '--persons',
            '1',
            '--frame-size',
            '320',
            '240',
            '--json-out',
            out,
        ],
        timeout=300,
    )
    for line in ('model step  :', 'data loader :', 'end to end  :', 'peak memory :', 'verdict'):
        assert line in proc.stdout, proc.stdout
    with open(out) as f:
        res = json.load(f)
    assert res['batch_size'] == 2 and res['input_shape'] == [3, 3, 64, 48]
    assert res['step_samples_per_s'] > 0 and res['loader_samples_per_s'] > 0
    assert res['end_to_end_samples_per_s'] > 0
    assert res['peak_mem_per_sample_mib'] >= 0
    method = 'max_memory_allocated' if torch.cuda.is_available() else 'ru_maxrss'
    assert method in res['mem_method']
    assert res['loader_is_bottleneck'] == (res['loader_samples_per_s'] < res['step_samples_per_s'])
    assert 'synthetic 320x240' in res['data']
