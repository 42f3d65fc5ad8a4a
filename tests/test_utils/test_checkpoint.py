# Copyright (c) OpenMMLab. All rights reserved.
"""Checkpoint loaders: local (torch >= 2.6), file:// and hash-checked http(s).

Checkpoints are served by a local ``http.server`` on 127.0.0.1 in a thread;
no test touches the internet. ``TORCH_HOME`` points into ``tmp_path`` so the
download cache is per test.
"""

import hashlib
import io
import os
import os.path as osp
import pickle
from typing import List, Tuple

import numpy as np
import pytest
import torch
import torch.nn as nn
from _http_server import serving
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.runner.checkpoint import load_from_local as mmengine_load_from_local
from mmengine.utils import digit_version

import fasrnet_mmpose.utils.checkpoint as ckpt_module
from fasrnet_mmpose.utils import (
    CheckpointDownloadError,
    CheckpointHashError,
    get_checkpoint_cache_dir,
    load_checkpoint_file,
)
from fasrnet_mmpose.utils.checkpoint import get_hash_prefix


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)


def _make_checkpoint(seed: int = 0) -> Tuple[dict, bytes]:
    """An mmengine-style checkpoint that ``weights_only=True`` cannot load."""
    torch.manual_seed(seed)
    model = TinyNet()
    history = HistoryBuffer()
    history.update(0.5)
    history.update(0.25)
    checkpoint = dict(
        meta=dict(
            epoch=3,
            dataset_meta=dict(
                dataset_name='posetrack18',
                flip_indices=np.arange(4),
                sigmas=np.array([0.026, 0.025, 0.025, 0.035]),
            ),
        ),
        message_hub=dict(log_scalars={'train/loss': history}),
        state_dict=model.state_dict(),
    )
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return checkpoint, buffer.getvalue()


def _hashed_name(data: bytes, stem: str = 'tiny', date: bool = True) -> str:
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f'{stem}-{digest}_20240101.pth' if date else f'{stem}-{digest}.pth'


def _assert_same_checkpoint(loaded: dict, expected: dict) -> None:
    assert set(loaded['state_dict']) == set(expected['state_dict'])
    for key, value in expected['state_dict'].items():
        torch.testing.assert_close(loaded['state_dict'][key], value)
    np.testing.assert_array_equal(
        loaded['meta']['dataset_meta']['sigmas'], expected['meta']['dataset_meta']['sigmas']
    )
    history = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history.current() == 0.25


@pytest.fixture
def events() -> List[str]:
    return []


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> str:
    """Point TORCH_HOME into tmp_path; keep localhost traffic off proxies."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    for var in ('TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        monkeypatch.delenv(var, raising=False)
    path = get_checkpoint_cache_dir()
    assert path == osp.join(str(tmp_path), 'torch_home', 'hub', 'checkpoints')
    return path


@pytest.fixture
def server(cache_dir, events):
    with serving(events) as srv:
        yield srv


def _cached_files(cache_dir: str) -> List[str]:
    return sorted(os.listdir(cache_dir)) if osp.isdir(cache_dir) else []


# ------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    'name, expected',
    [
        ('hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth', 'b9e0b3ab'),
        ('rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth', '235e8209'),
        ('resnet18-5c106cde.pth', '5c106cde'),
        ('https://h.org/a/x-0123456789abcdef_20240101.pth?dl=1', '0123456789abcdef'),
        ('model-ABCDEF12.pth.tar', 'abcdef12'),
        ('epoch_210.pth', None),
        ('best_coco_AP_epoch_20.pth', None),
        ('fasrnet-hrnet-w48-1a2b3c.pth', None),  # < 8 hex digits
        ('hrnet-b9e0b3ab_20200708_final.pth', None),
    ],
)
def test_get_hash_prefix(name, expected):
    assert get_hash_prefix(name) == expected


def test_file_url_must_be_absolute():
    # file:///abs/... (percent-decoded) and file://localhost/abs/...: test_file_url loads them
    with pytest.raises(ValueError, match='must be absolute'):
        load_checkpoint_file('file://work_dirs/a.pth')


def test_registered_schemes():
    get = CheckpointLoader._get_checkpoint_loader
    assert get('/abs/a.pth') is ckpt_module.safe_load
    assert get('relative/a.pth') is ckpt_module.safe_load
    assert get('file:///abs/a.pth') is ckpt_module.safe_load
    assert get('http://h/a.pth') is ckpt_module.load_from_http
    assert get('https://h/a.pth') is ckpt_module.load_from_http
    # the '' override must not shadow mmengine's other schemes
    for url in (
        'open-mmlab://resnet50_v1c',
        'openmmlab://x',
        'torchvision://resnet18',
        'modelzoo://resnet18',
        'mmcls://resnet50',
        'pavi://x',
        's3://bucket/a.pth',
        'petrel://bucket/a.pth',
    ):
        loader = get(url)
        assert loader.__module__ == 'mmengine.runner.checkpoint', url


# ------------------------------------------------------------ local files


def test_local_path_with_numpy_meta(tmp_path, cache_dir):
    expected, data = _make_checkpoint()
    path = tmp_path / 'epoch_3.pth'
    path.write_bytes(data)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(str(path), weights_only=True)
    if digit_version(torch.__version__) >= digit_version('2.6.0'):
        # the bug being fixed: torch >= 2.6 defaults to weights_only=True
        with pytest.raises(pickle.UnpicklingError):
            mmengine_load_from_local(str(path), 'cpu')

    _assert_same_checkpoint(load_checkpoint_file(str(path)), expected)
    _assert_same_checkpoint(
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu'), expected
    )
    with pytest.raises(FileNotFoundError):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_file_url(tmp_path, cache_dir):
    expected, data = _make_checkpoint()
    path = tmp_path / 'dir with space' / 'tiny.pth'
    path.parent.mkdir()
    path.write_bytes(data)
    _assert_same_checkpoint(load_checkpoint_file(path.as_uri()), expected)
    _assert_same_checkpoint(load_checkpoint_file('file://localhost' + str(path)), expected)
    with pytest.raises(FileNotFoundError):
        load_checkpoint_file((tmp_path / 'missing.pth').as_uri())
    assert _cached_files(cache_dir) == []  # local files are never copied


# ------------------------------------------------------------------ http


@pytest.mark.parametrize('date', [True, False])
def test_http_download_then_cache_hit(server, cache_dir, date):
    expected, data = _make_checkpoint()
    name = _hashed_name(data, date=date)
    server.files['/zoo/' + name] = data
    url = server.url('/zoo/' + name)

    _assert_same_checkpoint(load_checkpoint_file(url), expected)
    assert server.requests == ['/zoo/' + name]
    assert _cached_files(cache_dir) == [name]  # no temporary files left
    assert open(osp.join(cache_dir, name), 'rb').read() == data

    # cache hit: verified, but not requested again
    _assert_same_checkpoint(load_checkpoint_file(url), expected)
    assert server.requests == ['/zoo/' + name]


def test_http_name_without_hash(server, cache_dir):
    expected, data = _make_checkpoint()
    server.files['/epoch_3.pth'] = data
    _assert_same_checkpoint(load_checkpoint_file(server.url('/epoch_3.pth')), expected)
    assert _cached_files(cache_dir) == ['epoch_3.pth']


def test_http_hash_mismatch(server, cache_dir):
    _, data = _make_checkpoint()
    wrong = 'deadbeef'
    assert not hashlib.sha256(data).hexdigest().startswith(wrong)
    name = f'tiny-{wrong}_20240101.pth'
    server.files['/' + name] = data
    url = server.url('/' + name)

    with pytest.raises(CheckpointHashError) as info:
        load_checkpoint_file(url)
    message = str(info.value)
    assert url in message
    assert wrong in message
    assert hashlib.sha256(data).hexdigest() in message
    assert _cached_files(cache_dir) == []  # not kept
    # not cached: a new attempt downloads (and fails) again
    with pytest.raises(CheckpointHashError):
        load_checkpoint_file(url)
    assert len(server.requests) == 2
    assert _cached_files(cache_dir) == []


def test_corrupted_cache_file_is_rejected(server, cache_dir):
    expected, data = _make_checkpoint()
    name = _hashed_name(data)
    server.files['/' + name] = data
    url = server.url('/' + name)
    os.makedirs(cache_dir)
    with open(osp.join(cache_dir, name), 'wb') as f:
        f.write(data[:-10] + b'x' * 10)

    with pytest.raises(CheckpointHashError, match='deleted and not used'):
        load_checkpoint_file(url)
    assert server.requests == []  # the cache hit was checked, not refetched
    assert _cached_files(cache_dir) == []
    _assert_same_checkpoint(load_checkpoint_file(url), expected)
    assert len(server.requests) == 1


def test_http_404(server, cache_dir):
    url = server.url('/zoo/missing-0123abcd_20240101.pth')
    with pytest.raises(CheckpointDownloadError, match='HTTP 404') as info:
        load_checkpoint_file(url)
    assert url in str(info.value)
    assert _cached_files(cache_dir) == []


def test_http_not_a_checkpoint(server, cache_dir):
    server.files['/uc'] = b'<!DOCTYPE html><html>Google Drive</html>'
    url = server.url('/uc')
    with pytest.raises(CheckpointDownloadError, match='cannot be loaded'):
        load_checkpoint_file(url)


def test_mmengine_load_checkpoint_end_to_end(server, tmp_path, cache_dir):
    expected, data = _make_checkpoint(seed=1)
    name = _hashed_name(data, stem='fasrnet_tiny')
    server.files['/' + name] = data
    local = tmp_path / 'local.pth'
    local.write_bytes(data)

    for source in (server.url('/' + name), str(local), local.as_uri()):
        torch.manual_seed(123)
        model = TinyNet()
        checkpoint = load_checkpoint(model, source, map_location='cpu')
        for key, value in expected['state_dict'].items():
            torch.testing.assert_close(model.state_dict()[key], value)
        assert checkpoint['meta']['epoch'] == 3
    assert len(server.requests) == 1


# ----------------------------------------------------------- distributed


@pytest.mark.parametrize('rank', [0, 1])
def test_distributed_rank0_downloads_before_barrier(server, cache_dir, monkeypatch, events, rank):
    _, data = _make_checkpoint()
    name = _hashed_name(data)
    server.files['/' + name] = data
    monkeypatch.setattr(ckpt_module, 'get_dist_info', lambda: (rank, 2))
    monkeypatch.setattr(torch.distributed, 'barrier', lambda *a, **k: events.append('barrier'))
    if rank > 0:
        # another rank (rank 0) downloads while this one waits
        ckpt_module.download_checkpoint(server.url('/' + name), progress=False)
        events.clear()
    load_checkpoint_file(server.url('/' + name))
    expected = ['GET /' + name, 'barrier'] if rank == 0 else ['barrier']
    assert events == expected


def test_distributed_rank0_failure_reaches_barrier(server, cache_dir, monkeypatch, events):
    monkeypatch.setattr(ckpt_module, 'get_dist_info', lambda: (0, 2))
    monkeypatch.setattr(torch.distributed, 'barrier', lambda *a, **k: events.append('barrier'))
    with pytest.raises(CheckpointDownloadError, match='HTTP 404'):
        load_checkpoint_file(server.url('/missing.pth'))
    assert events == ['GET /missing.pth', 'barrier']
