# Copyright (c) OpenMMLab. All rights reserved.
"""Ring-buffer windows: offline vs online neighbour choice, margins, lazy reads."""

from typing import List

import numpy as np
import pytest

from fasrnet_mmpose.apis import iter_frame_windows
from fasrnet_mmpose.structures import check_frame_offsets


def _frames(n: int, reads: List[int] = None, shape=(8, 8, 3)):
    """Frames whose pixel value is their index; ``reads`` logs every read."""
    for i in range(n):
        if reads is not None:
            reads.append(i)
        yield np.full(shape, i, np.uint8), f'{i}.jpg'


def _ids(window) -> List[int]:
    return [int(f[0, 0, 0]) for f in window.frames]


def test_offline_default_window():
    windows = list(iter_frame_windows(_frames(5), (0, -1, 1), online=False))
    assert [_ids(w) for w in windows] == [[0, 0, 1], [1, 0, 2], [2, 1, 3], [3, 2, 4], [4, 3, 4]]
    assert [w.margin.tolist() for w in windows] == [[1, 1]] * 5
    assert [w.offsets.tolist() for w in windows] == [
        [0, 0, 1],
        [0, -1, 1],
        [0, -1, 1],
        [0, -1, 1],
        [0, -1, 0],
    ]
    assert [w.name for w in windows] == [f'{i}.jpg' for i in range(5)]
    assert all(w.margin.dtype == np.int64 for w in windows)


def test_online_never_uses_a_future_frame():
    windows = list(iter_frame_windows(_frames(5), (0, -1, 1), online=True))
    for w in windows:
        assert max(_ids(w)) <= w.index
    assert [_ids(w) for w in windows] == [[0, 0, 0], [1, 0, 1], [2, 1, 2], [3, 2, 3], [4, 3, 4]]
    # the future neighbour is the current frame with margin 1 (sequence-end rule)
    assert [w.offsets.tolist()[2] for w in windows] == [0] * 5
    assert [w.margin.tolist() for w in windows] == [[1, 1]] * 5


@pytest.mark.parametrize('online, lookahead', [(False, 1), (True, 0)])
def test_reads_lazily_and_once(online, lookahead):
    reads: List[int] = []
    n = 6
    for w in iter_frame_windows(_frames(n, reads), (0, -1, 1), online=online):
        # window t is produced as soon as frame t + lookahead is read, not later
        assert reads[-1] == min(w.index + lookahead, n - 1)
    assert reads == list(range(n))  # every frame read exactly once


def test_wide_offsets_are_clipped_with_distance_margins():
    windows = list(iter_frame_windows(_frames(6), (0, -2, 2)))
    ids = [_ids(w) for w in windows]
    assert ids == [[0, 0, 2], [1, 0, 3], [2, 0, 4], [3, 1, 5], [4, 2, 5], [5, 3, 5]]
    assert [w.margin.tolist() for w in windows] == [[1, 2], [1, 2], [2, 2], [2, 2], [2, 1], [2, 1]]
    online = list(iter_frame_windows(_frames(6), (0, -1, -2), online=True))
    ids = [_ids(w) for w in online]
    assert ids == [[0, 0, 0], [1, 0, 0], [2, 1, 0], [3, 2, 1], [4, 3, 2], [5, 4, 3]]
    assert online[3].margin.tolist() == [1, 2]


def test_single_frame_sequence():
    (window,) = list(iter_frame_windows(_frames(1), (0, -1, 1)))
    assert _ids(window) == [0, 0, 0]
    assert window.margin.tolist() == [1, 1]
    assert all(f is window.frames[0] for f in window.frames)


def test_neighbour_of_another_size_is_replaced():

    def frames():
        yield np.zeros((8, 8, 3), np.uint8), 'a'
        yield np.ones((8, 8, 3), np.uint8), 'b'
        yield np.full((4, 4, 3), 2, np.uint8), 'c'

    windows = list(iter_frame_windows(frames(), (0, -1, 1)))
    assert _ids(windows[1]) == [1, 0, 1]
    assert windows[1].margin.tolist() == [1, 1]
    assert _ids(windows[2]) == [2, 2, 2]


def test_empty_input_yields_nothing():
    assert list(iter_frame_windows(iter([]), (0, -1, 1))) == []


@pytest.mark.parametrize('offsets', [(), (-1, 0, 1), (0, 0, 1), (0, -1, 0)])
def test_bad_offsets(offsets):
    with pytest.raises(ValueError, match='frame_offsets'):
        check_frame_offsets(offsets)
