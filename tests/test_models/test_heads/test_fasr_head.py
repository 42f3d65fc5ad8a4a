# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRHead: equivalence with the official code (fixture), flags, loss, predict, counts."""

from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from fasrnet_mmpose.models.heads import FaSRHead
from fasrnet_mmpose.structures import batch_margins, default_margins

FIXTURE = ('fixtures', 'official_head', 'fasrnet_head_official.npz')
TOL = dict(atol=1e-4, rtol=1e-4)
#: every concrete deformable-conv implementation reproduces the official fixture
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')


def _num_params(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@pytest.fixture(scope='module')
def fixture() -> Dict[str, np.ndarray]:
    from conftest import shared_path

    with np.load(shared_path(*FIXTURE), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _official_state_dict(fixture) -> Dict[str, torch.Tensor]:
    return {
        k[len('state_dict/') :]: torch.from_numpy(v)
        for k, v in fixture.items()
        if k.startswith('state_dict/')
    }


def _head_from_fixture(fixture, **kwargs) -> FaSRHead:
    """Build a head and load the fixture's official weights through the converter."""
    from fasrnet_mmpose.utils import official_checkpoint as conv

    converted = conv.convert_state_dict(_official_state_dict(fixture))
    head = FaSRHead(**kwargs)
    result = head.load_state_dict(
        {k[len('head.') :]: v for k, v in converted.items()}, strict=False
    )
    # the fixture feeds the rough heatmaps directly: only the rough 1x1 conv is not in it
    assert sorted(result.missing_keys) == ['final_layer.bias', 'final_layer.weight']
    assert result.unexpected_keys == []
    return head.eval()


def _split_inputs(fixture, rows: Optional[List[int]] = None):
    """Fixture stacks [cur; prev; next] along the batch -> [B, 3, C, h, w] (+ margins)."""
    feats = torch.from_numpy(fixture['inputs/features'])
    rough = torch.from_numpy(fixture['inputs/rough_heatmaps'])
    margin = torch.from_numpy(fixture['inputs/margin'])
    b = margin.size(0)
    feats = feats.view(3, b, *feats.shape[1:]).transpose(0, 1)
    rough = rough.view(3, b, *rough.shape[1:]).transpose(0, 1)
    if rows is not None:
        feats, rough, margin = feats[rows], rough[rows], margin[rows]
    return feats.contiguous(), rough.contiguous(), margin


@pytest.fixture(scope='module', params=DCN_IMPLS)
def dcn_impl(request) -> str:
    return request.param


@pytest.fixture(scope='module')
def official_run(fixture, dcn_impl):
    """One B=3 official-mode run with hooks on the intermediates."""
    head = _head_from_fixture(fixture, dcn_impl=dcn_impl)
    assert {m.dcn_impl for m in head.modules() if hasattr(m, 'dcn_impl')} == {dcn_impl}
    captured = {}

    def hook(name, what='out'):

        def _hook(module, args, output):
            captured[name] = (args[0] if what == 'in' else output).detach().clone()

        return _hook

    handles = [
        head.frm.pcda_p.register_forward_hook(hook('aligned_prev')),
        head.frm.pcda_n.register_forward_hook(hook('aligned_next')),
        head.frm.tsa_fusion.register_forward_hook(hook('tsa_out')),
        head.frm.pcda_p.dcn_pack['l3'].conv_offset_mask.register_forward_hook(
            hook('pcda_p_l3_cond_out')
        ),
        head.srm.diff_temporal_fuse.register_forward_hook(hook('srm_prf_out')),
        head.srm.support_temporal_fuse.register_forward_hook(hook('srm_ptm_out')),
        head.srm.diff_temporal_fuse.register_forward_hook(hook('srm_diff_in', 'in')),
        head.srm.support_temporal_fuse.register_forward_hook(hook('srm_support_in', 'in')),
    ]
    feats, rough, margin = _split_inputs(fixture)
    with torch.no_grad():
        heatmaps_frm, heatmaps_srm = head.refine(feats, rough, margin)
    for h in handles:
        h.remove()
    captured.update(heatmaps_frm=heatmaps_frm, heatmaps_srm=heatmaps_srm)
    return head, captured


def _assert_close(actual: torch.Tensor, expected: np.ndarray, name: str) -> None:
    expected = torch.from_numpy(expected)
    assert actual.shape == expected.shape, name
    diff = (actual - expected).abs().max().item()
    assert torch.allclose(actual, expected, **TOL), f'{name}: max abs diff {diff}'


# ----------------------------------------------------------------------------- equivalence
def test_official_outputs_match_fixture(fixture, official_run):
    _, out = official_run
    _assert_close(out['heatmaps_frm'], fixture['outputs/heatmaps_frm'], 'H^F')
    _assert_close(out['heatmaps_srm'], fixture['outputs/heatmaps_srm'], 'H^S')


def test_official_intermediates_match_fixture(fixture, official_run):
    _, out = official_run
    for name in (
        'aligned_prev',
        'aligned_next',
        'tsa_out',
        'srm_prf_out',
        'srm_ptm_out',
        'pcda_p_l3_cond_out',
    ):
        _assert_close(out[name], fixture[f'intermediates/{name}'], name)
    # the l3 conditioning map is oversized ((H+8)x(W+8)) before the prefix read
    assert out['pcda_p_l3_cond_out'].shape[-2:] == (56, 44)
    _assert_close(out['srm_diff_in'][1:2], fixture['intermediates/srm_diff_in_sample1'], 'diff_in')
    _assert_close(
        out['srm_support_in'][1:2], fixture['intermediates/srm_support_in_sample1'], 'support_in'
    )


def test_official_mode_is_batch_dependent(fixture, official_run):
    head, out = official_run
    rows_frm, rows_srm = [], []
    with torch.no_grad():
        for i in range(3):
            hf, hs = head.refine(*_split_inputs(fixture, [i]))
            rows_frm.append(hf)
            rows_srm.append(hs)
    alone_frm, alone_srm = torch.cat(rows_frm), torch.cat(rows_srm)
    # each sample run alone reproduces the official batch-1 runs
    _assert_close(alone_frm, fixture['outputs_b1_each/heatmaps_frm'], 'b1_each H^F')
    _assert_close(alone_srm, fixture['outputs_b1_each/heatmaps_srm'], 'b1_each H^S')
    _assert_close(alone_frm[:1], fixture['outputs_b1/heatmaps_frm'], 'b1 H^F')
    # sample 0 does not depend on the batch, samples 1 and 2 do (they read sample 0's offsets)
    assert torch.allclose(alone_frm[0], out['heatmaps_frm'][0], **TOL)
    assert torch.allclose(alone_srm[0], out['heatmaps_srm'][0], **TOL)
    for i in (1, 2):
        assert (alone_frm[i] - out['heatmaps_frm'][i]).abs().max() > 0.05
        assert (alone_srm[i] - out['heatmaps_srm'][i]).abs().max() > 0.01


def test_fixed_offset_padding_is_batch_independent(fixture, dcn_impl):
    head = _head_from_fixture(fixture, dcn_offset_padding='same', dcn_impl=dcn_impl)
    feats, rough, margin = _split_inputs(fixture)
    feats, rough = feats[..., :24, :20].contiguous(), rough[..., :24, :20].contiguous()
    with torch.no_grad():
        batch_frm, batch_srm = head.refine(feats, rough, margin)
        for i in range(3):
            hf, hs = head.refine(feats[i : i + 1], rough[i : i + 1], margin[i : i + 1])
            assert torch.allclose(hf, batch_frm[i : i + 1], atol=1e-5, rtol=1e-5)
            assert torch.allclose(hs, batch_srm[i : i + 1], atol=1e-5, rtol=1e-5)
        # reversing the batch order only permutes the outputs
        rev = [2, 1, 0]
        hf, hs = head.refine(feats[rev], rough[rev], margin[rev])
        assert torch.allclose(hf, batch_frm[rev], atol=1e-5, rtol=1e-5)
        assert torch.allclose(hs, batch_srm[rev], atol=1e-5, rtol=1e-5)


def test_fixture_sensitivity_to_flags(fixture, official_run, dcn_impl):
    """The fixture distinguishes the fixed alignment direction and the SRM mask sigmoid."""
    _, out = official_run
    feats, rough, margin = _split_inputs(fixture, [0])
    for kwargs, changed in (
        (dict(align_direction='neighbour_to_current'), 'frm'),
        (dict(srm_mask_sigmoid=True), 'srm'),
    ):
        head = _head_from_fixture(fixture, dcn_impl=dcn_impl, **kwargs)
        with torch.no_grad():
            hf, hs = head.refine(feats, rough, margin)
        assert torch.allclose(hf, out['heatmaps_frm'][:1], **TOL) == (changed != 'frm')
        assert not torch.allclose(hs, out['heatmaps_srm'][:1], **TOL)


# ---------------------------------------------------------------------------- interface
def _samples(batch: int, size=(16, 12), margins=None, flip_indices=None) -> List[PoseDataSample]:
    h, w = size
    samples = []
    gen = torch.Generator().manual_seed(0)
    for i in range(batch):
        meta = dict(
            input_size=(w * 4, h * 4),
            input_center=np.array([w * 2.0, h * 2.0]),
            input_scale=np.array([w * 4.0, h * 4.0]),
            flip_indices=flip_indices or list(range(17)),
        )
        if margins is not None:
            meta['margin'] = np.asarray(margins[i])
        d = PoseDataSample(metainfo=meta)
        d.gt_fields = PixelData(heatmaps=torch.rand(17, h, w, generator=gen))
        weights = torch.ones(1, 17)
        weights[0, 3:5] = 0  # PoseTrack ears
        d.gt_instance_labels = InstanceData(keypoint_weights=weights)
        d.gt_instances = InstanceData(bboxes=np.zeros((1, 4)), bbox_scores=np.ones(1))
        samples.append(d)
    return samples


def _random_feats(batch: int, size=(16, 12), seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.relu(torch.randn(batch, 3, 48, *size, generator=gen)),)


def _randomize(head: FaSRHead, seed: int = 1) -> FaSRHead:
    """O(1) random weights (the official init gives ~0 outputs)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in head.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.3 if p.dim() > 1 else 0.05))
    return head


def test_forward_shapes_and_default_margins():
    head = _randomize(FaSRHead(dcn_offset_padding='same')).eval()
    feats = _random_feats(2)
    with torch.no_grad():
        hf, hs = head.forward(feats)
        assert hf.shape == hs.shape == (2, 17, 16, 12)
        # no margins == [1, 1]
        hf1, hs1 = head.forward(feats, margins=torch.ones(2, 2))
        assert torch.equal(hs, hs1) and torch.equal(hf, hf1)
        # the temporal window's default margins == [1, 1]; margins from data samples (the
        # estimator's batch tensor): asymmetric margins change H^S only
        hf2, hs2 = head.forward(feats, default_margins(2))
        assert torch.equal(hs, hs2)
        margins = batch_margins(_samples(2, margins=[[1, 2], [2, 1]]), 2)
        hf3, hs3 = head.forward(feats, margins)
        assert torch.equal(hf, hf3) and not torch.allclose(hs, hs3)
        # a bare tensor works as a single level; the frame axis is required
        assert torch.equal(head.forward(feats[0])[1], hs)
    with pytest.raises(ValueError, match='T=3'):
        head.forward((torch.zeros(2, 48, 16, 12),))


def test_rough_layer_is_hrnet_final_layer_and_frozen():
    head = FaSRHead()
    assert tuple(head.final_layer.weight.shape) == (17, 48, 1, 1)
    assert not head.final_layer.weight.requires_grad
    assert head.frm.heatmap_layer is not head.final_layer
    feats = (torch.rand(1, 3, 48, 8, 8, requires_grad=True),)
    assert not head.rough_heatmaps(feats[0]).requires_grad
    unfrozen = FaSRHead(freeze_rough_layer=False)
    assert unfrozen.final_layer.weight.requires_grad
    assert unfrozen.rough_heatmaps(feats[0]).requires_grad
    # mmpose's COCO HRNet checkpoint key head.final_layer.* lands in the rough layer
    state = {
        'final_layer.weight': torch.full((17, 48, 1, 1), 0.5),
        'final_layer.bias': torch.ones(17),
    }
    result = head.load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    assert torch.equal(head.final_layer.weight, state['final_layer.weight'])


def test_parameter_counts():
    head = FaSRHead()
    assert _num_params(head.frm.pcda_p) == 545_196
    assert _num_params(head.frm.pcda_n) == 545_196
    assert _num_params(head.frm.tsa_fusion) == 173_424
    assert _num_params(head.frm.heatmap_layer) == 833
    assert _num_params(head.srm) == 535_045
    assert _num_params(head, trainable_only=True) == 1_799_694
    assert _num_params(head) == 1_799_694 + 833  # + frozen rough layer


def test_state_dict_keys_round_trip_official_head_listing(fixture):
    from fasrnet_mmpose.utils import official_checkpoint as conv

    official_keys = [k[len('state_dict/') :] for k in fixture if k.startswith('state_dict/')]
    plugin_keys = ['head.' + k for k in FaSRHead().state_dict() if not k.startswith('final_layer.')]
    assert [conv.official_key_to_plugin(k) for k in official_keys] == plugin_keys
    assert [conv.official_key_to_plugin(k, inverse=True) for k in plugin_keys] == official_keys


def test_init_weights_official_and_fixed():
    head = FaSRHead()
    head.init_weights()
    pack = head.frm.pcda_p.dcn_pack['l3']
    assert 0 < pack.conv_offset_mask.weight.std() < 0.002
    eye = torch.zeros_like(pack.weight)
    eye[torch.arange(48), torch.arange(48), 1, 1] = 1
    assert torch.equal(pack.weight, eye) and not pack.bias.any()
    srm_dcn = head.srm.dcns[0]
    assert torch.equal(srm_dcn.weight[:, :, 1, 1], torch.eye(17))
    head.eval()  # fresh BN running statistics (0, 1)
    with torch.no_grad():
        hf, hs = head.forward(_random_feats(2, (8, 8)))
    assert hf.abs().max() < 1e-3 and hs.abs().max() < 1e-3  # H^F ~ 0, H^S ~ 0 at init

    fixed = FaSRHead(dcn_offset_init='zero')
    fixed.init_weights()
    assert not fixed.frm.pcda_n.cas_dcnpack.conv_offset_mask.weight.any()
    assert fixed.srm.offset_convs[0].weight.std() > 0  # SRM offset conv keeps N(0, 0.001)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(align_direction='edvr'),
        dict(dcn_offset_padding='crop'),
        dict(dcn_offset_init='xavier'),
        dict(dcn_impl='cuda'),
    ],
)
def test_invalid_flags(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FaSRHead(**kwargs)


def test_loss_keys_and_gradients():
    head = _randomize(FaSRHead(dcn_offset_padding='same', loss=dict(type='FaSRLoss', alpha=0.4)))
    head.train()
    samples = _samples(2, margins=[[1, 1], [1, 2]])
    losses = head.loss(_random_feats(2), samples, train_cfg={}, margins=batch_margins(samples, 2))
    assert set(losses) == {'loss_kpt', 'mse_frm', 'mse_srm', 'acc_pose'}
    assert torch.allclose(losses['loss_kpt'], 0.4 * losses['mse_frm'] + 0.6 * losses['mse_srm'])
    total, log_vars = BaseModel.parse_losses(None, losses)
    assert torch.equal(total, losses['loss_kpt'])  # summed exactly once
    assert {'mse_frm', 'mse_srm', 'acc_pose'} <= set(log_vars)
    total.backward()
    assert head.final_layer.weight.grad is None
    for module in (
        head.frm.pcda_p,
        head.frm.pcda_n,
        head.frm.tsa_fusion,
        head.frm.heatmap_layer,
        head.srm,
    ):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def test_predict_decodes_srm_heatmaps_with_flip_test():
    codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
    flip_indices = [0, 1, 2, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    head = _randomize(FaSRHead(dcn_offset_padding='same', decoder=codec)).eval()
    feats = _random_feats(2)
    samples = _samples(2, margins=[[1, 1], [2, 1]], flip_indices=flip_indices)
    margins = batch_margins(samples, 2)
    with torch.no_grad():
        preds, fields = head.predict(
            feats, samples, test_cfg=dict(output_heatmaps=True), margins=margins
        )
        hs = head.forward(feats, margins)[1]
    assert len(preds) == 2 and preds[0].keypoints.shape == (1, 17, 2)
    assert torch.equal(fields[0].heatmaps, hs[0])
    # decoded from H^S with the codec
    keypoints, scores = head.decoder.decode(hs[1].numpy())
    np.testing.assert_allclose(preds[1].keypoints, keypoints, atol=1e-5)
    np.testing.assert_allclose(preds[1].keypoint_scores, scores, atol=1e-6)
    feats_flip = (feats[0].flip(-1),)
    with torch.no_grad():
        flipped = head.predict(
            [feats, feats_flip],
            samples,
            test_cfg=dict(flip_test=True, output_heatmaps=True, shift_heatmap=False),
            margins=margins,
        )[1]
        hs_flip = head.forward(feats_flip, margins)[1]
    expected = (hs + hs_flip.flip(-1)[:, flip_indices]) * 0.5
    assert torch.allclose(flipped[1].heatmaps, expected[1], atol=1e-6)


def test_registered():
    head = MODELS.build(dict(type='FaSRHead', srm_dilations=[3, 6, 9, 12, 15]))
    assert isinstance(head, FaSRHead) and len(head.srm.dcns) == 5


def test_pretrained_init_cfg_loads_the_rough_layer(tmp_path):
    """A head-level ``Pretrained`` init_cfg (e.g. COCO HRNet) overrides architecture.md §6."""
    path = str(tmp_path / 'coco_hrnet.pth')
    weight, bias = torch.randn(17, 48, 1, 1), torch.randn(17)
    torch.save(
        {
            'state_dict': {
                'backbone.conv1.weight': torch.zeros(64, 3, 3, 3),
                'head.final_layer.weight': weight,
                'head.final_layer.bias': bias,
            }
        },
        path,
    )
    head = FaSRHead(init_cfg=dict(type='Pretrained', checkpoint=path, prefix='head.'))
    head.init_weights()
    assert torch.equal(head.final_layer.weight, weight) and torch.equal(head.final_layer.bias, bias)
    assert head.frm.heatmap_layer.weight.std() < 0.002  # FRM 1x1 keeps its N(0, 0.001) init
    assert not head.final_layer.weight.requires_grad
