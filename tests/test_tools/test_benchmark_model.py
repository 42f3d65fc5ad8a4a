# Copyright (c) OpenMMLab. All rights reserved.
"""tools/benchmark_model.py: smoke test with a narrow HRNet (the real one is W48)."""

import torch
from conftest import load_tool

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

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
    assert bench.backbone_cfg() == hrnet_w48()
    assert bench.backbone_cfg()['extra']['stage4']['num_channels'] == (48, 96, 192, 384)
    monkeypatch.setattr(bench, 'BACKBONE', NARROW_HRNET)
    # the profiler-based CPU peak memory is slow; it is tested on its own below
    monkeypatch.setattr(bench, '_cpu_peak_mib', lambda fn: (fn(), 1.0)[1])
    rows = bench.main(
        ['--input-size', '64', '32', '--repeats', '1', '--warmup', '0', '--device', 'cpu']
    )
    out = capsys.readouterr().out
    names = [r['name'] for r in rows]
    assert names == [
        'floor = 3 x single frame',
        'HRNet-W48 single frame (mmpose)',
        'HRNet-W48 on the 3B crops at once',
        'FaSRnet, official mode',
        'FaSRnet, fixed mode',
        'FaSRHead only, official mode',
        'FaSRHead only, fixed mode',
    ]
    assert rows[0]['ratio'] == 1.0
    assert abs(rows[1]['ratio'] - 1 / 3) < 1e-9
    assert all(r['seconds'] > 0 for r in rows)
    for name in names:
        assert name in out
    assert 'x floor' in out and 'target' in out
    assert all(r['peak_mib'] == 1.0 for r in rows)


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
