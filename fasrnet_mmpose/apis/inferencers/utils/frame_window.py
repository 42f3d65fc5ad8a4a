# Copyright (c) OpenMMLab. All rights reserved.
"""Temporal windows ``[t, t+o_1, ..., t+o_{T-1}]`` of a frame stream, from a ring buffer.

The window itself (frame order, boundary rule, margins, missing-frame fallback) is
:class:`fasrnet_mmpose.structures.TemporalWindow`, the same as the dataset's; this module only
buffers the stream.
"""

import logging
from collections import deque
from dataclasses import dataclass
from typing import Deque, Iterable, Iterator, List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from ....structures.temporal_window import (
    DEFAULT_FRAME_OFFSETS,
    TemporalWindow,
    check_frame_offsets,
)

__all__ = ['FrameWindow', 'iter_frame_windows', 'check_frame_offsets']


@dataclass
class FrameWindow:
    """The frames the model sees for one current frame ``t``.

    Attributes:
        index (int): ``t`` (0-based position in the input).
        name (str): ``img_path`` of frame ``t``.
        frames (list[np.ndarray]): ``T`` BGR frames, frame ``t`` first, then
            one per neighbour offset, in the order of ``frame_offsets[1:]``.
        offsets (np.ndarray): ``(T,)`` int64, the offsets actually used
            (``0`` where frame ``t`` stands in for a neighbour).
        margin (np.ndarray): ``(T-1,)`` int64, frame distance of each
            neighbour (:class:`~fasrnet_mmpose.structures.TemporalWindow`:
            ``|offset|``, ``1`` at the sequence boundary, the sampled
            distance for a neighbour that could not be used).
    """

    index: int
    name: str
    frames: List[np.ndarray]
    offsets: np.ndarray
    margin: np.ndarray

    @property
    def frame(self) -> np.ndarray:
        """The current frame ``t``."""
        return self.frames[0]


def iter_frame_windows(
    frames: Iterable[Tuple[np.ndarray, str]],
    frame_offsets: Sequence[int] = DEFAULT_FRAME_OFFSETS,
    online: bool = False,
) -> Iterator[FrameWindow]:
    """Yield one :class:`FrameWindow` per frame, reading ``frames`` once.

    ``frames`` is consumed strictly in order. A ring buffer keeps the
    ``max(-o)`` past frames and, offline, the ``max(o)`` future frames, so
    window ``t`` is produced as soon as frame ``t + max(o)`` has been read
    (offline: a latency of ``max(o)`` frames) or at once (online).

    Neighbour choice for offset ``o`` of frame ``t`` (``N`` frames): the
    ``'fixed'`` :class:`~fasrnet_mmpose.structures.TemporalWindow`, as in
    ``PoseTrackVideoDataset``:

    * offline: frame ``t + sign(o)·min(|o|, room)``, where ``room`` is the
      number of frames on that side (``t`` before, ``N-1-t`` after), i.e.
      offsets are clipped to the sequence;
    * online: never a future frame: every ``o > 0`` uses frame ``t`` itself
      (the situation of the last frame of a sequence), past offsets are
      clipped as offline;
    * a clipped-to-zero offset uses frame ``t`` with margin 1; a neighbour
      whose size differs from frame ``t`` cannot be used and is replaced by
      frame ``t`` (the missing-frame fallback, with a warning).

    Args:
        frames (Iterable[tuple[np.ndarray, str]]): ``(frame, name)`` pairs in
            temporal order, e.g. a
            :class:`~fasrnet_mmpose.apis.inferencers.utils.FrameSource`.
        frame_offsets (Sequence[int]): ``[0, previous..., next...]``
            (:func:`~fasrnet_mmpose.structures.check_frame_offsets`). Defaults
            to ``(0, -1, 1)`` (the model's ``[t, t-1, t+1]``).
        online (bool): Use past frames only. Defaults to False.

    Yields:
        FrameWindow: Windows for ``t = 0, 1, ...``.
    """
    temporal = TemporalWindow(frame_offsets)
    past, future = temporal.reach
    if online:
        future = 0

    buffer: Deque[Tuple[int, np.ndarray, str]] = deque()  # (index, frame, name)
    source = iter(frames)
    next_index = 0  # index of the next frame to read
    exhausted = False
    warned_size = False
    t = first = 0
    centre = None

    def same_size(offset: int) -> bool:
        """Whether neighbour ``t + offset`` can be used (warns once if not)."""
        nonlocal warned_size
        neighbour = buffer[t + offset - first][1]
        if neighbour.shape == centre.shape:
            return True
        if not warned_size:
            print_log(
                f'Frame {t + offset} has size {neighbour.shape[:2]} but frame {t} '
                f'has {centre.shape[:2]}; frames of a different size are not used '
                'as neighbours (the current frame stands in).',
                logger='current',
                level=logging.WARNING,
            )
            warned_size = True
        return False

    while True:
        # read until frame t + future is buffered (or the input ends)
        while not exhausted and next_index <= t + future:
            try:
                frame, name = next(source)
            except StopIteration:
                exhausted = True
                break
            buffer.append((next_index, frame, name))
            next_index += 1
        if t >= next_index:
            return
        # forget frames that no window will need again
        while buffer[0][0] < t - past:
            buffer.popleft()
        first = buffer[0][0]
        _, centre, name = buffer[t - first]
        last_known = next_index - 1
        room_after = 0 if online else last_known - t  # offline: >= future unless at the end

        window = temporal.sample(t, room_after, is_available=same_size)
        yield FrameWindow(
            index=t,
            name=name,
            frames=[buffer[t + int(o) - first][1] for o in window.offsets],
            offsets=window.offsets,
            margin=window.margin,
        )
        t += 1
