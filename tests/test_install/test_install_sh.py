# Copyright (c) OpenMMLab. All rights reserved.
"""tools/install.sh: arguments, offline wheelhouse checks, the dry-run plan (nothing installed)."""

import os
import os.path as osp
import subprocess
import sys

import torch
from conftest import PROJECT_ROOT

INSTALL = osp.join(PROJECT_ROOT, 'tools', 'install.sh')


def _run(args, tmp_path, **env):
    full_env = dict(os.environ, FASRNET_VENV=str(tmp_path / 'venv'), PYTHON=sys.executable)
    for key in ('FASRNET_TORCH', 'FASRNET_NUMPY', 'FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'MAX_JOBS'):
        full_env.pop(key, None)
    full_env.update(env)
    return subprocess.run(
        ['bash', INSTALL, *args], capture_output=True, text=True, env=full_env, timeout=300
    )


def test_help_lists_every_path(tmp_path):
    proc = _run(['--help'], tmp_path)
    assert proc.returncode == 0
    for word in ('FASRNET_TORCH', '--offline DIR', '--dry-run', 'FORCE_CUDA', 'PIP_FIND_LINKS'):
        assert word in proc.stdout, word


def test_bad_arguments_say_what_to_do(tmp_path):
    proc = _run(['--bogus'], tmp_path)
    assert proc.returncode == 2
    assert "unknown argument '--bogus'" in proc.stderr
    proc = _run(['--offline'], tmp_path)
    assert proc.returncode == 2 and 'needs a wheelhouse folder' in proc.stderr
    proc = _run(['--dry-run'], tmp_path, FASRNET_TORCH='conda')
    assert proc.returncode == 1
    assert "FASRNET_TORCH must be 'pinned' or 'system', not 'conda'" in proc.stderr
    assert not (tmp_path / 'venv').exists()


def test_offline_checks_the_wheelhouse_before_creating_anything(tmp_path):
    proc = _run(['--offline', str(tmp_path / 'missing')], tmp_path)
    assert proc.returncode == 1
    assert 'no such folder' in proc.stderr and 'make_wheelhouse.sh' in proc.stderr
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = _run(['--offline', str(empty)], tmp_path)
    assert proc.returncode == 1
    assert 'has no mmcv-2.1.0 sdist or wheel' in proc.stderr
    # a wheelhouse made for another Python
    other = tmp_path / 'wheelhouse'
    other.mkdir()
    (other / 'mmcv-2.1.0.tar.gz').write_bytes(b'')
    (other / 'wheelhouse.txt').write_text('python_version=3.99\nabi=cp399\n')
    proc = _run(['--offline', str(other)], tmp_path)
    assert proc.returncode == 1
    assert 'was made for Python 3.99' in proc.stderr
    assert '--python-version %d.%d' % sys.version_info[:2] in proc.stderr
    assert not (tmp_path / 'venv').exists()


def test_dry_run_prints_the_plan_and_build_settings(tmp_path):
    proc = _run(['--dry-run'], tmp_path, FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0', MAX_JOBS='16')
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert f'to create with {sys.executable} -m venv' in out
    assert 'torch:       pinned' in out
    base = torch.__version__.split('+')[0]
    assert 'setting:     FORCE_CUDA=1' in out
    assert 'setting:     TORCH_CUDA_ARCH_LIST=9.0' in out
    assert 'setting:     MAX_JOBS=16' in out
    assert f'_torch-{base}_' in out and '_ops-sm90' in out
    assert 'setting:     CXX_STD=c++' in out
    assert not (tmp_path / 'venv').exists()


def test_system_torch_needs_an_importable_torch(tmp_path):
    # an interpreter without site-packages stands for a machine without torch
    nosite = tmp_path / 'python-nosite'
    nosite.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    nosite.chmod(0o755)
    proc = _run(['--dry-run'], tmp_path, FASRNET_TORCH='system', PYTHON=str(nosite))
    assert proc.returncode == 1
    assert 'FASRNET_TORCH=system but torch does not import' in proc.stderr
    assert 'venv --system-site-packages' in proc.stdout
