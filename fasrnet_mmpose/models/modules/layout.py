# Copyright (c) OpenMMLab. All rights reserved.
"""Memory layout of the head: channels-last maps on CPU, and the per-channel interleaved concat.

The head's convolutions have few channels (13-96); on CPU, mkldnn runs them up to 2x faster on
channels-last maps than on NCHW ones, which it reorders on every call (docs/dcn_impl.md, "Speed").
Only the memory layout changes: every tensor keeps its logical ``[B, C, H, W]`` shape. On CUDA the
layout is left as it is (not measured there).
"""

from typing import Sequence

import torch
from torch import Tensor


def is_channels_last(x: Tensor) -> bool:
    """Whether ``x`` ``[B, C, H, W]`` is stored channels-last (and not also NCHW-contiguous)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def channels_last(x: Tensor) -> Tensor:
    """``x`` ``[B, C, H, W]`` in channels-last memory on CPU (no copy when it already is)."""
    return x.contiguous(memory_format=torch.channels_last) if x.device.type == 'cpu' else x


def stack_last(tensors: Sequence[Tensor]) -> Tensor:
    """``torch.stack(tensors, dim=-1)`` as one strided copy per tensor (equal shapes): stacking
    into a new innermost dim is up to 4x slower on one thread (tools/benchmark_model.py)."""
    out = tensors[0].new_empty(*tensors[0].shape, len(tensors))
    for n, t in enumerate(tensors):
        out[..., n] = t
    return out


def interleave(*tensors: Tensor) -> Tensor:
    """Per-channel interleaved concat ``a0, b0, ..., a1, b1, ...`` (architecture.md §3.2 ``ilv``).

    Args:
        *tensors (Tensor): ``N`` tensors ``[B, C, H, W]``.

    Returns:
        Tensor: ``[B, N*C, H, W]``, channel ``N*c + n`` = channel ``c`` of ``tensors[n]``; stored
        channels-last when the first tensor is.
    """
    if not is_channels_last(tensors[0]):
        return torch.stack(tensors, dim=2).flatten(1, 2)
    nhwc = stack_last([t.permute(0, 2, 3, 1) for t in tensors])  # [B, H, W, C, N]
    return nhwc.flatten(-2).permute(0, 3, 1, 2)


def stack_frames(frames: Sequence[Tensor]) -> Tensor:
    """``torch.stack(frames, dim=1)``: ``T`` maps ``[B, C, H, W]`` -> ``[B, T, C, H, W]``, stored
    ``[B, T, H, W, C]`` (each frame channels-last) when the first frame is channels-last."""
    if not is_channels_last(frames[0]):
        return torch.stack(frames, dim=1)
    return torch.stack([f.permute(0, 2, 3, 1) for f in frames], dim=1).permute(0, 1, 4, 2, 3)
