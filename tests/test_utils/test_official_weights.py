# Copyright (c) OpenMMLab. All rights reserved.
"""The authors' weights through the model index: download (loopback, injected Drive download),
safe unpacking of zip/tar archives, finding the official checkpoint, conversion, sha256-recorded
cache; an official file given as a local path is converted on the fly.

The synthetic official checkpoint has the official keys and shapes of
``../shared/fixtures/official_head/fasrnet_official_state_dict_shapes.json`` with a random value
per entry (each tensor is one random number expanded to its shape, so the files stay tiny).
"""

import hashlib
import io
import json
import logging
import os
import os.path as osp
import sys
import tarfile
import types
import zipfile
from collections import OrderedDict

import pytest
import torch
from _http_server import serving
from conftest import shared_path
from mmengine.logging import MMLogger

from fasrnet_mmpose.utils import (
    CheckpointDownloadError,
    CheckpointHashError,
    get_checkpoint_cache_dir,
    load_checkpoint_file,
)
from fasrnet_mmpose.utils import official_checkpoint as official_weights
from fasrnet_mmpose.utils.checkpoint import sha256_of_file
from fasrnet_mmpose.utils.official_checkpoint import official_key_to_plugin

DRIVE_ID = '1eD0oENp4_NKpodaTZs2P9c4TXjZ8nbdg'
DRIVE_URL = f'https://drive.google.com/uc?id={DRIVE_ID}'
LISTING = ('fixtures', 'official_head', 'fasrnet_official_state_dict_shapes.json')


@pytest.fixture(scope='module')
def official_state():
    with open(shared_path(*LISTING)) as f:
        entries = json.load(f)['entries']
    gen = torch.Generator().manual_seed(0)
    state = OrderedDict()
    for key, shape, dtype in entries:
        if dtype == 'int64':
            value = torch.randint(0, 1000, (), generator=gen)
        else:
            value = torch.randn((), generator=gen)
        state[key] = value.expand(shape)
    return state


def _official_bytes(state, prefix='module.') -> bytes:
    buffer = io.BytesIO()
    sd = OrderedDict((prefix + k, v) for k, v in state.items())
    torch.save(dict(begin_epoch=29, state_dict=sd, optimizer=dict(state={})), buffer)
    return buffer.getvalue()


def _hrnet_only_bytes(state) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v for k, v in state.items() if k.startswith('rough_')}, buffer)
    return buffer.getvalue()


def _archive(kind: str, members: dict) -> bytes:
    buffer = io.BytesIO()
    if kind == 'zip':
        with zipfile.ZipFile(buffer, 'w') as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode='w:gz') as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines = []

    def emit(self, record) -> None:
        self.lines.append(record.getMessage())

    def pop(self) -> str:
        text, self.lines = '\n'.join(self.lines), []
        return text


@pytest.fixture
def logs():
    """Messages of mmengine's current logger (its stream handler predates capsys)."""
    logger = MMLogger.get_current_instance()
    handler = _Collect()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def drive(tmp_path, monkeypatch):
    """A loopback 'Google Drive': gdown_download fetches /drive/<id> from the local server."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.delenv('FASRNET_TRUST_CHECKPOINT', raising=False)
    with serving() as server:

        def download(file_id: str, dst: str) -> None:
            torch.hub.download_url_to_file(server.url(f'/drive/{file_id}'), dst, progress=False)

        monkeypatch.setattr(official_weights, 'gdown_download', download)
        yield server


def _assert_converted(checkpoint, state):
    sd = checkpoint['state_dict']
    assert list(sd) == [official_key_to_plugin(k) for k in state]
    for key in (
        'rough_pose_estimation_net.conv1.weight',
        'final_layer.weight',
        'pcda_p.cas_dcnpack.conv_offset.weight',
    ):
        if key in state:
            torch.testing.assert_close(sd[official_key_to_plugin(key)], state[key])


@pytest.mark.parametrize('kind', ['zip', 'tar.gz', 'plain'])
def test_drive_download_unpack_convert_cache(drive, official_state, kind, logs):
    official = _official_bytes(official_state)
    if kind == 'plain':
        payload = official
    else:
        payload = _archive(
            kind,
            {
                'FaSRnet/README.txt': b'pretrained models',
                'FaSRnet/pose_hrnet_w48_384x288.pth': _hrnet_only_bytes(official_state),
                'FaSRnet/PoseTrack17/epoch_28_state.pth': official,
            },
        )
    drive.files[f'/drive/{DRIVE_ID}'] = payload

    _assert_converted(load_checkpoint_file(DRIVE_URL), official_state)
    log = logs.pop()
    assert 'downloading Google Drive file' in log and 'converted' in log and 'cached' in log
    cache = osp.join(get_checkpoint_cache_dir(), 'fasrnet_official')
    with open(osp.join(cache, f'{DRIVE_ID}.json')) as f:
        record = json.load(f)
    assert record['downloaded_sha256'] == hashlib.sha256(payload).hexdigest()
    converted = osp.join(cache, record['converted'])
    assert sha256_of_file(converted) == record['converted_sha256']
    assert record['converted'].endswith(f'-{record["converted_sha256"][:8]}.pth')
    assert sorted(os.listdir(cache)) == sorted([record['converted'], f'{DRIVE_ID}.json'])

    # later use: the recorded sha256 is checked, nothing is downloaded
    _assert_converted(load_checkpoint_file(DRIVE_URL), official_state)
    assert 'using the cached converted file' in logs.pop()
    assert len(drive.requests) == 1

    # a changed cache file is refused (and removed); the next use downloads again
    with open(converted, 'ab') as f:
        f.write(b'x')
    with pytest.raises(CheckpointHashError, match='recorded'):
        load_checkpoint_file(DRIVE_URL)
    assert not osp.exists(converted)
    _assert_converted(load_checkpoint_file(DRIVE_URL), official_state)
    assert len(drive.requests) == 2


def test_model_index_entry_downloads_on_first_use(drive, official_state):
    """FaSRnetInferencer('<official-ckpt alias>') without weights: the index's Drive file."""
    from fasrnet_mmpose.apis import FaSRnetInferencer

    drive.files[f'/drive/{DRIVE_ID}'] = _archive(
        'zip', {'x/epoch_28_state.pth': _official_bytes(official_state)}
    )
    inferencer = FaSRnetInferencer(
        'fasrnet_hrnet-w48_official-ckpt_posetrack17', device='cpu', det_model='whole_image'
    )
    assert inferencer.weights_loaded
    sd = inferencer.model.state_dict()
    key = 'rough_pose_estimation_net.stage4.2.fuse_layers.0.1.0.weight'
    torch.testing.assert_close(sd[official_key_to_plugin(key)], official_state[key])
    assert drive.requests == [f'/drive/{DRIVE_ID}']


@pytest.mark.parametrize('kind', ['zip', 'tar.gz'])
def test_archive_member_outside_the_cache_is_refused(drive, tmp_path, kind):
    escape = '../../../escape.txt'
    drive.files[f'/drive/{DRIVE_ID}'] = _archive(kind, {escape: b'gotcha', 'a/b.pth': b'x'})
    with pytest.raises(CheckpointDownloadError, match='outside'):
        load_checkpoint_file(DRIVE_URL)
    root = str(tmp_path)
    assert not [f for _, _, files in os.walk(root) for f in files if f == 'escape.txt']


def test_tar_link_is_refused(drive):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tf:
        link = tarfile.TarInfo('ckpt/epoch_28_state.pth')
        link.type, link.linkname = tarfile.SYMTYPE, '/etc/passwd'
        tf.addfile(link)
    drive.files[f'/drive/{DRIVE_ID}'] = buffer.getvalue()
    with pytest.raises(CheckpointDownloadError, match='link'):
        load_checkpoint_file(DRIVE_URL)


def test_archive_without_official_checkpoint(drive, official_state):
    drive.files[f'/drive/{DRIVE_ID}'] = _archive(
        'zip', {'hrnet.pth': _hrnet_only_bytes(official_state)}
    )
    with pytest.raises(CheckpointDownloadError, match='no official FaSRnet checkpoint'):
        load_checkpoint_file(DRIVE_URL)


def test_gdown_missing_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'gdown', None)  # import gdown -> ImportError
    with pytest.raises(CheckpointDownloadError, match='pip install gdown') as info:
        official_weights.gdown_download(DRIVE_ID, str(tmp_path / 'x'))
    assert '\n' not in str(info.value)
    # gdown present but Google refuses (gdown >= 5 raises, older versions return None)
    for outcome in (RuntimeError('Too many users have viewed or downloaded this file'), None):

        def download(id, output, quiet, outcome=outcome):  # noqa: A002  (gdown's keyword)
            if outcome is not None:
                raise outcome

        monkeypatch.setitem(sys.modules, 'gdown', types.SimpleNamespace(download=download))
        with pytest.raises(CheckpointDownloadError, match='in a browser') as info:
            official_weights.gdown_download(DRIVE_ID, str(tmp_path / 'x'))
        assert DRIVE_ID in str(info.value) and '\n' not in str(info.value)


def test_local_official_checkpoint_is_converted_on_the_fly(official_state, tmp_path, logs):
    path = tmp_path / 'epoch_28_state.pth'
    path.write_bytes(_official_bytes(official_state))
    _assert_converted(load_checkpoint_file(str(path)), official_state)
    assert 'converted on the fly' in logs.pop()
