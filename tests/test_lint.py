# Copyright (c) OpenMMLab. All rights reserved.
"""House rules (``ruff.toml``): the whole repository passes ``ruff check`` and ``ruff format``."""

import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.parametrize(
    'args', [['check', '--no-cache', '.'], ['format', '--check', '--no-cache', '.']]
)
def test_ruff(args):
    proc = subprocess.run(
        [sys.executable, '-m', 'ruff', *args], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, f'ruff {" ".join(args)} failed:\n{proc.stdout}\n{proc.stderr}'
