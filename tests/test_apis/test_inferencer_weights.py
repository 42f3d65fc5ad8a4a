# Copyright (c) OpenMMLab. All rights reserved.
"""Weights through the inferencer: loopback HTTP (download, cache hit, hash mismatch, 404),
file:// and local paths; partial weights refused (or allowed and marked). No test touches the
internet (127.0.0.1 only)."""

import hashlib
import os
import os.path as osp

import pytest
import torch
from _apis_helpers import one_torch_thread, tiny_assets  # noqa: F401
from _http_server import serving

from fasrnet_mmpose.apis import FaSRnetInferencer
from fasrnet_mmpose.utils import (
    CheckpointDownloadError,
    CheckpointHashError,
    WeightsMismatchError,
    get_checkpoint_cache_dir,
)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    return get_checkpoint_cache_dir()


@pytest.fixture
def server(cache_dir):
    with serving() as srv:
        yield srv


@pytest.fixture(scope='module')
def checkpoint():
    path = tiny_assets()['checkpoint']
    with open(path, 'rb') as f:
        data = f.read()
    name = f'fasrnet_tiny-{hashlib.sha256(data).hexdigest()[:8]}_20240101.pth'
    return path, data, name


def _build(weights) -> FaSRnetInferencer:
    return FaSRnetInferencer(
        tiny_assets()['config'], weights=weights, device='cpu', det_model='whole_image'
    )


def _assert_loaded(inferencer: FaSRnetInferencer, path: str) -> None:
    assert inferencer.weights_loaded
    expected = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    state = inferencer.model.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value)


def test_http_download_then_cache_hit(server, cache_dir, checkpoint):
    path, data, name = checkpoint
    server.files['/zoo/' + name] = data
    url = server.url('/zoo/' + name)
    _assert_loaded(_build(url), path)
    assert server.requests == ['/zoo/' + name]
    assert sorted(os.listdir(cache_dir)) == [name]
    _assert_loaded(_build(url), path)  # cache hit: verified, not downloaded again
    assert server.requests == ['/zoo/' + name]


def test_http_hash_mismatch_is_a_clear_error(server, cache_dir, checkpoint):
    _, data, _ = checkpoint
    name = 'fasrnet_tiny-deadbeef_20240101.pth'
    assert not hashlib.sha256(data).hexdigest().startswith('deadbeef')
    server.files['/' + name] = data
    with pytest.raises(CheckpointHashError, match='deadbeef'):
        _build(server.url('/' + name))
    assert not osp.isdir(cache_dir) or os.listdir(cache_dir) == []  # not kept, not used


def test_http_404(server, cache_dir):
    url = server.url('/zoo/missing-0123abcd_20240101.pth')
    with pytest.raises(CheckpointDownloadError, match='HTTP 404'):
        _build(url)


def test_file_url_and_local_path(checkpoint, cache_dir):
    path, _, _ = checkpoint
    from pathlib import Path

    _assert_loaded(_build(Path(path).as_uri()), path)
    _assert_loaded(_build(path), path)
    assert not osp.isdir(cache_dir)  # local files are never copied into the cache


def test_default_detector_download_failure_suggests_offline_options(server, monkeypatch):
    """mmpose's default RTMDet weights cannot be downloaded: the error says what to do.

    The default detector URL is redirected to the loopback server (404), so nothing leaves
    127.0.0.1.
    """
    from mmpose.apis.inferencers.utils.default_det_models import default_det_models

    monkeypatch.setitem(
        default_det_models['body'], 'weights', server.url('/rtmdet_m_person-235e8209.pth')
    )
    with pytest.raises(CheckpointDownloadError, match="det_model='hog'"):
        FaSRnetInferencer(
            tiny_assets()['config'], weights=tiny_assets()['checkpoint'], device='cpu'
        )


def _partial_checkpoints(tmp_path):
    """A classifier's state dict (nothing matches) and the tiny model's backbone only."""
    path = tiny_assets()['checkpoint']
    state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    classifier = tmp_path / 'resnet_like.pth'
    resnet = {'conv1.weight': torch.zeros(8, 3, 7, 7), 'fc.weight': torch.zeros(10, 8)}
    torch.save(resnet, classifier)
    backbone_only = tmp_path / 'backbone_only.pth'
    torch.save(
        dict(state_dict={k: v for k, v in state.items() if k.startswith('backbone.')}),
        backbone_only,
    )
    num_head = sum(k.startswith('head.') for k in state)
    num_backbone = sum(k.startswith('backbone.') for k in state)
    return str(classifier), str(backbone_only), num_backbone, num_head


def test_partial_weights_are_refused_with_counts(tmp_path, cache_dir):
    classifier, backbone_only, num_backbone, num_head = _partial_checkpoints(tmp_path)
    with pytest.raises(WeightsMismatchError) as info:
        _build(backbone_only)
    message = str(info.value)
    assert '\n' not in message and backbone_only in message
    assert f'backbone {num_backbone}/{num_backbone} matched, 0 missing' in message
    assert f'head 0/{num_head} matched, {num_head} missing' in message
    assert '--allow-partial-weights' in message
    with pytest.raises(WeightsMismatchError, match=f'backbone 0/{num_backbone} matched'):
        _build(classifier)


def test_allow_partial_weights_runs_marked_like_random_init(tmp_path, cache_dir):
    _, backbone_only, _, _ = _partial_checkpoints(tmp_path)
    inferencer = FaSRnetInferencer(
        tiny_assets()['config'],
        weights=backbone_only,
        device='cpu',
        det_model='whole_image',
        allow_partial_weights=True,
    )
    assert not inferencer.weights_loaded  # the demo's JSON says random_init: true
    expected = torch.load(backbone_only, map_location='cpu', weights_only=False)['state_dict']
    state = inferencer.model.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value)
