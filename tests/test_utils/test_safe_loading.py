# Copyright (c) OpenMMLab. All rights reserved.
"""Checkpoints load with ``weights_only=True`` plus mmengine's types; anything else is refused.

A pickle that would write a file when unpickled is refused on every route (local path, file://,
http, mmengine's ``load_checkpoint``) and writes nothing; the explicit opt-in loads a harmless
extra type. Importing the plugin changes only the documented ``CheckpointLoader`` schemes.
"""

import datetime
import io
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from _http_server import serving
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from fasrnet_mmpose.utils import (
    CheckpointError,
    UntrustedCheckpointError,
    load_checkpoint_file,
)
from fasrnet_mmpose.utils.checkpoint import TRUST_ENV, safe_load


class WritesFile:
    """Unpickling this calls ``open(path, 'w')`` (a stand-in for any code execution)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


class GetattrGadget:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: getattr beyond mmengine's use."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.fixture(autouse=True)
def untrusted(monkeypatch, tmp_path):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')


def _save(obj, path) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with open(path, 'wb') as f:
        f.write(buffer.getvalue())
    return buffer.getvalue()


def _malicious(tmp_path):
    target = tmp_path / 'pwned.txt'
    path = tmp_path / 'evil.pth'
    data = _save(dict(state_dict={'w': torch.zeros(1)}, meta=dict(x=WritesFile(str(target)))), path)
    return str(path), data, target


def test_pickle_that_writes_a_file_is_refused_everywhere(tmp_path):
    path, data, target = _malicious(tmp_path)
    model = torch.nn.Linear(1, 1)
    routes = [
        lambda: safe_load(path),
        lambda: load_checkpoint_file(path),
        lambda: load_checkpoint_file('file://' + path),
        lambda: CheckpointLoader.load_checkpoint(path),
        lambda: load_checkpoint(model, path),
    ]
    for route in routes:
        with pytest.raises(UntrustedCheckpointError) as info:
            route()
        message = str(info.value)
        assert '\n' not in message
        assert path in message and 'open' in message  # names the file and the type
        assert '--trust-checkpoint' in message and TRUST_ENV in message
        assert not target.exists()
    with serving() as server:
        server.files['/evil.pth'] = data
        with pytest.raises(UntrustedCheckpointError, match='open'):
            load_checkpoint_file(server.url('/evil.pth'))
    assert not target.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'gadget.pth'
    _save(dict(meta=dict(x=GetattrGadget())), path)
    with pytest.raises(UntrustedCheckpointError, match='getattr'):
        safe_load(str(path))
    # what mmengine really pickles loads (HistoryBuffer's statistics methods)
    history = HistoryBuffer()
    history.update(1.5)
    ok = tmp_path / 'ok.pth'
    _save(dict(message_hub=dict(h=history), meta=dict(a=np.float32(2.5), b=np.arange(3))), ok)
    loaded = safe_load(str(ok))
    assert loaded['message_hub']['h'].statistics('current') == 1.5
    assert loaded['meta']['a'] == np.float32(2.5)


def test_explicit_opt_in_loads_other_types(tmp_path, monkeypatch):
    path = tmp_path / 'dated.pth'
    when = datetime.datetime(2024, 1, 1)
    _save(dict(state_dict={}, meta=dict(when=when)), path)
    with pytest.raises(UntrustedCheckpointError, match='datetime'):
        load_checkpoint_file(str(path))
    monkeypatch.setenv(TRUST_ENV, '1')
    assert load_checkpoint_file(str(path))['meta']['when'] == when


def test_not_a_checkpoint_is_one_line(tmp_path):
    text = tmp_path / 'notes.pth'
    text.write_text('hello, not a checkpoint\n')
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    for path in (text, empty):
        with pytest.raises(CheckpointError, match='is not a PyTorch checkpoint') as info:
            load_checkpoint_file(str(path))
        assert str(path) in str(info.value) and '\n' not in str(info.value)
    with pytest.raises(FileNotFoundError, match='not found'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_import_changes_only_the_documented_schemes():
    """A fresh interpreter: mmengine's schemes before and after importing the plugin."""
    code = (
        'from mmengine.runner.checkpoint import CheckpointLoader as C\n'
        'import torch\n'
        'before = dict(C._schemes)\n'
        'import fasrnet_mmpose\n'
        'after = dict(C._schemes)\n'
        'keys = set(before) | set(after)\n'
        'changed = sorted(k for k in keys if before.get(k) is not after.get(k))\n'
        'print(changed)\n'
        'from fasrnet_mmpose.utils.checkpoint import ALLOWED_GLOBALS as A\n'
        'print(any(a in torch.serialization.get_safe_globals() for a in A))\n'
    )
    env = dict(os.environ, PYTHONPATH=osp.dirname(osp.dirname(osp.dirname(__file__))))
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    changed, ours_in_torch_list = out.stdout.strip().splitlines()[-2:]
    assert changed == "['', 'file://', 'http://', 'https://']"
    assert ours_in_torch_list == 'False'  # torch's allow-list is widened only during our loads
