# Copyright (c) OpenMMLab. All rights reserved.
"""tools/convert_official_checkpoint.py: key listing round trip, strict loading, refusals."""

import json
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from conftest import load_tool

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48
from fasrnet_mmpose.utils import official_checkpoint as oc

LISTING = ('fixtures', 'official_head', 'fasrnet_official_state_dict_shapes.json')

conv = load_tool('convert_official_checkpoint')


@pytest.fixture(scope='module')
def listing():
    from conftest import shared_path

    with open(shared_path(*LISTING)) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def target():
    return oc.target_shapes()


def _fake_official_state_dict(listing):
    """Every entry of the listing, each a constant tensor equal to its index (zero-stride: tiny)."""
    state = OrderedDict()
    for i, (key, shape, dtype) in enumerate(listing['entries']):
        if dtype == 'int64':
            state[key] = torch.tensor(i, dtype=torch.int64).expand(shape)
        else:
            state[key] = torch.tensor(float(i)).expand(shape)
    return state


def _save_official(path, state, prefix='module.'):
    ckpt = dict(
        begin_epoch=29,
        state_dict=OrderedDict((prefix + k, v) for k, v in state.items()),
        optimizer=dict(state={}, param_groups=[dict(lr=1e-8)]),
        tensorboard_global_steps=1234,
    )
    torch.save(ckpt, path)


def test_key_listing_round_trip(listing, target):
    official = [e[0] for e in listing['entries']]
    assert len(official) == 2307
    plugin = [oc.official_key_to_plugin(k) for k in official]
    # the converted listing is exactly the official-mode model's state dict, in order, same shapes
    assert plugin == list(target)
    assert all(tuple(e[1]) == target[p] for e, p in zip(listing['entries'], plugin))
    assert [oc.official_key_to_plugin(k, inverse=True) for k in plugin] == official
    # the two final_layers go to different places
    assert (
        oc.official_key_to_plugin('rough_pose_estimation_net.final_layer.weight')
        == 'head.final_layer.weight'
    )
    assert oc.official_key_to_plugin('final_layer.weight') == 'head.frm.heatmap_layer.weight'
    assert sum(p.startswith('backbone.') for p in plugin) == 1752
    assert sum(p.startswith('head.') for p in plugin) == 553 + 2


def test_convert_and_load_strictly(listing, tmp_path, capsys):
    src, dst = str(tmp_path / 'epoch_28_state.pth'), str(tmp_path / 'fasrnet_plugin.pth')
    state = _fake_official_state_dict(listing)
    _save_official(src, state)
    assert conv.main([src, dst]) == 0
    assert 'converted' in capsys.readouterr().out

    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS

    model = oc.build_official_model()
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert 'meta' in ckpt
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    index = {k: i for i, k in enumerate(state)}
    sd = model.state_dict()
    assert (
        sd['head.final_layer.weight'] == index['rough_pose_estimation_net.final_layer.weight']
    ).all()
    assert (sd['head.frm.heatmap_layer.weight'] == index['final_layer.weight']).all()
    assert (sd['backbone.conv1.weight'] == index['rough_pose_estimation_net.conv1.weight']).all()
    assert (
        sd['head.srm.dcns.0.bias']
        == index['hm_improve.modulated_deform_conv_list.0.deform_conv.bias']
    ).all()
    assert (
        sd['backbone.bn1.num_batches_tracked']
        == index['rough_pose_estimation_net.bn1.num_batches_tracked']
    )
    assert isinstance(MODELS.get('FaSRHead'), type)


def test_bare_state_dict_and_config_target(listing, tmp_path):
    src, dst = str(tmp_path / 'bare.pth'), str(tmp_path / 'out.pth')
    torch.save(_fake_official_state_dict(listing), src)
    cfg = tmp_path / 'fasrnet_official.py'
    cfg.write_text(
        f'_c = {hrnet_w48()["extra"]!r}\n'
        'model = dict(type="VideoTopdownPoseEstimator", freeze_backbone=True,\n'
        '             backbone=dict(type="HRNet", in_channels=3, extra=_c),\n'
        '             head=dict(type="FaSRHead"))\n'
    )
    assert conv.main([src, dst, '--config', str(cfg)]) == 0


@pytest.mark.parametrize(
    'corruption, message',
    [
        ('drop_head', 'missing keys'),
        ('drop_backbone', 'missing keys'),
        ('extra_unknown', 'unexpected keys'),
        ('extra_mappable', 'unexpected keys'),
        ('wrong_shape', 'shape mismatches'),
    ],
)
def test_refuses_bad_checkpoints(listing, tmp_path, capsys, corruption, message):
    state = _fake_official_state_dict(listing)
    if corruption == 'drop_head':
        del state['hm_improve.masks_list.0.0.weight']
    elif corruption == 'drop_backbone':
        del state['rough_pose_estimation_net.final_layer.bias']
    elif corruption == 'extra_unknown':
        state['optimizer_thing.weight'] = torch.zeros(1)
    elif corruption == 'extra_mappable':  # e.g. a DCPose-style second PCN branch
        state['hm_improve.offsets_list.1.0.weight'] = torch.zeros(306, 64, 3, 3)
    elif corruption == 'wrong_shape':
        state['final_layer.weight'] = torch.zeros(15, 48, 1, 1)
    src, dst = str(tmp_path / 'bad.pth'), str(tmp_path / 'out.pth')
    _save_official(src, state, prefix='')
    assert conv.main([src, dst]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert not osp.exists(dst)
    if corruption == 'wrong_shape':
        assert 'head.frm.heatmap_layer.weight' in err and '(15, 48, 1, 1)' in err


def test_refuses_non_checkpoints(tmp_path, capsys):
    bad = tmp_path / 'not_a_checkpoint.pth'
    torch.save(dict(epoch=3, meta=dict(a=1)), str(bad))
    assert conv.main([str(bad), str(tmp_path / 'o.pth')]) == 1
    assert 'state_dict' in capsys.readouterr().err
    assert conv.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'o.pth')]) == 1
    assert 'no such checkpoint' in capsys.readouterr().err
    with pytest.raises(oc.CheckpointError, match='duplicate'):
        oc.convert_state_dict(
            {'module.final_layer.bias': torch.zeros(17), 'final_layer.bias': torch.zeros(17)}
        )


def test_srm_key_mapping_is_shared_with_dcpose():
    for i in range(5):
        assert (
            oc.official_srm_key_to_plugin(f'offsets_list.{i}.0.weight')
            == f'offset_convs.{i}.weight'
        )
        assert (
            oc.official_srm_key_to_plugin(f'modulated_deform_conv_list.{i}.deform_conv.bias')
            == f'dcns.{i}.bias'
        )
    key = 'diff_temporal_fuse.layers.1.conv_bn_relu2_4_4.bn.running_var'
    assert oc.official_srm_key_to_plugin(key) == key
    with pytest.raises(oc.CheckpointError):
        oc.official_srm_key_to_plugin('offsets_list.0.1.weight')


def test_plugin_checkpoint_is_already_converted(listing, tmp_path, capsys):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'plugin.pth')
    _save_official(src, _fake_official_state_dict(listing))
    assert conv.main([src, dst]) == 0
    capsys.readouterr()
    again = str(tmp_path / 'again.pth')
    assert conv.main([dst, again]) == 1
    assert 'already converted' in capsys.readouterr().err
    assert not osp.exists(again)
