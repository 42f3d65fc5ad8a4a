# Copyright (c) OpenMMLab. All rights reserved.
"""PCD-3, TSA and the FRM wiring (architecture.md §3)."""

import pytest
import torch
from torch import nn

from fasrnet_mmpose.models.modules import (
    FeatureRefinementModule,
    PCDAlignment3,
    TSAFusion,
    channels_last,
    interleave,
)
from fasrnet_mmpose.models.modules.layout import is_channels_last, stack_frames, stack_last


def _count(modules) -> int:
    if isinstance(modules, nn.Module):
        modules = [modules]
    return sum(p.numel() for m in modules for p in m.parameters())


def test_interleave():
    a = torch.arange(3).view(1, 3, 1, 1).float()
    b = 10 + a
    assert interleave(a, b).flatten().tolist() == [0, 10, 1, 11, 2, 12]
    # channels-last inputs: same values, channels-last result (the head's CPU layout)
    a, b, c = (torch.randn(2, 5, 4, 3) for _ in range(3))
    ref = torch.stack((a, b, c), dim=2).flatten(1, 2)
    out = interleave(*map(channels_last, (a, b, c)))
    assert torch.equal(out, ref) and is_channels_last(out) and torch.equal(interleave(a, b, c), ref)


def test_layout_helpers():
    x = torch.randn(2, 3, 4, 5)
    assert is_channels_last(channels_last(x)) and not is_channels_last(x)
    assert torch.equal(channels_last(x), x)
    meta = torch.empty(2, 3, 4, 5, device='meta')  # any non-CPU device keeps its layout
    assert channels_last(meta).is_contiguous()
    parts = [torch.randn(3, 4) for _ in range(4)]
    assert torch.equal(stack_last(parts), torch.stack(parts, dim=-1))
    frames = [torch.randn(2, 3, 4, 5) for _ in range(3)]
    ref = torch.stack(frames, dim=1)
    assert torch.equal(stack_frames(frames), ref) and stack_frames(frames).is_contiguous()
    cl = stack_frames([channels_last(f) for f in frames])
    assert torch.equal(cl, ref) and all(f.stride(1) == 1 for f in cl.unbind(1))  # channels inner


def test_frm_runs_channels_last_on_cpu_and_returns_nchw():
    frm = FeatureRefinementModule(num_feat=8, num_joints=3, offset_padding='same').eval()
    feats = [torch.randn(2, 8, 12, 8) for _ in range(3)]
    seen = []
    frm.pcda_p.offset_conv1['l3'].register_forward_hook(lambda m, a, o: seen.append(a[0]))
    with torch.no_grad():
        out = frm(*feats)
        ref = frm(*[channels_last(f) for f in feats])
    assert is_channels_last(seen[0]) and out.is_contiguous() and torch.equal(out, ref)


def test_pcd3_parameter_breakdown():
    pcd = PCDAlignment3(48)
    assert _count(pcd) == 545_196
    assert _count(pcd.offset_conv1) == 124_560
    assert _count(pcd.offset_conv2) == 103_824
    assert _count(pcd.offset_conv3) == 41_568
    assert _count(pcd.dcn_pack) == 97_425
    assert _count(pcd.dcn_pack['l3']) == 32_475
    assert _count(pcd.dcn_pack['l3'].conv_offset_mask) == 11_691
    assert _count(pcd.feat_conv) == 83_040
    assert _count([pcd.cas_offset_conv1, pcd.cas_offset_conv2]) == 62_304
    assert _count(pcd.cas_dcnpack) == 32_475
    assert list(pcd.offset_conv3) == ['l2', 'l1'] and list(pcd.feat_conv) == ['l2', 'l1']
    assert [pcd.dcn_pack[k].dilation[0] for k in ('l3', 'l2', 'l1')] == [5, 3, 1]
    assert pcd.cas_dcnpack.dilation[0] == 1


def test_tsa_parameters_and_shapes():
    tsa = TSAFusion(48, 3, 1)
    assert _count(tsa) == 173_424
    out = tsa(torch.randn(2, 3, 48, 16, 12))
    assert out.shape == (2, 48, 16, 12)


class _Recorder(nn.Module):
    def __init__(self, calls, name):
        super().__init__()
        self.calls, self.name = calls, name

    def forward(self, sampled, cond):
        self.calls.append((self.name, sampled, cond))
        return sampled


@pytest.mark.parametrize('direction', ['official', 'neighbour_to_current'])
def test_alignment_direction(direction):
    frm = FeatureRefinementModule(align_direction=direction, offset_padding='same')
    calls = []
    frm.pcda_p, frm.pcda_n = _Recorder(calls, 'p'), _Recorder(calls, 'n')
    cur, prev, nxt = (torch.full((1, 48, 8, 8), v) for v in (0.0, 1.0, 2.0))
    frm.align(cur, prev, nxt)
    got = [(name, s[0, 0, 0, 0].item(), c[0, 0, 0, 0].item()) for name, s, c in calls]
    if direction == 'official':  # current sampled, neighbour conditions
        assert got == [('p', 0.0, 1.0), ('n', 0.0, 2.0)]
    else:
        assert got == [('p', 1.0, 0.0), ('n', 2.0, 0.0)]


def test_frm_output_and_flags():
    frm = FeatureRefinementModule(offset_padding='same')
    assert _count(frm.heatmap_layer) == 833
    feats = [torch.relu(torch.randn(2, 48, 16, 12)) for _ in range(3)]
    assert frm(*feats).shape == (2, 17, 16, 12)
    with pytest.raises(ValueError):
        FeatureRefinementModule(align_direction='paper')
