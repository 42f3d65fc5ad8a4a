# Copyright (c) OpenMMLab. All rights reserved.
"""The temporal window: which frames the model sees around the current frame ``t``.

This module is the one definition of the window; the dataset (:class:`PoseTrackVideoDataset`),
the pipeline (:class:`LoadFrameWindow`), the inferencer's ring buffer (``iter_frame_windows``),
the estimator (margins tensor) and the head (frame order) all use it. docs/temporal_window.md
describes the contract for users.

- **Frame order**: a window is ``[current, previous, next]`` (``T = 3``): the current frame
  first, then the previous frame(s) (negative offsets), then the next frame(s) (positive
  offsets). ``frame_offsets`` lists the offsets in that order, e.g. ``[0, -1, 1]`` or
  ``[0, -2, 2]``; ``[0, 1, -1]`` (next before previous) is rejected.
- **Boundary rule** (official): a neighbour beyond the sequence is clipped to the nearest frame
  that exists on its side; with no frame on that side the current frame stands in, with margin
  :data:`DEFAULT_MARGIN` (1, not 0).
- **Sampling**: ``'fixed'`` uses the (clipped) offsets; ``'random'`` draws each neighbour ``o``
  on every access as ``sign(o) * U{1..|o|}`` within the frames that exist.
- **Margins**: the frame distance ``|offset|`` of each neighbour, ``[B, T-1]`` per batch.
- **Missing-frame fallback** (official): a neighbour that cannot be used (file not on disk, or a
  frame of another size in a stream) is replaced by the current frame and keeps its sampled
  margin. :data:`FALLBACK_MISSING` marks it in the sample's ``neighbour_fallback`` so that
  the share of missing frames can be counted (``MissingFramesHook``).
"""

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

#: frame order of a window (and of the ``T`` axis of ``[B, T, ...]`` inputs and features)
FRAME_ORDER = ('current', 'previous', 'next')
#: ``T``: frames per window that the FaSRnet/DCPose head reads
NUM_FRAMES = len(FRAME_ORDER)
CURRENT_INDEX = FRAME_ORDER.index('current')
PREVIOUS_INDEX = FRAME_ORDER.index('previous')
NEXT_INDEX = FRAME_ORDER.index('next')
#: the FRM's TSA fusion stacks the (aligned) features in time order [previous, current, next]
FUSION_ORDER = ('previous', 'current', 'next')
FUSION_CENTRE_INDEX = FUSION_ORDER.index('current')
#: official FaSRnet/DCPose window ``[t, t-1, t+1]`` (``DISTANCE: 2``)
DEFAULT_FRAME_OFFSETS = (0, -1, 1)
#: margin of a neighbour that the current frame stands in for (boundary rule) and of every
#: neighbour when no margins are given (a window of one repeated frame)
DEFAULT_MARGIN = 1
FRAME_SAMPLERS = ('fixed', 'random')

#: ``neighbour_fallback`` codes, one per neighbour (``(T-1,)`` int8)
FALLBACK_NONE = 0  # the neighbour frame itself is used
FALLBACK_BOUNDARY = 1  # no such frame in the sequence: the current frame stands in, margin 1
FALLBACK_MISSING = 2  # the frame is not available (not on disk): the current frame stands in


def check_frame_offsets(frame_offsets: Sequence[int]) -> Tuple[int, ...]:
    """Validate ``frame_offsets``: ``[0, previous..., next...]``.

    Args:
        frame_offsets (Sequence[int]): Offsets relative to the current frame ``t``.

    Returns:
        tuple[int]: The offsets as ints.

    Raises:
        ValueError: If the current frame's ``0`` is not first, repeated, a neighbour is listed
            twice, or a next frame (positive offset) comes before a previous one (negative).
    """
    offsets = tuple(int(o) for o in frame_offsets)
    expected = (
        'frame_offsets must be in the order [current, previous, next]: 0 first, then the '
        'previous frame(s) (negative offsets), then the next frame(s) (positive offsets), '
        f'e.g. [0, -1, 1] or [0, -2, 2]; got {list(frame_offsets)}'
    )
    if not offsets or offsets[0] != 0 or 0 in offsets[1:]:
        raise ValueError(f'{expected} (the current frame 0 must come first, exactly once)')
    if len(set(offsets)) != len(offsets):
        raise ValueError(f'{expected} (a neighbour is listed twice)')
    signs = np.sign(offsets[1:])
    if np.any(np.diff(signs) < 0):
        raise ValueError(
            f'{expected} (a next frame comes before a previous one: the model would read the '
            'next frame as the previous one)'
        )
    return offsets


def window_margins(offsets: np.ndarray) -> np.ndarray:
    """Margins of neighbours at ``offsets`` (``(T-1,)``): ``|o|``, and 1 where ``o == 0``.

    Args:
        offsets (np.ndarray): Sampled neighbour offsets ``(T-1,)`` (0 = the current frame).

    Returns:
        np.ndarray: ``(T-1,)`` int64.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    return np.where(offsets == 0, DEFAULT_MARGIN, np.abs(offsets)).astype(np.int64)


def default_margins(batch_size: int, device: Optional[torch.device] = None) -> Tensor:
    """The default margins ``[B, T-1]`` (all :data:`DEFAULT_MARGIN`): a window without margins.

    Args:
        batch_size (int): ``B``.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: ``[B, T-1]`` float32.
    """
    return torch.full((batch_size, NUM_FRAMES - 1), float(DEFAULT_MARGIN), device=device)


def batch_margins(
    data_samples: Optional[Sequence], batch_size: int, device: Optional[torch.device] = None
) -> Tensor:
    """Stack the samples' ``metainfo['margin']`` once per batch into ``[B, T-1]``.

    Args:
        data_samples (Sequence[PoseDataSample], optional): The batch; ``None`` (e.g. tensor mode
            without samples, mmpose's ``get_flops``) gives :func:`default_margins`.
        batch_size (int): ``B``.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: ``[B, T-1]`` float32.

    Raises:
        KeyError: If a sample lacks ``margin`` (not in ``PackPoseInputs``' ``meta_keys``).
        ValueError: If the number of samples is not ``B``.
    """
    if data_samples is None:
        return default_margins(batch_size, device)
    if len(data_samples) != batch_size:
        raise ValueError(f'{len(data_samples)} data samples for a batch of {batch_size} inputs')
    try:
        rows = [sample.metainfo['margin'] for sample in data_samples]
    except KeyError:
        raise KeyError(
            'a data sample has no metainfo "margin": add "margin" to the meta_keys of '
            'PackPoseInputs in the pipeline (see docs/temporal_window.md)'
        ) from None
    return torch.as_tensor(np.stack(rows).astype(np.float32), device=device)


@dataclass
class WindowSample:
    """The frames of one window.

    Attributes:
        offsets (np.ndarray): ``(T,)`` int64 offsets of the frames used (``0`` first; ``0`` also
            where the current frame stands in for a neighbour).
        margin (np.ndarray): ``(T-1,)`` int64 frame distance of each neighbour.
        fallback (np.ndarray): ``(T-1,)`` int8 ``FALLBACK_*`` code of each neighbour.
    """

    offsets: np.ndarray
    margin: np.ndarray
    fallback: np.ndarray


class TemporalWindow:
    """Frame offsets + sampler: chooses the frames of the window of frame ``t``.

    Args:
        frame_offsets (Sequence[int]): ``[0, previous..., next...]``, see
            :func:`check_frame_offsets`. Defaults to :data:`DEFAULT_FRAME_OFFSETS`.
        sampler (str): ``'fixed'`` or ``'random'`` (a fresh draw per call of :meth:`sample`).
            Defaults to ``'fixed'``.
    """

    def __init__(
        self, frame_offsets: Sequence[int] = DEFAULT_FRAME_OFFSETS, sampler: str = 'fixed'
    ) -> None:
        if sampler not in FRAME_SAMPLERS:
            raise ValueError(f'frame_sampler must be one of {FRAME_SAMPLERS}, got {sampler!r}')
        self.frame_offsets = check_frame_offsets(frame_offsets)
        self.sampler = sampler
        self.neighbour_offsets = np.asarray(self.frame_offsets[1:], dtype=np.int64)

    @property
    def num_frames(self) -> int:
        """``T``, the current frame included."""
        return len(self.frame_offsets)

    @property
    def reach(self) -> Tuple[int, int]:
        """``(past, future)``: how many frames before / after ``t`` a window can use."""
        offsets = self.neighbour_offsets
        if not len(offsets):
            return 0, 0
        return int(max(0, -offsets.min())), int(max(0, offsets.max()))

    def sample(
        self,
        room_before: int,
        room_after: int,
        is_available: Optional[Callable[[int], bool]] = None,
    ) -> WindowSample:
        """Choose the neighbours of a frame ``t``.

        Args:
            room_before (int): Frames of the sequence before ``t`` (0 at the first frame).
            room_after (int): Frames after ``t`` that may be used (0 at the last frame, or
                online).
            is_available (Callable[[int], bool], optional): ``is_available(offset)`` tells
                whether the frame ``t + offset`` can be used (e.g. is on disk); if not, the
                current frame stands in and keeps the sampled margin. ``None``: all are.

        Returns:
            WindowSample: Offsets, margins and fallback codes.
        """
        offsets = self.neighbour_offsets
        room = np.where(offsets < 0, max(0, room_before), max(0, room_after))
        dist = np.minimum(np.abs(offsets), room)
        if self.sampler == 'random':
            # U{1..dist} per neighbour, 0 where no frame exists on that side
            dist = np.where(dist > 0, np.random.randint(1, np.maximum(dist, 1) + 1), 0)
        sampled = (np.sign(offsets) * dist).astype(np.int64)
        fallback = np.where(sampled == 0, FALLBACK_BOUNDARY, FALLBACK_NONE).astype(np.int8)
        if is_available is not None:
            for i, off in enumerate(sampled):
                if off != 0 and not is_available(int(off)):
                    fallback[i] = FALLBACK_MISSING
        used = np.where(fallback == FALLBACK_NONE, sampled, 0)
        return WindowSample(
            offsets=np.concatenate([[0], used]).astype(np.int64),
            margin=window_margins(sampled),
            fallback=fallback,
        )

    def __repr__(self) -> str:
        return f'TemporalWindow(frame_offsets={list(self.frame_offsets)}, sampler={self.sampler!r})'


__all__ = [
    'FRAME_ORDER',
    'NUM_FRAMES',
    'CURRENT_INDEX',
    'PREVIOUS_INDEX',
    'NEXT_INDEX',
    'FUSION_ORDER',
    'FUSION_CENTRE_INDEX',
    'DEFAULT_FRAME_OFFSETS',
    'DEFAULT_MARGIN',
    'FRAME_SAMPLERS',
    'FALLBACK_NONE',
    'FALLBACK_BOUNDARY',
    'FALLBACK_MISSING',
    'check_frame_offsets',
    'window_margins',
    'default_margins',
    'batch_margins',
    'WindowSample',
    'TemporalWindow',
]
