# Copyright (c) OpenMMLab. All rights reserved.
"""tools/publish_model.py: training-only state stripped, ``<name>-<sha256[:8]>.pth``, and the
published file loads through the plugin's loader with its hash checked (loopback HTTP)."""

import hashlib
import os
import os.path as osp

import numpy as np
import pytest
import torch
from _http_server import serving
from conftest import load_tool
from mmengine.logging import HistoryBuffer

from fasrnet_mmpose.utils import CheckpointHashError, load_checkpoint_file

publish_model = load_tool('publish_model')


def _training_checkpoint(path: str) -> dict:
    """What mmengine's CheckpointHook writes (optimizer, schedulers, message hub, cfg text)."""
    model = torch.nn.Conv2d(3, 4, 3)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(1, 3, 8, 8)).sum().backward()
    optimizer.step()
    history = HistoryBuffer()
    history.update(0.5)
    checkpoint = dict(
        meta=dict(
            epoch=30,
            iter=900,
            cfg='model = dict(...)\n' * 100,
            seed=0,
            experiment_name='x',
            time='20240101_000000',
            mmengine='0.10.7',
            dataset_meta=dict(dataset_name='posetrack18', sigmas=np.ones(17) * 0.1),
        ),
        state_dict=model.state_dict(),
        message_hub=dict(log_scalars={'train/loss': history}),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_epoch=30)],
    )
    torch.save(checkpoint, path)
    return checkpoint


def test_publish_strips_names_and_loads_hash_checked(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    src = str(tmp_path / 'epoch_30.pth')
    original = _training_checkpoint(src)
    # mmpose's tools/misc/publish_model.py calls torch.load(src) (weights_only under torch >= 2.6)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(src)

    final = publish_model.publish(src, str(tmp_path / 'fasrnet_pt17.pth'))
    with open(final, 'rb') as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    assert osp.basename(final) == f'fasrnet_pt17-{digest[:8]}.pth'
    assert sorted(os.listdir(tmp_path)) == sorted(['epoch_30.pth', osp.basename(final)])
    assert osp.getsize(final) < osp.getsize(src)

    with serving() as server:
        server.files['/zoo/' + osp.basename(final)] = data
        loaded = load_checkpoint_file(server.url('/zoo/' + osp.basename(final)))
        assert sorted(loaded) == ['meta', 'state_dict']
        assert sorted(loaded['meta']) == ['dataset_meta', 'epoch']
        for key, value in original['state_dict'].items():
            torch.testing.assert_close(loaded['state_dict'][key], value)
        # the same bytes under another hash prefix are refused
        server.files['/zoo/fasrnet_pt17-00000000.pth'] = data
        with pytest.raises(CheckpointHashError):
            load_checkpoint_file(server.url('/zoo/fasrnet_pt17-00000000.pth'))


def test_publish_refuses_a_non_training_checkpoint(tmp_path):
    src = str(tmp_path / 'bare.pth')
    torch.save({'w': torch.zeros(1)}, src)
    with pytest.raises(ValueError, match='state_dict'):
        publish_model.publish(src, str(tmp_path / 'x.pth'))
