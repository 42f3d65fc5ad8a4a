# Copyright (c) OpenMMLab. All rights reserved.
"""Feature-conditioned modulated deformable convolution ("DCN-pack", architecture.md §3.3).

Parameters are those of mmcv's ``ModulatedDeformConv2d``; the deformable conv itself runs the
implementation chosen by ``dcn_impl`` (:mod:`.deform_conv`). The offset and mask layouts are those
of DCNv2: offsets ``[B, 2*G*k*k, Ho, Wo]`` group-major with ``(dy_k, dx_k)`` interleaved per tap,
masks ``[B, G*k*k, Ho, Wo]``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .deform_conv import DEFAULT_DCN_IMPL, ModulatedDeformConv, conv_output_size

#: Values of the ``dcn_offset_padding`` flag (docs/official_vs_fixed.md).
OFFSET_PADDING_MODES = ('official_emulated', 'same')
#: The one default of ``dcn_offset_padding`` (the official value; validated by :class:`DCNPack`,
#: the only component that interprets it).
DEFAULT_OFFSET_PADDING = 'official_emulated'


def prefix_view(buffer: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """Read the first ``prod(shape)`` elements of a (contiguous) buffer as ``shape``.

    This is what the official CUDA DCNv2 kernel does with an oversized offset / mask buffer: it
    indexes the raw memory of the *whole batch* as if it were a contiguous tensor of the expected
    shape (architecture.md §3.3). Sample ``b`` therefore reads a scrambled part of
    its own map and, for ``b >= 1``, the tail of earlier samples' maps. Differentiable.

    Args:
        buffer (Tensor): The oversized buffer, e.g. ``[B, 18, Hc, Wc]`` with ``Hc*Wc > Ho*Wo``.
        shape (tuple[int]): The shape the kernel expects, e.g. ``(B, 18, Ho, Wo)``.

    Returns:
        Tensor: A tensor of ``shape``.
    """
    numel = 1
    for s in shape:
        numel *= s
    if buffer.numel() < numel:
        raise ValueError(
            f'buffer of shape {tuple(buffer.shape)} is too small to be read as {tuple(shape)}'
        )
    return buffer.contiguous().flatten()[:numel].view(shape)


class DCNPack(ModulatedDeformConv):
    """Modulated DCN whose offsets and masks are predicted from a conditioning tensor.

    ``conv_offset_mask`` (3×3 conv, bias) maps the conditioning tensor to ``3*G*k*k`` channels,
    split into three chunks ``(o1, o2, m)``: ``offset = cat(o1, o2)``, ``mask = sigmoid(m)``.
    The deformable conv samples ``x``.

    Args:
        in_channels (int): Channels of the sampled tensor.
        out_channels (int): Output channels.
        kernel_size (int): Kernel size of both convs. Defaults to 3.
        dilation (int): Sampling dilation of the deformable conv; its padding is equal to it, so the
            output has the input's size. Defaults to 1.
        deform_groups (int): Deformable groups ``G``. Defaults to 1.
        cond_channels (int, optional): Channels of the conditioning tensor. Defaults to
            ``in_channels``.
        offset_padding (str): ``'official_emulated'``: the conditioning conv is built as in the
            official code (padding = ``dilation``, dilation 1), so for ``dilation > 1`` its
            output is larger than the deformable conv's output and is read as the flattened
            prefix of the whole batch buffer (:func:`prefix_view`) — batch dependent, needed
            for official checkpoints. ``'same'`` (fixed): padding ``k // 2``, correctly sized
            maps, batch independent. Defaults to ``'official_emulated'``.
        dcn_impl (str): Deformable-conv implementation, see :mod:`.deform_conv`.
            Defaults to ``'auto'``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        deform_groups: int = 1,
        cond_channels: Optional[int] = None,
        offset_padding: str = DEFAULT_OFFSET_PADDING,
        dcn_impl: str = DEFAULT_DCN_IMPL,
    ) -> None:
        if offset_padding not in OFFSET_PADDING_MODES:
            raise ValueError(
                f'dcn_offset_padding must be one of {OFFSET_PADDING_MODES}, got {offset_padding!r}'
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=1,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            groups=1,
            deform_groups=deform_groups,
            bias=True,
            dcn_impl=dcn_impl,
        )
        self.offset_padding = offset_padding
        cond_padding = (
            self.padding[0] if offset_padding == 'official_emulated' else kernel_size // 2
        )
        self.conv_offset_mask = nn.Conv2d(
            cond_channels or in_channels,
            3 * deform_groups * kernel_size * kernel_size,
            kernel_size,
            stride=1,
            padding=cond_padding,
            bias=True,
        )
        self.init_weights()

    def init_weights(self) -> None:
        """mmcv's default DCN init plus EDVR's zero init of ``conv_offset_mask``.

        The model-level initialisation (architecture.md §6, :func:`fasr_init_weights`)
        overrides this.
        """
        super().init_weights()
        if hasattr(self, 'conv_offset_mask'):
            nn.init.zeros_(self.conv_offset_mask.weight)
            nn.init.zeros_(self.conv_offset_mask.bias)

    def offsets_and_masks(self, x: Tensor, cond: Tensor) -> Tuple[Tensor, Tensor]:
        """Offsets and masks as the deformable conv reads them.

        Args:
            x (Tensor): Sampled tensor ``[B, Cin, H, W]`` (only its size is used).
            cond (Tensor): Conditioning tensor ``[B, Ccond, H, W]``.

        Returns:
            tuple[Tensor, Tensor]: offset ``[B, 2*G*k*k, Ho, Wo]`` and mask ``[B, G*k*k, Ho, Wo]``.
        """
        out = self.conv_offset_mask(cond)  # [B, 3*G*k*k, Hc, Wc]
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        mask = torch.sigmoid(mask)
        geometry = (self.kernel_size, self.stride, self.padding, self.dilation)
        h_out, w_out = conv_output_size(x.shape[-2:], *geometry)
        if offset.shape[-2:] != (h_out, w_out):
            if self.offset_padding != 'official_emulated':
                raise RuntimeError(
                    f'offset map {tuple(offset.shape)} does not match the output '
                    f'size {(h_out, w_out)}'
                )
            b = x.size(0)
            offset = prefix_view(offset, (b, offset.size(1), h_out, w_out))
            mask = prefix_view(mask, (b, mask.size(1), h_out, w_out))
        return offset, mask

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:  # type: ignore[override]
        """Deform-convolve ``x`` with offsets/masks predicted from ``cond``.

        Args:
            x (Tensor): Sampled tensor ``[B, Cin, H, W]``.
            cond (Tensor): Conditioning tensor ``[B, Ccond, H, W]``.

        Returns:
            Tensor: ``[B, Cout, H, W]``.
        """
        offset, mask = self.offsets_and_masks(x, cond)
        return super().forward(x, offset, mask)
