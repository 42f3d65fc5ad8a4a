# Copyright (c) OpenMMLab. All rights reserved.
"""tools/make_wheelhouse.sh: arguments and the pip commands for the target (--dry-run only)."""

import os
import os.path as osp
import subprocess
import sys

from conftest import PROJECT_ROOT

SCRIPT = osp.join(PROJECT_ROOT, 'tools', 'make_wheelhouse.sh')


def _run(*args):
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(
        ['bash', SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_arguments(tmp_path):
    proc = _run('--help')
    assert proc.returncode == 0 and '--python-version' in proc.stdout
    proc = _run()
    assert proc.returncode == 2 and 'give the output folder' in proc.stderr
    proc = _run(str(tmp_path), '--python-version', 'twelve')
    assert proc.returncode == 2 and "must look like 3.12, not 'twelve'" in proc.stderr
    proc = _run(str(tmp_path), str(tmp_path / 'b'))
    assert proc.returncode == 2 and 'one output folder only' in proc.stderr
    proc = _run(str(tmp_path), '--extra', str(tmp_path / 'missing.whl'))
    assert proc.returncode == 2 and 'no such file' in proc.stderr
    proc = _run(str(tmp_path), '--frobnicate')
    assert proc.returncode == 2 and "unknown option '--frobnicate'" in proc.stderr


def test_dry_run_targets_the_given_python_and_platform(tmp_path):
    extra = tmp_path / 'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl'
    extra.write_bytes(b'')
    out_dir = tmp_path / 'wh'
    proc = _run(str(out_dir), '--python-version', '3.12', '--extra', str(extra), '--dry-run')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f'wheelhouse {out_dir} for Python 3.12 (cp312) on manylinux_2_28_x86_64'
    pips = [ln for ln in lines if ln.startswith('pip: ')]
    binary = [ln for ln in pips if '--only-binary :all:' in ln]
    assert binary and all('--python-version 3.12' in ln and '--abi cp312' in ln for ln in binary)
    # older manylinux tags are accepted too (pip < 24 takes --platform literally)
    for tag in ('manylinux_2_28_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64'):
        assert all(f'--platform {tag}' in ln for ln in binary), tag
    # the whole runtime + test stack and the build tools, mmpose without its deps
    assert any('-r' in ln and 'runtime.txt' in ln and 'Cython ninja psutil' in ln for ln in binary)
    assert any('--no-deps mmpose==1.3.2' in ln for ln in binary)
    assert any('constraints-numpy2.txt' in ln for ln in binary)
    # sdists built on the target against its torch and numpy
    (sdist,) = [ln for ln in pips if '--no-binary :all:' in ln]
    assert 'mmcv==2.1.0' in sdist and 'xtcocotools==1.14.3' in sdist
    assert '--python-version' not in sdist
    assert f'copy: {extra}' in lines
    assert not out_dir.exists()


def test_default_python_version_is_this_one(tmp_path):
    proc = _run(str(tmp_path / 'wh'), '--dry-run', '--platform', 'manylinux_2_17_aarch64')
    assert proc.returncode == 0, proc.stderr
    ver = '%d.%d' % sys.version_info[:2]
    assert f'for Python {ver} (cp{ver.replace(".", "")}) on manylinux_2_17_aarch64' in proc.stdout
    assert '--platform manylinux2014_aarch64' in proc.stdout
    assert '--platform manylinux_2_18_aarch64' not in proc.stdout
