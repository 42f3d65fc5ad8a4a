# Copyright (c) OpenMMLab. All rights reserved.
"""Modulated deformable convolution (DCNv2) with a choice of implementation (``dcn_impl``).

All implementations compute the same function with the same parameters (``weight``
``[Cout, Cin/groups, kh, kw]``, ``bias`` ``[Cout]``) and the DCNv2 layouts: offsets
``[B, 2*G*kh*kw, Ho, Wo]`` group-major with ``(dy_k, dx_k)`` interleaved per tap ``k = i*kw + j``,
masks ``[B, G*kh*kw, Ho, Wo]`` (applied as given). Tap ``(i, j)`` at output ``(ho, wo)`` samples
``(ho*s - p + i*d + dy, wo*s - p + j*d + dx)`` bilinearly; a corner outside the map contributes 0.

* ``'mmcv'``: ``mmcv.ops.modulated_deform_conv2d`` (mmcv's CPU or CUDA ops).
* ``'torchvision'``: ``torchvision.ops.deform_conv2d(..., mask=...)`` (CPU and CUDA; needs no mmcv
  CUDA ops).
* ``'pytorch'``: plain PyTorch, fastest on CPU (docs/dcn_impl.md). One deformable group: the
  corners gathered with ``embedding_bag`` at mmcv's positions (mmcv's values and gradients), then a
  1x1 conv. Several groups: the taps sampled with ``grid_sample``, times the mask, then one matmul
  with ``weight.view(Cout, Cin*kh*kw)``.
* ``'auto'``: ``'mmcv'`` on CUDA when mmcv was built with CUDA ops, ``'torchvision'`` on CUDA
  otherwise; on CPU ``'pytorch'`` for inference and ``'mmcv'`` when gradients are needed. Resolved
  per call from the input's device and grad mode. Why training stays on mmcv: at initialisation
  the offsets are ~0, so every tap samples (almost) on an integer coordinate, where the
  offset gradient is a one-sided slope whose side depends on rounding and differs between
  implementations; Adam turns these tiny gradients into full-size steps, so the training
  trajectory follows the op's convention (docs/dcn_impl.md: measured on the learning check).

Low precision: the sampling positions (``base + offset``) need fp32 (in bf16 a position near 96 px
is rounded to 0.5 px), so under ``torch.autocast`` or with half inputs every implementation runs in
fp32 (the result is fp32 under autocast, else the input's dtype).
"""

import functools
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2d
from torch import Tensor

from .layout import stack_last

#: Values of the ``dcn_impl`` option.
DCN_IMPLS = ('auto', 'mmcv', 'torchvision', 'pytorch')
#: The one default of ``dcn_impl``.
DEFAULT_DCN_IMPL = 'auto'

_Pair = Tuple[int, int]


def check_dcn_impl(dcn_impl: str) -> str:
    """Return ``dcn_impl`` if it is one of :data:`DCN_IMPLS`, else raise a ``ValueError``."""
    if dcn_impl not in DCN_IMPLS:
        raise ValueError(f'dcn_impl must be one of {DCN_IMPLS}, got {dcn_impl!r}')
    return dcn_impl


@functools.lru_cache(maxsize=None)
def mmcv_has_cuda_ops() -> bool:
    """Whether the installed mmcv was compiled with CUDA ops."""
    try:
        from mmcv.ops import get_compiling_cuda_version
    except ImportError:  # mmcv without compiled ops at all
        return False
    return get_compiling_cuda_version() not in ('', 'not available')


def resolve_dcn_impl(dcn_impl: str, device: torch.device, needs_grad: bool = False) -> str:
    """The concrete implementation ``'auto'`` stands for on ``device`` (others unchanged).

    Args:
        dcn_impl (str): One of :data:`DCN_IMPLS`.
        device (torch.device): Device of the input.
        needs_grad (bool): Whether the call is differentiated (training). Defaults to False.

    Returns:
        str: ``'mmcv'``, ``'torchvision'`` or ``'pytorch'``.
    """
    if dcn_impl != 'auto':
        return dcn_impl
    if device.type == 'cuda':
        return 'mmcv' if mmcv_has_cuda_ops() else 'torchvision'
    return 'mmcv' if needs_grad else 'pytorch'


def _dcn_mmcv(x, offset, mask, weight, bias, stride, padding, dilation, groups, deform_groups):
    if x.is_cuda and not mmcv_has_cuda_ops():
        raise RuntimeError(
            "dcn_impl='mmcv' on CUDA needs mmcv built with CUDA ops, and this mmcv has none; "
            "use dcn_impl='auto' or 'torchvision' (docs/dcn_impl.md)"
        )
    from mmcv.ops import modulated_deform_conv2d

    return modulated_deform_conv2d(
        x.contiguous(),
        offset.contiguous(),
        mask.contiguous(),
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        deform_groups,
    )


def _dcn_torchvision(x, offset, mask, weight, bias, stride, padding, dilation, groups, _):
    from torchvision.ops import deform_conv2d

    # groups and deformable groups follow from the weight and offset shapes
    return deform_conv2d(
        x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask
    )


def conv_output_size(size, kernel, stride, padding, dilation) -> Tuple[int, int]:
    """``(Ho, Wo)`` of a convolution over a map of ``size`` ``(H, W)`` (each argument a pair)."""
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
    )


@functools.lru_cache(maxsize=32)
def _tap_grid(k_h, k_w, h_out, w_out, stride, padding, dilation, h_pad, w_pad, device, dtype):
    """``grid_sample`` coordinates of the undeformed taps, ``[taps, Ho, Wo]`` for x and y.

    Pixel ``p`` of a map of size ``S`` is ``(2p + 1) / S - 1`` (``align_corners=False``); with
    ``S`` a power of two these values and ``offset * 2 / S`` are exact, so the only rounding is
    their sum (as in mmcv's ``base + offset``) and integer positions stay exact.
    """
    y, x = _tap_positions(k_h, k_w, h_out, w_out, stride, padding, dilation, device).double()
    grid_x = ((2 * x + 1) / w_pad - 1).view(h_out, w_out, -1).permute(2, 0, 1)
    grid_y = ((2 * y + 1) / h_pad - 1).view(h_out, w_out, -1).permute(2, 0, 1)
    return grid_x.to(dtype).contiguous(), grid_y.to(dtype).contiguous()


@functools.lru_cache(maxsize=32)
def _tap_positions(k_h, k_w, h_out, w_out, stride, padding, dilation, device) -> Tensor:
    """Undeformed tap positions ``[2, 1, Ho*Wo, taps]`` (y, x): mmcv's ``h_in + i * dilation``."""
    taps = torch.arange(k_h * k_w, device=device)
    y = (torch.arange(h_out, device=device) * stride[0] - padding[0]).view(-1, 1, 1)
    x = (torch.arange(w_out, device=device) * stride[1] - padding[1]).view(1, -1, 1)
    y = (y + (taps // k_w) * dilation[0]).expand(-1, w_out, -1)  # [Ho, Wo, taps]
    x = (x + (taps % k_w) * dilation[1]).expand(h_out, -1, -1)
    return torch.stack((y, x)).reshape(2, 1, h_out * w_out, k_h * k_w)


def _use_mkldnn_directly(tensors: Tuple[Tensor, ...]) -> bool:
    """Whether to call mkldnn's conv without ``F.conv2d``'s dispatch: on one thread PyTorch sends a
    batch-1 1x1 conv to its native kernel, 1.5x slower here (inference on CPU, fp32 only)."""
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    return (
        not needs_grad
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and all(t.device.type == 'cpu' and t.dtype == torch.float32 for t in tensors)
    )


def _dcn_gather(x, offset, mask, weight, bias, stride, padding, dilation, groups):
    """One deformable group: each (pixel, tap) column is a bag of its 4 bilinear corners, read as
    rows of the zero-bordered channels-last map (``embedding_bag`` with the corner weights times
    the mask), then a 1x1 conv. Positions, corners, weights and the out-of-map rule are mmcv's
    (``floor``; a point outside ``(-1, H) x (-1, W)`` contributes 0), so values and gradients
    follow mmcv's op, the one-sided slope at integer positions included."""
    b, c_in, h, w = x.shape
    c_out, c_in_group, k_h, k_w = weight.shape
    h_out, w_out = conv_output_size((h, w), (k_h, k_w), stride, padding, dilation)
    taps = k_h * k_w
    base = _tap_positions(k_h, k_w, h_out, w_out, stride, padding, dilation, x.device)
    off = offset.unflatten(1, (taps, 2)).flatten(3).permute(2, 0, 3, 1).contiguous()  # any layout
    # off: [2, B, Ho*Wo, taps] (dy, dx)
    # mmcv's h_in + i * dilation + dy; clamped so that far (or infinite) points stay outside the
    # map with finite weights and in-range corners (NaN offsets still propagate)
    pos = (off + base.to(x.dtype)).clamp_(-2, max(h, w) + 1)
    corner = pos.floor()
    frac = pos - corner  # [2, B, Ho*Wo, taps]
    valid = (pos[0] > -1) & (pos[0] < h) & (pos[1] > -1) & (pos[1] < w)
    corner = corner.to(torch.int32)  # clamped again for NaN: points outside get weight 0
    y0, x0 = corner[0].clamp_(-1, h - 1), corner[1].clamp_(-1, w - 1)
    # mask 0 outside: the point's 4 weights are 0 (NaN offsets propagate instead of vanishing)
    m = torch.where(valid, mask.flatten(2).transpose(1, 2), 0)
    top, left = 1 - frac[0], (1 - frac[1]) * m  # [B, Ho*Wo, taps]
    right = frac[1] * m
    corner_w = stack_last((top * left, top * right, frac[0] * left, frac[0] * right))
    # rows of the map zero-bordered by 1 pixel, channels last: [B*(H+2)*(W+2), Cin]
    table = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1)).reshape(-1, c_in)
    row = torch.arange(b, device=x.device, dtype=torch.int32).view(b, 1, 1) * (h + 2) + y0 + 1
    row = row * (w + 2) + x0 + 1  # [B, Ho*Wo, taps] top-left corner
    steps = torch.tensor([0, 1, w + 2, w + 3], device=x.device, dtype=torch.int32)  # 4 corners
    cols = F.embedding_bag(
        (row.unsqueeze(-1) + steps).view(-1, 4), table, mode='sum',
        per_sample_weights=corner_w.view(-1, 4),
    )  # fmt: skip
    cols = cols.view(b, h_out, w_out, taps, groups, c_in_group)  # columns (tap, channel)
    w_mat = weight.reshape(groups, c_out // groups, c_in_group, taps).permute(0, 1, 3, 2)
    if groups == 1:  # a 1x1 conv on the channels-last columns: mkldnn beats mm on these shapes
        cols = cols.view(b, h_out, w_out, taps * c_in).permute(0, 3, 1, 2)
        w_1x1 = w_mat.reshape(c_out, taps * c_in, 1, 1)
        tensors = (cols, w_1x1) if bias is None else (cols, w_1x1, bias)
        if _use_mkldnn_directly(tensors):
            w_1x1 = w_1x1.contiguous(memory_format=torch.channels_last)
            return torch.mkldnn_convolution(cols, w_1x1, bias, (0, 0), (1, 1), (1, 1), 1)
        return F.conv2d(cols, w_1x1, bias)
    out = torch.einsum('bhwtgc,gotc->bgohw', cols, w_mat).reshape(b, c_out, h_out, w_out)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def _dcn_pytorch(x, offset, mask, weight, bias, stride, padding, dilation, groups, deform_groups):
    """One group: :func:`_dcn_gather`; several: ``grid_sample`` per group (one bag per channel
    would make the gather slower than it) and a matmul. On CPU one sample at a time: the
    temporaries of a whole batch (48 MB for 4 FRM samples) come from fresh pages on every call,
    and their page faults cost more than the work (docs/dcn_impl.md, "Speed")."""
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    args = (weight, bias, stride, padding, dilation, groups, deform_groups)
    tracing = torch.jit.is_tracing()  # a trace must not bake in the batch or map size
    if x.device.type == 'cpu' and x.size(0) > 1 and not tracing:
        per_sample = zip(x.split(1), offset.split(1), mask.split(1))
        return torch.cat([_dcn_pytorch(*maps, *args) for maps in per_sample])
    if deform_groups == 1 and not tracing:
        return _dcn_gather(x, offset, mask, weight, bias, stride, padding, dilation, groups)
    b, c_in, h, w = x.shape
    c_out, c_in_group, k_h, k_w = weight.shape
    h_out, w_out = conv_output_size((h, w), (k_h, k_w), stride, padding, dilation)
    taps, g, cg, area = k_h * k_w, deform_groups, c_in // deform_groups, h_out * w_out
    # The map is zero-padded to power-of-two sizes (zeros there = the out-of-map rule) so that
    # grid_sample's normalised coordinates add no rounding (see _tap_grid).
    # int(): under torch.jit tracing (mmpose's get_flops) the sizes are traced tensors
    h_pad, w_pad = 1 << (int(h) - 1).bit_length(), 1 << (int(w) - 1).bit_length()
    base_x, base_y = _tap_grid(
        k_h, k_w, h_out, w_out, stride, padding, dilation, h_pad, w_pad, x.device, x.dtype,
    )  # fmt: skip
    # one transposing copy of channels-last offsets and masks: strided reads are slower
    off = offset.contiguous().view(b, g, taps, 2, h_out, w_out)  # (dy, dx) per tap
    grid = stack_last(
        (
            torch.add(base_x, off[:, :, :, 1], alpha=2.0 / w_pad),
            torch.add(base_y, off[:, :, :, 0], alpha=2.0 / h_pad),
        )
    ).view(b * g, taps * h_out, w_out, 2)
    grid = grid.clamp_(-3, 3)  # far (or infinite) points stay outside the map, finite (as mmcv)
    padded = x.new_zeros(b, c_in, h_pad, w_pad)
    padded[:, :, :h, :w] = x
    cols = F.grid_sample(
        padded.view(b * g, cg, h_pad, w_pad), grid, mode='bilinear', padding_mode='zeros',
        align_corners=False,
    ).view(b, g, cg, taps, area)  # fmt: skip
    # [B, G, Cin/G, taps, Ho*Wo], columns (channel, tap) as weight.view(Cout, Cin*taps)
    cols = cols * mask.contiguous().view(b, g, 1, taps, area)
    out = torch.matmul(
        weight.reshape(groups, c_out // groups, c_in_group * taps),
        cols.view(b, groups, c_in_group * taps, area),
    )  # [B, groups, Cout/groups, Ho*Wo]
    if bias is not None:
        out = out + bias.view(groups, -1, 1)
    return out.view(b, c_out, h_out, w_out)


_IMPLS = dict(mmcv=_dcn_mmcv, torchvision=_dcn_torchvision, pytorch=_dcn_pytorch)


def modulated_deform_conv2d(
    x: Tensor,
    offset: Tensor,
    mask: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    stride: _Pair = (1, 1),
    padding: _Pair = (0, 0),
    dilation: _Pair = (1, 1),
    groups: int = 1,
    deform_groups: int = 1,
    dcn_impl: str = DEFAULT_DCN_IMPL,
) -> Tensor:
    """Modulated deformable conv with the implementation ``dcn_impl`` (module docstring).

    Args:
        x (Tensor): Sampled tensor ``[B, Cin, H, W]``.
        offset (Tensor): ``[B, 2*G*kh*kw, Ho, Wo]``.
        mask (Tensor): ``[B, G*kh*kw, Ho, Wo]``.
        weight (Tensor): ``[Cout, Cin/groups, kh, kw]``.
        bias (Tensor, optional): ``[Cout]``.
        stride, padding, dilation (tuple[int, int]): Conv geometry.
        groups (int): Conv groups. Defaults to 1.
        deform_groups (int): Deformable groups ``G``. Defaults to 1.
        dcn_impl (str): One of :data:`DCN_IMPLS`. Defaults to ``'auto'``.

    Returns:
        Tensor: ``[B, Cout, Ho, Wo]``.
    """
    tensors = (x, offset, mask, weight, bias)
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    impl = _IMPLS[resolve_dcn_impl(dcn_impl, x.device, needs_grad)]
    args = (stride, padding, dilation, groups, deform_groups)
    device_type = x.device.type
    autocast = torch.is_autocast_enabled(device_type)
    if not autocast and all(t is None or t.dtype == torch.float32 for t in tensors):
        return impl(*tensors, *args)
    # low precision: sample and convolve in fp32
    with torch.autocast(device_type, enabled=False):
        out = impl(*(t if t is None else t.float() for t in tensors), *args)
    return out if autocast else out.to(x.dtype)


class ModulatedDeformConv(ModulatedDeformConv2d):
    """mmcv's ``ModulatedDeformConv2d`` (same parameters, names and init) whose forward runs the
    implementation chosen by ``dcn_impl``.

    Args:
        *args: ``ModulatedDeformConv2d`` arguments (in/out channels, kernel size, stride, padding,
            dilation, groups, deform_groups, bias).
        dcn_impl (str): One of :data:`DCN_IMPLS` (validated here). Defaults to ``'auto'``.
        **kwargs: ``ModulatedDeformConv2d`` keyword arguments.
    """

    def __init__(self, *args, dcn_impl: str = DEFAULT_DCN_IMPL, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dcn_impl = check_dcn_impl(dcn_impl)

    def forward(self, x: Tensor, offset: Tensor, mask: Tensor) -> Tensor:  # type: ignore[override]
        """``[B, Cin, H, W]``, offset ``[B, 2*G*9, Ho, Wo]``, mask ``[B, G*9, Ho, Wo]`` ->
        ``[B, Cout, Ho, Wo]``."""
        return modulated_deform_conv2d(
            x,
            offset,
            mask,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.deform_groups,
            self.dcn_impl,
        )
