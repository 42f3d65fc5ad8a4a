# Copyright (c) OpenMMLab. All rights reserved.
"""Temporal windows ``[t, t+o_1, ..., t+o_{T-1}]`` from a ring buffer."""

import logging
from collections import deque
from dataclasses import dataclass
from typing import Deque, Iterable, Iterator, List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

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
            (``0`` where frame ``t`` stands in for a missing neighbour).
        margin (np.ndarray): ``(T-1,)`` int64, frame distance of each
            neighbour, ``|offset|``, and ``1`` where frame ``t`` stands in
            (the official boundary rule, as in ``PoseTrackVideoDataset``).
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


def check_frame_offsets(frame_offsets: Sequence[int]) -> Tuple[int, ...]:
    """Validate ``[0, o_1, ..., o_{T-1}]`` (centre first, no other 0).

    Args:
        frame_offsets (Sequence[int]): The offsets.

    Returns:
        tuple[int]: The offsets as ints.

    Raises:
        ValueError: If the centre offset is not first or repeated.
    """
    offsets = tuple(int(o) for o in frame_offsets)
    if not offsets or offsets[0] != 0 or 0 in offsets[1:]:
        raise ValueError(
            'frame_offsets must start with the centre offset 0 and list each '
            f'neighbour once (no other 0), got {list(frame_offsets)}'
        )
    return offsets


def iter_frame_windows(
    frames: Iterable[Tuple[np.ndarray, str]],
    frame_offsets: Sequence[int] = (0, -1, 1),
    online: bool = False,
) -> Iterator[FrameWindow]:
    """Yield one :class:`FrameWindow` per frame, reading ``frames`` once.

    ``frames`` is consumed strictly in order. A ring buffer keeps the
    ``max(-o)`` past frames and, offline, the ``max(o)`` future frames, so
    window ``t`` is produced as soon as frame ``t + max(o)`` has been read
    (offline: a latency of ``max(o)`` frames) or at once (online).

    Neighbour choice for offset ``o`` of frame ``t`` (``N`` frames):

    * offline: frame ``t + sign(o)·min(|o|, room)``, where ``room`` is the
      number of frames on that side (``t`` before, ``N-1-t`` after), i.e.
      offsets are clipped to the sequence as in ``PoseTrackVideoDataset``;
    * online: never a future frame: every ``o > 0`` uses frame ``t`` itself
      (the situation of the last frame of a sequence), past offsets are
      clipped as offline;
    * a clipped-to-zero offset uses frame ``t`` with margin 1; a neighbour
      whose size differs from frame ``t`` is replaced by frame ``t`` too
      (with a warning).

    Args:
        frames (Iterable[tuple[np.ndarray, str]]): ``(frame, name)`` pairs in
            temporal order, e.g. a
            :class:`~fasrnet_mmpose.apis.inferencers.utils.FrameSource`.
        frame_offsets (Sequence[int]): ``[0, o_1, ...]``, current frame
            first. Defaults to ``(0, -1, 1)`` (the model's ``[t, t-1, t+1]``).
        online (bool): Use past frames only. Defaults to False.

    Yields:
        FrameWindow: Windows for ``t = 0, 1, ...``.
    """
    offsets = np.asarray(check_frame_offsets(frame_offsets)[1:], dtype=np.int64)
    past = int(max(0, -offsets.min())) if len(offsets) else 0
    future = 0 if online or not len(offsets) else int(max(0, offsets.max()))

    buffer: Deque[Tuple[int, np.ndarray, str]] = deque()  # (index, frame, name)
    source = iter(frames)
    next_index = 0  # index of the next frame to read
    exhausted = False
    warned_size = False
    t = 0
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
        room = np.where(offsets < 0, t, room_after)
        used = (np.sign(offsets) * np.minimum(np.abs(offsets), room)).astype(np.int64)
        window = [centre]
        for k, off in enumerate(used):
            if off == 0:
                window.append(centre)
                continue
            neighbour = buffer[t + int(off) - first][1]
            if neighbour.shape != centre.shape:
                if not warned_size:
                    print_log(
                        f'Frame {t + int(off)} has size {neighbour.shape[:2]} but frame {t} '
                        f'has {centre.shape[:2]}; frames of a different size are not used '
                        'as neighbours (the current frame stands in, margin 1).',
                        logger='current',
                        level=logging.WARNING,
                    )
                    warned_size = True
                used[k] = 0
                window.append(centre)
                continue
            window.append(neighbour)
        margin = np.where(used == 0, 1, np.abs(used)).astype(np.int64)
        yield FrameWindow(
            index=t,
            name=name,
            frames=window,
            offsets=np.concatenate([[0], used]).astype(np.int64),
            margin=margin,
        )
        t += 1
