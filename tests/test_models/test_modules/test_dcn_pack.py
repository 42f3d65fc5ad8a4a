# Copyright (c) OpenMMLab. All rights reserved.
"""DCNPack: official oversized-offset emulation vs the fixed (same-size) variant."""

import pytest
import torch
import torch.nn.functional as F

from fasrnet_mmpose.models.modules import DCNPack, prefix_view


def _pack(dilation: int, mode: str, seed: int = 0) -> DCNPack:
    torch.manual_seed(seed)
    pack = DCNPack(8, 8, 3, dilation=dilation, offset_padding=mode)
    with torch.no_grad():
        pack.conv_offset_mask.weight.normal_(0, 0.3)
        pack.conv_offset_mask.bias.normal_(0, 0.5)
    return pack


def test_prefix_view_reads_the_flat_batch_prefix():
    buf = torch.arange(2 * 3 * 4 * 4).view(2, 3, 4, 4)
    out = prefix_view(buf, (2, 3, 3, 3))
    assert torch.equal(out.flatten(), torch.arange(54))
    # sample 1 starts inside sample 0's buffer (element 27 < 48)
    assert out[1, 0, 0, 0] == 27
    with pytest.raises(ValueError):
        prefix_view(buf, (2, 3, 5, 5))


def test_official_conditioning_maps_are_oversized_at_full_size():
    """Full 96x72 heatmaps: l3 (d=5) 104x80, l2 (d=3) 100x76, d=1 correct (architecture.md §3.3)."""
    cond = torch.zeros(1, 48, 96, 72)
    for dilation, size in ((5, (104, 80)), (3, (100, 76)), (1, (96, 72))):
        pack = DCNPack(48, 48, 3, dilation=dilation, offset_padding='official_emulated')
        assert pack.conv_offset_mask(cond).shape[-2:] == size
        fixed = DCNPack(48, 48, 3, dilation=dilation, offset_padding='same')
        assert fixed.conv_offset_mask(cond).shape[-2:] == (96, 72)
        assert tuple(pack.conv_offset_mask.weight.shape) == (27, 48, 3, 3)  # same checkpoint shape


def test_chunk_order_and_mask_sigmoid():
    pack = _pack(1, 'same')
    cond = torch.randn(2, 8, 6, 5)
    offset, mask = pack.offsets_and_masks(torch.zeros(2, 8, 6, 5), cond)
    raw = pack.conv_offset_mask(cond)
    assert torch.equal(offset, raw[:, :18])  # cat(o1, o2)
    assert torch.equal(mask, torch.sigmoid(raw[:, 18:]))


def test_official_emulation_uses_the_prefix_of_the_oversized_buffer():
    pack = _pack(5, 'official_emulated')
    x, cond = torch.randn(2, 8, 12, 10), torch.randn(2, 8, 12, 10)
    offset, mask = pack.offsets_and_masks(x, cond)
    o1, o2, m = torch.chunk(pack.conv_offset_mask(cond), 3, dim=1)
    assert o1.shape[-2:] == (20, 18)
    assert torch.equal(offset, torch.cat((o1, o2), 1).flatten()[: 2 * 18 * 120].view(2, 18, 12, 10))
    assert torch.equal(mask, torch.sigmoid(m).flatten()[: 2 * 9 * 120].view(2, 9, 12, 10))


@pytest.mark.parametrize('dilation', [5, 3])
def test_official_emulation_leaks_across_the_batch_and_fixed_does_not(dilation):
    x, cond = torch.randn(2, 8, 12, 10), torch.randn(2, 8, 12, 10)
    cond2 = cond.clone()
    cond2[0] += 1.0  # change only sample 0's conditioning input
    for mode, leaks in (('official_emulated', True), ('same', False)):
        pack = _pack(dilation, mode)
        with torch.no_grad():
            y, y2 = pack(x, cond), pack(x, cond2)
        assert not torch.allclose(y[0], y2[0])
        assert (not torch.allclose(y[1], y2[1])) == leaks, mode
        # sample 0 never depends on the rest of the batch
        with torch.no_grad():
            assert torch.allclose(pack(x[:1], cond[:1]), y[:1], atol=1e-5)


def test_zero_offsets_unit_masks_equal_a_dilated_conv():
    for dilation in (1, 3, 5):
        pack = DCNPack(8, 6, 3, dilation=dilation, cond_channels=4, offset_padding='same')
        with torch.no_grad():
            pack.weight.normal_()
            pack.bias.normal_()
            pack.conv_offset_mask.weight.zero_()
            pack.conv_offset_mask.bias.zero_()
            pack.conv_offset_mask.bias[18:] = 40.0  # sigmoid -> 1
        x = torch.randn(2, 8, 11, 9)
        y = pack(x, torch.randn(2, 4, 11, 9))
        ref = F.conv2d(x, pack.weight, pack.bias, padding=dilation, dilation=dilation)
        assert y.shape == ref.shape
        assert torch.allclose(y, ref, atol=1e-5)


def test_backward_on_cpu_both_modes():
    for mode in ('official_emulated', 'same'):
        pack = _pack(3, mode)
        x = torch.randn(2, 8, 8, 8, requires_grad=True)
        cond = torch.randn(2, 8, 8, 8, requires_grad=True)
        pack(x, cond).square().mean().backward()
        for t in (x.grad, cond.grad, pack.weight.grad, pack.conv_offset_mask.weight.grad):
            assert t is not None and torch.isfinite(t).all() and t.abs().sum() > 0


def test_invalid_mode():
    with pytest.raises(ValueError):
        DCNPack(8, 8, offset_padding='crop')
