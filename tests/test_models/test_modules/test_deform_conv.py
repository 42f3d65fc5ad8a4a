# Copyright (c) OpenMMLab. All rights reserved.
"""The three deformable-conv implementations against mmcv: values, gradients, autocast, choice."""

import pytest
import torch

from fasrnet_mmpose.models.modules import (
    DCN_IMPLS,
    ModulatedDeformConv,
    SemanticRefinementModule,
    channels_last,
    modulated_deform_conv2d,
    resolve_dcn_impl,
)
from fasrnet_mmpose.models.modules.deform_conv import mmcv_has_cuda_ops

OTHERS = ('torchvision', 'pytorch')
# (batch, channels, deformable groups, H, W, dilation = padding)
CASES = [(2, 8, 1, 13, 11, 1), (2, 8, 1, 12, 10, 5), (2, 17, 17, 13, 11, 3), (1, 6, 2, 9, 8, 2)]


def _inputs(b, c, g, h, w, seed=0, integer_offsets=False):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=gen)
    if integer_offsets:
        offset = torch.randint(-3, 4, (b, 2 * g * 9, h, w), generator=gen).float()
    else:
        offset = 2 * torch.randn(b, 2 * g * 9, h, w, generator=gen)
        offset[:, :4] += 12  # some taps far outside the map
    mask = 3 * torch.rand(b, g * 9, h, w, generator=gen) - 1  # unbounded, raw
    weight = 0.3 * torch.randn(c, c, 3, 3, generator=gen)
    bias = torch.randn(c, generator=gen)
    return x, offset, mask, weight, bias


def _run(impl, tensors, d, g, grad=False):
    tensors = [t.clone().requires_grad_(grad) for t in tensors]
    out = modulated_deform_conv2d(*tensors, (1, 1), (d, d), (d, d), 1, g, impl)
    if not grad:
        return out, None
    gen = torch.Generator().manual_seed(1)
    (out * torch.randn(out.shape, generator=gen)).sum().backward()
    return out, [t.grad for t in tensors]


@pytest.mark.parametrize('case', CASES)
def test_forward_and_gradients_match_mmcv(case):
    b, c, g, h, w, d = case
    tensors = _inputs(b, c, g, h, w)
    ref, ref_grads = _run('mmcv', tensors, d, g, grad=True)
    assert ref.abs().max() > 1  # outputs O(1..10)
    for impl in OTHERS:
        out, grads = _run(impl, tensors, d, g, grad=True)
        assert torch.allclose(out, ref, atol=1e-4, rtol=1e-5), impl
        for name, a, e in zip(('x', 'offset', 'mask', 'weight', 'bias'), grads, ref_grads):
            assert torch.allclose(a, e, atol=1e-4, rtol=1e-5), (impl, name, (a - e).abs().max())


@pytest.mark.parametrize('case', [CASES[0], CASES[-1]])
def test_integer_sampling_points_only_the_offset_gradient_differs(case):
    """At a point exactly on an integer coordinate, bilinear sampling has a kink: the grid_sample-
    based implementations (torchvision; plain PyTorch with several deformable groups) take another
    one-sided slope for the offset gradient than mmcv, and agree with each other. Plain PyTorch with
    one deformable group (the FRM's) samples with mmcv's ``floor`` corners: all its gradients agree
    with mmcv's, the offset gradient included."""
    b, c, g, h, w, d = case
    tensors = _inputs(b, c, g, h, w, integer_offsets=True)
    ref, ref_grads = _run('mmcv', tensors, d, g, grad=True)
    results = {impl: _run(impl, tensors, d, g, grad=True) for impl in OTHERS}
    for impl, (out, grads) in results.items():
        assert torch.allclose(out, ref, atol=1e-5)
        for i in (0, 2, 3, 4):  # x, mask, weight, bias
            assert torch.allclose(grads[i], ref_grads[i], atol=1e-4, rtol=1e-5), (impl, i)
    assert (results['torchvision'][1][1] - ref_grads[1]).abs().max() > 0.1  # the kink
    pytorch_offset_grad = results['pytorch'][1][1]
    if g == 1:  # mmcv's convention
        assert torch.allclose(pytorch_offset_grad, ref_grads[1], atol=1e-4, rtol=1e-5)
    else:  # grid_sample's
        assert torch.allclose(pytorch_offset_grad, results['torchvision'][1][1], atol=1e-4)


def test_plain_pytorch_conv_groups_and_memory_layouts():
    """Conv groups, and channels-last or NCHW offsets/masks/inputs give the same values."""
    x, offset, mask, weight, bias = _inputs(2, 8, 1, 12, 10)
    weight = weight[:, :4].contiguous()  # groups=2: [Cout, Cin/2, 3, 3]
    geometry = ((1, 1), (3, 3), (3, 3), 2, 1)
    ref = modulated_deform_conv2d(x, offset, mask, weight, bias, *geometry, 'mmcv')
    out = modulated_deform_conv2d(x, offset, mask, weight, bias, *geometry, 'pytorch')
    assert torch.allclose(out, ref, atol=1e-5)
    x, offset, mask, weight, bias = _inputs(2, 17, 17, 13, 11)
    for g, size in ((1, 18), (17, 17 * 18)):
        maps = (x, offset[:, :size], mask[:, : size // 2])
        args = (*maps, weight, bias, (1, 1), (3, 3), (3, 3), 1, g)
        nchw = modulated_deform_conv2d(*args, 'pytorch')
        cl = [channels_last(t) if t.dim() == 4 else t for t in args[:5]]
        assert torch.allclose(modulated_deform_conv2d(*cl, *args[5:], 'pytorch'), nchw, atol=1e-6)


@pytest.mark.parametrize('g', [1, 2])
def test_plain_pytorch_geometry_edges_and_tracing(g):
    """Stride (2, 1) with padding 0 and batch 3, list geometry, infinite offsets (outside: 0, as
    mmcv), and a trace that stays correct at another map size."""
    x, offset, mask, weight, bias = _inputs(3, 6, g, 11, 9)
    geometry = ([2, 1], [0, 0], [1, 1], 1, g)  # lists, as mmcv accepts
    ref = modulated_deform_conv2d(
        x, offset[..., :5, :7], mask[..., :5, :7], weight, bias, *geometry
    )
    out = modulated_deform_conv2d(
        x, offset[..., :5, :7], mask[..., :5, :7], weight, bias, *geometry, dcn_impl='pytorch'
    )
    assert ref.shape == (3, 6, 5, 7) and torch.allclose(out, ref, atol=1e-5)
    far = offset.clone()
    far[:, :4] = float('inf')
    geometry = ((1, 1), (1, 1), (1, 1), 1, g)
    ref = modulated_deform_conv2d(x, far, mask, weight, bias, *geometry, 'mmcv')
    out = modulated_deform_conv2d(x, far, mask, weight, bias, *geometry, 'pytorch')
    assert torch.isfinite(out).all() and torch.allclose(out, ref, atol=1e-5)

    def dcn(x, offset, mask):
        return modulated_deform_conv2d(x, offset, mask, weight, bias, *geometry, 'pytorch')

    with torch.no_grad():
        traced = torch.jit.trace(dcn, (x[:1], offset[:1], mask[:1]), check_trace=False)
        small = [t[:2, :, :7, :6] for t in (x, offset, mask)]
        assert torch.allclose(traced(*small), dcn(*small), atol=1e-5)


def test_zero_offsets_are_exact_with_the_plain_pytorch_implementation():
    x, _, _, weight, bias = _inputs(2, 8, 1, 11, 9)
    offset, mask = torch.zeros(2, 18, 11, 9), torch.ones(2, 9, 11, 9)
    ref = torch.nn.functional.conv2d(x, weight, bias, padding=3, dilation=3)
    geometry = ((1, 1), (3, 3), (3, 3), 1, 1)
    out = modulated_deform_conv2d(x, offset, mask, weight, bias, *geometry, 'pytorch')
    assert torch.allclose(out, ref, atol=1e-5, rtol=1e-6)


def test_choice_resolution_and_validation():
    assert DCN_IMPLS == ('auto', 'mmcv', 'torchvision', 'pytorch')
    assert resolve_dcn_impl('auto', torch.device('cpu')) == 'pytorch'
    # training on CPU keeps mmcv's gradient convention (docs/dcn_impl.md)
    assert resolve_dcn_impl('auto', torch.device('cpu'), needs_grad=True) == 'mmcv'
    cuda_choice = 'mmcv' if mmcv_has_cuda_ops() else 'torchvision'
    assert resolve_dcn_impl('auto', torch.device('cuda')) == cuda_choice
    for impl in DCN_IMPLS[1:]:
        assert resolve_dcn_impl(impl, torch.device('cuda')) == impl
    with pytest.raises(ValueError, match=r"dcn_impl must be one of \('auto', 'mmcv'"):
        ModulatedDeformConv(4, 4, 3, padding=1, dcn_impl='cuda')
    # the parameters are mmcv's: names and shapes do not depend on the implementation
    shapes = {
        impl: {k: v.shape for k, v in SemanticRefinementModule(dcn_impl=impl).state_dict().items()}
        for impl in DCN_IMPLS
    }
    assert all(s == shapes['mmcv'] for s in shapes.values())


@pytest.mark.parametrize('impl', DCN_IMPLS)
def test_low_precision_runs_the_sampling_in_fp32(impl):
    """Under bf16 autocast (and with bf16 inputs) every implementation samples in fp32."""
    x, offset, mask, weight, bias = _inputs(1, 8, 1, 12, 10)
    ref = modulated_deform_conv2d(x, offset, mask, weight, bias, (1, 1), (5, 5), (5, 5), 1, 1, impl)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = modulated_deform_conv2d(
            x.bfloat16(), offset, mask, weight, bias, (1, 1), (5, 5), (5, 5), 1, 1, impl
        )
    assert out.dtype == torch.float32  # an fp32 op under autocast
    # only the bf16 rounding of x remains (|x| ~ 1: 2^-9 relative)
    assert torch.allclose(out, ref, atol=0.05, rtol=0.01)
    half = modulated_deform_conv2d(
        x.bfloat16(),
        offset.bfloat16(),
        mask,
        weight.bfloat16(),
        bias,
        (1, 1),
        (5, 5),
        (5, 5),
        1,
        1,
        impl,
    )
    assert half.dtype == torch.bfloat16 and torch.isfinite(half).all()


def test_mmcv_on_cuda_without_its_cuda_ops_is_one_clear_error(monkeypatch):
    from fasrnet_mmpose.models.modules import deform_conv

    class _CudaTensor:  # stands in for a CUDA tensor on this CPU-only machine
        is_cuda = True

    monkeypatch.setattr(deform_conv, 'mmcv_has_cuda_ops', lambda: False)
    with pytest.raises(RuntimeError, match="use dcn_impl='auto' or 'torchvision'"):
        deform_conv._dcn_mmcv(_CudaTensor(), None, None, None, None, (1, 1), (1, 1), (1, 1), 1, 1)
    assert deform_conv.resolve_dcn_impl('auto', torch.device('cuda')) == 'torchvision'
