# Copyright (c) OpenMMLab. All rights reserved.
"""The tools' one-line errors (``run_cli``): not a checkpoint, missing path, unreachable URL,
``--device cuda`` without CUDA, partial weights in ``tools/test.py``; ``--debug`` and
``FASRNET_DEBUG=1`` show the traceback; ``--trust-checkpoint`` is the explicit opt-in."""

import datetime
import os.path as osp
import sys

import pytest
import torch
from _train_helpers import (
    TOOLS_DIR,
    free_port,
    run_tool,
    subprocess_env,
    synthetic_data,
    tiny_model_cfg,
    train_config,
)


def _tool(name: str, *args: str, **env: str):
    cmd = [sys.executable, osp.join(TOOLS_DIR, f'{name}.py'), *args]
    return run_tool(cmd, check=False, env=subprocess_env(**env))


def _one_line_error(proc, *needles: str) -> str:
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope='module')
def test_setup(tmp_path_factory):
    """A tiny test config on synthetic data, its full checkpoint and a backbone-only one."""
    from mmpose.registry import MODELS

    tmp = tmp_path_factory.mktemp('cli')
    cfg = train_config(str(tmp / 'cfg.py'), **synthetic_data(tmp, nframes=4, labelled=(1, 2)))
    torch.manual_seed(0)
    state = MODELS.build(tiny_model_cfg('fasr')).state_dict()
    full, partial = str(tmp / 'full.pth'), str(tmp / 'backbone_only.pth')
    torch.save(dict(state_dict=state), full)
    torch.save(dict(state_dict={k: v for k, v in state.items() if 'backbone' in k}), partial)
    text = tmp / 'notes.pth'
    text.write_text('not a checkpoint')
    num_head = sum(k.startswith('head.') for k in state)
    return dict(tmp=tmp, cfg=cfg, full=full, partial=partial, text=str(text), num_head=num_head)


def test_test_py_not_a_checkpoint_then_debug(test_setup):
    work = str(test_setup['tmp'] / 'work')
    args = ('test', test_setup['cfg'], test_setup['text'], '--work-dir', work)
    _one_line_error(_tool(*args), test_setup['text'], 'not a PyTorch checkpoint')
    debug = _tool(*args, '--debug')
    assert debug.returncode != 0 and 'Traceback' in debug.stderr


def test_test_py_refuses_partial_weights(test_setup):
    work = str(test_setup['tmp'] / 'work_partial')
    args = ('test', test_setup['cfg'], test_setup['partial'], '--work-dir', work)
    n = test_setup['num_head']
    _one_line_error(
        _tool(*args), 'does not fit the model', f'head 0/{n} matched, {n} missing', 'partial'
    )
    allowed = _tool(*args, '--allow-partial-weights')
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert 'posetrack/AP' in allowed.stdout + allowed.stderr
    assert 'does not fit the model' in allowed.stdout + allowed.stderr  # said, not silent


def test_missing_path_and_unreachable_url(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    _one_line_error(_tool('publish_model', missing, str(tmp_path / 'o.pth')), missing, 'not found')
    url = f'http://127.0.0.1:{free_port()}/zoo/model-0123abcd.pth'
    proc = _tool('publish_model', url, str(tmp_path / 'o.pth'), TORCH_HOME=str(tmp_path / 'th'))
    _one_line_error(proc, url, 'cannot download')
    proc = _tool('publish_model', missing, str(tmp_path / 'o.pth'), FASRNET_DEBUG='1')
    assert proc.returncode != 0 and 'Traceback' in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_device_cuda_without_cuda(tmp_path):
    proc = _tool('demo_video', '--device', 'cuda', '--out-dir', str(tmp_path))
    _one_line_error(proc, '--device cuda', '--device cpu')
    proc = _tool('benchmark_model', '--device', 'cuda:0')
    _one_line_error(proc, '--device cuda:0')


def test_trust_checkpoint_opt_in(tmp_path):
    src = str(tmp_path / 'dated.pth')
    torch.save(
        dict(state_dict={'w': torch.ones(1)}, meta=dict(when=datetime.date(2024, 1, 1))), src
    )
    dst = str(tmp_path / 'pub.pth')
    _one_line_error(_tool('publish_model', src, dst), src, 'datetime', '--trust-checkpoint')
    proc = _tool('publish_model', src, dst, '--trust-checkpoint')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'published' in proc.stdout
