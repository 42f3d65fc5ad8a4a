# Copyright (c) OpenMMLab. All rights reserved.
"""tools/train.py --amp: mmengine's AmpOptimWrapper on CUDA, a clear fp32 note without CUDA."""

import os.path as osp
import sys

import torch
from conftest import PROJECT_ROOT, load_tool
from mmengine.config import Config

CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet-fixed_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)


def _merged(monkeypatch, tmp_path, cuda: bool) -> Config:
    train = load_tool('train')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, '--amp', '--work-dir', str(tmp_path)])
    return train.merge_args(Config.fromfile(CONFIG), train.parse_args())


def test_amp_without_cuda_says_it_trains_in_fp32(monkeypatch, tmp_path, capsys):
    cfg = _merged(monkeypatch, tmp_path, cuda=False)
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert '--amp needs a CUDA device' in capsys.readouterr().out


def test_amp_with_cuda_uses_the_amp_optim_wrapper(monkeypatch, tmp_path, capsys):
    cfg = _merged(monkeypatch, tmp_path, cuda=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert 'CUDA' not in capsys.readouterr().out
