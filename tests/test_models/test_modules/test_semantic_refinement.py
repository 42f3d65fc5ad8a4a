# Copyright (c) OpenMMLab. All rights reserved.
"""SRM (PRF/PTM/PCN) and RSB chains; DCPose configuration checked against its official fixture."""

import numpy as np
import pytest
import torch

from fasrnet_mmpose.models.modules import (
    ChainOfRSBBlocks,
    RSBBlock,
    SemanticRefinementModule,
    fasr_init_weights,
    margin_weights,
)
from fasrnet_mmpose.structures import default_margins

DCPOSE_FIXTURE = ('fixtures', 'dcpose_head', 'dcpose_head_official.npz')
DCPOSE_DILATIONS = [3, 6, 9, 12, 15]


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_rsb_branch_widths_and_parameter_counts():
    srm = SemanticRefinementModule()
    assert [b.branch_channels for b in srm.diff_temporal_fuse.layers] == [27, 13]
    assert [b.branch_channels for b in srm.support_temporal_fuse.layers] == [20]
    assert [b.branch_channels for b in srm.offset_mask_combine_conv.layers] == [20, 26]
    assert _count(srm.diff_temporal_fuse) == 99_670
    assert _count(srm.support_temporal_fuse) == 43_249
    assert _count(srm.offset_mask_combine_conv) == 125_124
    assert _count(srm.offset_convs) == 176_256
    assert _count(srm.mask_convs) == 88_128
    assert _count(srm.dcns) == 2_618
    assert _count(srm) == 535_045
    assert srm.offset_convs[0].bias is None and srm.mask_convs[0].bias is None
    assert srm.dcns[0].deform_groups == 17
    # DCPose: same chains, five PCN branches
    assert _count(SemanticRefinementModule(dilations=DCPOSE_DILATIONS)) == 1_603_053


def test_rsb_shortcuts():
    assert RSBBlock(64, 64).downsample is None
    with pytest.raises(ValueError):
        RSBBlock(64, 32)
    chain = ChainOfRSBBlocks(51, 17, 2)
    assert chain.layers[0].downsample is not None and chain.layers[1].downsample is None
    assert chain(torch.randn(2, 51, 8, 8)).shape == (2, 17, 8, 8)


def test_margin_weights():
    wp, wn = margin_weights(torch.tensor([[1, 1], [1, 2], [3, 1]]), 3, torch.device('cpu'))
    assert torch.allclose(wp.flatten(), torch.tensor([0.5, 2 / 3, 1 / 4]))
    assert torch.allclose(wn.flatten(), torch.tensor([0.5, 1 / 3, 3 / 4]))
    wp, wn = margin_weights(default_margins(2), 2, torch.device('cpu'))
    assert wp.flatten().tolist() == wn.flatten().tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        margin_weights(torch.ones(3, 2), 2, torch.device('cpu'))


def test_per_joint_interleaving():
    srm = SemanticRefinementModule()
    cur, prev, nxt = torch.rand(3, 2, 17, 4, 4).unbind(0)
    diff_in, support_in = srm.build_inputs(cur, prev, nxt, torch.tensor([[1, 2], [1, 1]]))
    assert diff_in.shape == (2, 68, 4, 4) and support_in.shape == (2, 51, 4, 4)
    j, wp, wn = 7, 2 / 3, 1 / 3
    expected = [
        cur[0, j] - prev[0, j],
        (cur[0, j] - prev[0, j]) * wp,
        cur[0, j] - nxt[0, j],
        (cur[0, j] - nxt[0, j]) * wn,
    ]
    for c, e in enumerate(expected):
        assert torch.allclose(diff_in[0, 4 * j + c], e)
    for c, e in enumerate([cur[0, j], prev[0, j] * wp, nxt[0, j] * wn]):
        assert torch.allclose(support_in[0, 3 * j + c], e)


def test_mask_sigmoid_flag():
    torch.manual_seed(0)
    srm = SemanticRefinementModule().eval()
    with torch.no_grad():
        for p in srm.parameters():
            p.normal_(0, 0.2)
    inputs = torch.rand(3, 1, 17, 8, 8).unbind(0)
    with torch.no_grad():
        raw = srm(*inputs, default_margins(1))
        srm.mask_sigmoid = True
        assert not torch.allclose(srm(*inputs, default_margins(1)), raw)


def test_official_init_gives_near_zero_output():
    srm = SemanticRefinementModule()
    fasr_init_weights(srm)
    assert torch.equal(srm.dcns[0].weight[:, :, 1, 1], torch.eye(17))
    assert srm.dcns[0].weight.sum() == 17 and not srm.dcns[0].bias.any()
    bn = srm.diff_temporal_fuse.layers[0].conv_bn_relu1.bn
    assert torch.equal(bn.weight, torch.ones_like(bn.weight)) and not bn.bias.any()
    with torch.no_grad():
        out = srm.eval()(*torch.rand(3, 2, 17, 8, 8).unbind(0), default_margins(2))
    assert out.abs().max() < 1e-3
    with pytest.raises(ValueError):
        fasr_init_weights(srm, dcn_offset_init='kaiming')


@pytest.mark.parametrize('dcn_impl', ['mmcv', 'torchvision', 'pytorch'])
def test_dcpose_configuration_matches_official_dcpose_fixture(dcn_impl):
    """The SRM with dilations [3, 6, 9, 12, 15] on rough heatmaps is DCPose's head, whatever the
    deformable-conv implementation."""
    from conftest import shared_path

    with np.load(shared_path(*DCPOSE_FIXTURE), allow_pickle=False) as z:
        fx = {k: z[k] for k in z.files}
    from fasrnet_mmpose.utils import official_checkpoint as conv

    state = {
        conv.official_srm_key_to_plugin(k[len('state_dict/') :]): torch.from_numpy(v)
        for k, v in fx.items()
        if k.startswith('state_dict/')
    }
    srm = SemanticRefinementModule(dilations=DCPOSE_DILATIONS, dcn_impl=dcn_impl)
    srm.load_state_dict(state, strict=True)
    srm.eval()

    captured = {}
    hooks = [
        srm.diff_temporal_fuse.register_forward_hook(
            lambda m, a, o: captured.update(prf_input=a[0], prf_output=o)
        ),
        srm.support_temporal_fuse.register_forward_hook(
            lambda m, a, o: captured.update(ptm_input=a[0], ptm_output=o)
        ),
        srm.offset_mask_combine_conv.register_forward_hook(
            lambda m, a, o: captured.update(combined_features=o)
        ),
    ]
    for i in (0, 4):
        hooks.append(
            srm.offset_convs[i].register_forward_hook(
                lambda m, a, o, i=i: captured.update({f'offsets_{i}': o})
            )
        )
        hooks.append(
            srm.mask_convs[i].register_forward_hook(
                lambda m, a, o, i=i: captured.update({f'masks_{i}': o})
            )
        )
    warped = []
    for dcn in srm.dcns:
        hooks.append(dcn.register_forward_hook(lambda m, a, o: warped.append(o)))

    rough = torch.from_numpy(fx['inputs/rough_heatmaps']).view(3, 3, 17, 48, 36)
    cur, prev, nxt = rough.unbind(0)  # [current; previous; next] stacking
    with torch.no_grad():
        out = srm(cur, prev, nxt, torch.from_numpy(fx['inputs/margin']))
    for h in hooks:
        h.remove()

    tol = dict(atol=1e-5, rtol=1e-4)

    def check(actual, key):
        expected = torch.from_numpy(fx[key])
        assert actual.shape == expected.shape, key
        assert torch.allclose(actual, expected, **tol), (
            f'{key}: {(actual - expected).abs().max().item()}'
        )

    check(out, 'outputs/heatmaps')
    check(captured['prf_input'][2:3], 'intermediates/prf_input_sample2')
    check(captured['ptm_input'][2:3], 'intermediates/ptm_input_sample2')
    check(captured['prf_output'], 'intermediates/prf_output')
    check(captured['ptm_output'], 'intermediates/ptm_output')
    check(captured['combined_features'], 'intermediates/combined_features')
    check(torch.stack(warped), 'intermediates/warped_heatmaps')
    check(captured['offsets_0'][:, 90:108], 'intermediates/offsets_d3_group5')
    check(captured['masks_0'][:, 45:54], 'intermediates/masks_d3_group5')
    check(captured['offsets_4'][:, 90:108], 'intermediates/offsets_d15_group5')
    check(captured['masks_4'][:, 45:54], 'intermediates/masks_d15_group5')
