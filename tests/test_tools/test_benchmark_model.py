# Copyright (c) OpenMMLab. All rights reserved.
"""tools/benchmark_model.py: smoke test with a narrow HRNet (the real one is W48)."""

import pytest
import torch
from conftest import load_tool

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48
from fasrnet_mmpose.utils import benchmark as benchmark_utils

bench = load_tool('benchmark_model')


def _narrow_hrnet() -> dict:
    """HRNet-W48 with 4 branches and the 48-channel high-resolution branch (what FaSRHead
    consumes), but thin: one module of one block per stage, 8 channels on the other branches."""
    cfg = hrnet_w48()
    for stage, channels in (
        ('stage1', (8,)),
        ('stage2', (48, 8)),
        ('stage3', (48, 8, 8)),
        ('stage4', (48, 8, 8, 8)),
    ):
        cfg['extra'][stage].update(
            num_modules=1, num_blocks=(1,) * len(channels), num_channels=channels
        )
    return cfg


NARROW_HRNET = _narrow_hrnet()


def test_benchmark_prints_ratio_table(monkeypatch, capsys):
    assert bench.BACKBONE == hrnet_w48()
    assert bench.BACKBONE['extra']['stage4']['num_channels'] == (48, 96, 192, 384)
    monkeypatch.setattr(bench, 'BACKBONE', NARROW_HRNET)
    # the profiler-based CPU peak memory is slow; it is tested on its own below
    monkeypatch.setattr(benchmark_utils, 'cpu_peak_mib', lambda fn: (fn(), 1.0)[1])
    results = bench.main(
        [
            '--input-size', '64', '32', '--repeats', '1', '--warmup', '0', '--device', 'cpu',
            '--batch-size', '1', '2',
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert sorted(results) == [1, 2]
    assert out.count('ms / person') == 2 and out.count('target') == 2 and 'x floor' in out
    for batch_size, rows in results.items():
        names = [r['name'] for r in rows]
        # one row per deformable-conv implementation; '*' marks the one 'auto' picks on CPU
        assert names == [
            'floor = 3 x single frame',
            'HRNet-W48 single frame (mmpose)',
            'HRNet-W48 on the 3B crops at once',
            'FaSRnet, official, mmcv',
            'FaSRnet, official, torchvision',
            'FaSRnet, official, pytorch*',
            'FaSRnet, fixed, pytorch*',
            'FaSRHead only, official, mmcv',
            'FaSRHead only, official, torchvision',
            'FaSRHead only, official, pytorch*',
            'FaSRHead only, fixed, pytorch*',
        ]
        assert [r['name'] for r in rows if r['target']] == ['FaSRnet, official, pytorch*']
        assert rows[0]['ratio'] == 1.0
        assert abs(rows[1]['ratio'] - 1 / 3) < 1e-9
        assert all(r['seconds'] > 0 for r in rows)
        for r in rows:
            assert abs(r['persons_per_s'] - batch_size / r['seconds']) < 1e-6 * r['persons_per_s']
            assert abs(r['ms_per_person'] - 1e3 * r['seconds'] / batch_size) < 1e-9
        for name in names:
            assert name in out
        assert all(r['peak_mib'] == 1.0 for r in rows)
    assert 'persons/s' in out and 'batch 2 person(s)' in out


def test_benchmark_rows_switch_the_implementation_only(monkeypatch):
    """The timed rows share one set of weights; each sets its implementation before running."""
    monkeypatch.setattr(bench, 'BACKBONE', NARROW_HRNET)
    models = bench.build_models(torch.device('cpu'))
    head = models['fasrnet'].head
    feats = (torch.rand(1, 3, 48, 16, 8),)
    outputs = {}
    with torch.no_grad():
        for impl in bench.DCN_IMPLS:
            bench.set_dcn_impl(head, impl)
            assert {m.dcn_impl for m in head.modules() if hasattr(m, 'dcn_impl')} == {impl}
            outputs[impl] = head(feats)[1]
    for impl in ('torchvision', 'pytorch'):
        assert torch.allclose(outputs[impl], outputs['mmcv'], atol=1e-5)
    assert bench.available_impls(torch.device('cpu')) == list(bench.DCN_IMPLS)


def test_peak_memory_counts_only_new_tensors():
    weight = torch.randn(256, 256)

    def fn():
        a = torch.randn(256, 256)  # 256 KiB
        b = a @ weight  # 256 KiB while a is alive
        del a
        return (b * 2).sum()

    with torch.no_grad():
        peak = bench.peak_memory_mib(fn, torch.device('cpu'))
    assert peak is None or abs(peak - 0.5) < 0.01  # None only if the private profiler API changed


def test_clock_cpu_needs_one_cpu_thread(monkeypatch):
    monkeypatch.setattr(torch, 'get_num_threads', lambda: 2)
    with pytest.raises(SystemExit, match='--threads 1'):
        bench.main(['--device', 'cpu', '--clock', 'cpu'])


def test_dcn_calls_table(capsys):
    rows = bench.main(['--dcn', '--input-size', '64', '32', '--repeats', '1', '--warmup', '0'])[0]
    out = capsys.readouterr().out
    assert [(r['call'], r['impl']) for r in rows] == [
        (call, impl) for call in bench.DCN_CALLS for impl in bench.DCN_IMPLS
    ]
    assert all(r['forward'] > 0 and r['fwd+bwd'] > 0 for r in rows)
    assert all(r['forward ratio'] == 1.0 for r in rows if r['impl'] == 'mmcv')
    assert 'x mmcv' in out and 'SRM, 17->17, 17 groups' in out
