# Copyright (c) OpenMMLab. All rights reserved.
"""What every PoseTrack evaluation module shares: joints, the "absent joint" rule, the arrays.

Needs only numpy (and ``orjson`` when installed, for reading JSON 3-4x faster than the standard
library), so that ``tools/eval_posetrack.py`` can load the evaluation without torch/mmpose. The
protocol and the file formats are described in ``docs/evaluation.md``.
"""

import contextlib
import gc
import json
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, List, Sequence

import numpy as np

try:  # a fast, well-kept JSON parser; the standard library's is the fallback
    import orjson
except ImportError:  # pragma: no cover - orjson is a runtime requirement
    orjson = None

#: poseval's 15 joints, in poseval's order (``eval_helpers.Joint``). PoseTrack
#: calls joint 12 ``head_bottom``; poseval's tables call it ``neck``.
POSEVAL_JOINTS = tuple(
    'right_ankle right_knee right_hip left_hip left_knee left_ankle right_wrist right_elbow '
    'right_shoulder left_shoulder left_elbow left_wrist head_bottom nose head_top'.split()
)
#: The names poseval writes into ``total_AP_metrics.json``.
POSEVAL_NAMES = POSEVAL_JOINTS[:12] + ('neck', 'nose', 'head_top', 'total')
NUM_JOINTS = 15

#: The 17 PoseTrack18 keypoints (COCO order with eyes -> head_bottom/head_top).
PT18_KEYPOINTS = tuple(
    'nose head_bottom head_top left_ear right_ear left_shoulder right_shoulder left_elbow '
    'right_elbow left_wrist right_wrist left_hip right_hip left_knee right_knee left_ankle '
    'right_ankle'.split()
)


def keypoint_table(names: Sequence[str]) -> np.ndarray:
    """``(K,)`` poseval joint id of each keypoint name (-1: not a poseval joint, e.g. an ear)."""
    return np.array([POSEVAL_JOINTS.index(n) if n in POSEVAL_JOINTS else -1 for n in names], int)


#: 17-keypoint index -> poseval joint id (-1: dropped ear).
PT18_TO_POSEVAL = keypoint_table(PT18_KEYPOINTS)
#: poseval joint id -> index in the 17 keypoints.
POSEVAL_TO_PT18 = np.array([PT18_KEYPOINTS.index(n) for n in POSEVAL_JOINTS], np.int64)

#: Score poseval gives a predicted point that has no score.
MIN_SCORE = -9999.0
#: head size = HEAD_SIZE_FACTOR * diagonal of the GT head box.
HEAD_SIZE_FACTOR = 0.6
FORMATS = ('pt17', 'pt18')


class PoseTrackFormatError(ValueError):
    """Malformed or inconsistent PoseTrack files (the message names the file)."""


def absent_joints(xy: np.ndarray, third: np.ndarray) -> np.ndarray:
    """The one "absent joint" rule: ``(...)`` bool, a keypoint ``xy`` (``(..., 2)``) at (0, 0)
    whose third value (GT visibility, predicted score) is 0. poseval's PT18 converter drops such
    keypoints; our PT17 writer leaves them out; the in-process evaluation uses it too."""
    return (xy[..., 0] == 0) & (xy[..., 1] == 0) & (third == 0)


# --------------------------------------------------------------------------------------- data
@dataclass
class PersonArrays:
    """Persons of one or many frames as flat arrays in poseval's 15-joint order.

    Attributes:
        frame (np.ndarray): ``(N,)`` int64 frame index of each person.
        xy (np.ndarray): ``(N, 15, 2)`` float64 joint coordinates (0 where absent).
        valid (np.ndarray): ``(N, 15)`` bool, whether the joint is annotated / predicted.
        score (np.ndarray): ``(N, 15)`` float64 joint scores (predictions).
        head_size (np.ndarray): ``(N,)`` float64 PCKh reference length (GT; NaN if unknown).
        track_id (np.ndarray): ``(N,)`` object array, each person's ``track_id`` as in the
            file (None where absent).
    """

    frame: np.ndarray
    xy: np.ndarray
    valid: np.ndarray
    score: np.ndarray
    head_size: np.ndarray
    track_id: np.ndarray

    @classmethod
    def empty(cls, n: int = 0) -> 'PersonArrays':
        """``n`` persons without any joint (zeros, ``MIN_SCORE``, NaN head size, no track id)."""
        return cls(
            frame=np.zeros(n, np.int64),
            xy=np.zeros((n, NUM_JOINTS, 2), np.float64),
            valid=np.zeros((n, NUM_JOINTS), bool),
            score=np.full((n, NUM_JOINTS), MIN_SCORE, np.float64),
            head_size=np.full(n, np.nan, np.float64),
            track_id=np.full(n, None, object),
        )

    @classmethod
    def from_keypoints(
        cls, frame: np.ndarray, kpts: np.ndarray, third: np.ndarray, table: np.ndarray
    ) -> 'PersonArrays':
        """Persons from ``(N, K, 2)`` keypoints and ``(N, K)`` visibility/scores ``third`` with
        poseval's conversion to 15 joints (``table``: :func:`keypoint_table`; ears dropped, the
        absent-joint rule); scores are ``third`` (GT readers ignore them)."""
        persons = cls.empty(len(kpts))
        persons.frame = np.asarray(frame, np.int64).reshape(-1)
        sel = table >= 0
        jid = table[sel]
        xy, th = kpts[:, sel], third[:, sel]
        persons.xy[:, jid] = xy
        persons.score[:, jid] = th
        persons.valid[:, jid] = ~absent_joints(xy, th)
        return persons

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, index: np.ndarray) -> 'PersonArrays':
        """The persons selected by integer indices or a boolean mask (copies)."""
        return PersonArrays(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @staticmethod
    def concatenate(parts: Sequence['PersonArrays']) -> 'PersonArrays':
        """All persons of ``parts``, in order (frame indices kept as they are)."""
        if not parts:
            return PersonArrays.empty()
        fields = PersonArrays.__dataclass_fields__
        return PersonArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass
class PoseTrackVideo:
    """One per-video PoseTrack file, parsed.

    Attributes:
        source (str): File name (or a description) used in error messages.
        format (str): ``'pt17'`` (``annolist``) or ``'pt18'`` (``images``/``annotations``).
        frame_names (List[str]): Image file name of each frame (``''`` if absent).
        image_ids (List[Any]): PoseTrack18 image ``id`` of each frame (None for PT17).
        vid_ids (List[Any]): PoseTrack18 ``vid_id`` of each frame (None where absent, PT17).
        num_rects (np.ndarray): ``(F,)`` number of person entries of each frame, before
            any filtering (a GT frame is evaluated iff this is > 0).
        ignore_regions (List[List[np.ndarray]]): Per frame, the ignore polygons as
            ``(K, 2)`` float64 arrays.
        persons (PersonArrays): All persons, sorted by frame (stable: the file's order
            within a frame).
    """

    source: str
    format: str
    frame_names: List[str]
    image_ids: List[Any]
    vid_ids: List[Any]
    num_rects: np.ndarray
    ignore_regions: List[List[np.ndarray]]
    persons: PersonArrays

    @property
    def num_frames(self) -> int:
        """int: Number of frames listed in the file."""
        return len(self.frame_names)

    @property
    def track_ids(self) -> List[Any]:
        """List[Any]: Track id of each person (None where absent)."""
        return self.persons.track_id.tolist()

    def sort_by_frame(self) -> 'PoseTrackVideo':
        """Order persons by frame, keeping the file's order within a frame; returns ``self``."""
        if len(self.persons) and (np.diff(self.persons.frame) < 0).any():
            self.persons = self.persons.take(np.argsort(self.persons.frame, kind='stable'))
        return self


# ----------------------------------------------------------------------------- parse helpers
def object_array(values: Sequence[Any]) -> np.ndarray:
    """``(N,)`` object array of arbitrary values (lists stay elements, not a new axis)."""
    return np.fromiter(values, dtype=object, count=len(values))


def first(value: Any) -> Any:
    """poseval stores scalars as 1-element lists (``{"x": [3.0]}``); accept both."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) else None
    return value


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (bool excluded)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def float_matrix(
    rows: Sequence[Any], width: int, source: str, what: str, label_of: Callable[[int], str]
) -> np.ndarray:
    """Stack lists of ``width`` numbers into an ``(N, width)`` float64 array.

    Well-formed input is converted in one pass; the rows are checked one by one only to name the
    offending record (``label_of(k)``, the field ``what`` of file ``source``).
    """
    if not len(rows):
        return np.zeros((0, width), np.float64)
    arr = None
    try:  # all lists of `width` numbers: one pass in C (None, strings, scalars: TypeError)
        if set(map(len, rows)) == {width}:
            arr = np.fromiter(chain.from_iterable(rows), np.float64, len(rows) * width)
            arr = arr.reshape(len(rows), width)
            if not np.isnan(arr).any():
                return arr
    except (TypeError, ValueError):
        arr = None
    for k, row in enumerate(rows):
        ok = isinstance(row, (list, tuple))
        got = f'{len(row)} values' if ok and len(row) != width else None
        if ok and got is None and not all(is_number(v) for v in row):
            ok = False
        if got or not ok:
            shown = repr(row) if len(repr(row)) < 120 else repr(row)[:117] + '...'
            raise PoseTrackFormatError(
                f'{source}: {label_of(k)}: "{what}" must be a list of {width} numbers, '
                f'got {got or shown}'
            )
    if arr is not None and arr.ndim == 2 and arr.shape[1] == width:
        return arr  # genuine NaN values; callers decide
    raise PoseTrackFormatError(f'{source}: "{what}" could not be read as numbers')


def polygon(xs: Any, ys: Any, source: str, label: str) -> np.ndarray:
    """Build a ``(K, 2)`` ignore polygon from x and y lists (error names ``label``)."""
    if not (isinstance(xs, (list, tuple)) and isinstance(ys, (list, tuple)) and len(xs) == len(ys)):
        raise PoseTrackFormatError(
            f'{source}: {label}: ignore region x and y must be lists of the same length'
        )
    try:
        return np.stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)], 1).reshape(-1, 2)
    except (TypeError, ValueError):
        raise PoseTrackFormatError(
            f'{source}: {label}: ignore region coordinates must be numbers'
        ) from None


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC: decoding/encoding a PoseTrack file creates ~10^5 small containers
    (no cyclic garbage), which would trigger repeated collections that traverse all of them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: str) -> Any:
    """Decoded content of a JSON file (``orjson`` if installed); invalid JSON names the file."""
    with open(path, 'rb') as f:
        raw = f.read()
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # strict JSON only: the standard library also reads NaN/Infinity
    try:
        with gc_paused():
            return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise PoseTrackFormatError(f'{path}: invalid JSON ({e})') from None


def write_json(path: str, content: Any) -> None:
    """Write JSON-serialisable ``content`` (lists, dicts, Python numbers) to ``path``."""
    with gc_paused():
        if orjson is not None:
            raw = orjson.dumps(content)
        else:
            raw = json.dumps(content).encode('utf-8')
    with open(path, 'wb') as f:
        f.write(raw)
