# Copyright (c) OpenMMLab. All rights reserved.
"""What the PoseTrack evaluation modules share: joints, the "absent joint" rule, the person arrays,
JSON files. numpy and orjson only (``tools/eval_posetrack.py`` runs without torch/mmpose)."""

import contextlib
import gc
import json
from dataclasses import dataclass, fields
from itertools import chain
from typing import Any, Callable, List, Sequence

import numpy as np
import orjson

#: poseval's 15 joints in poseval's order; its tables call ``head_bottom`` ``neck``.
POSEVAL_JOINTS = tuple(
    'right_ankle right_knee right_hip left_hip left_knee left_ankle right_wrist right_elbow '
    'right_shoulder left_shoulder left_elbow left_wrist head_bottom nose head_top'.split()
)
#: The names poseval writes into ``total_AP_metrics.json`` / ``total_MOT_metrics.json``.
POSEVAL_NAMES = POSEVAL_JOINTS[:12] + ('neck', 'nose', 'head_top', 'total')
NUM_JOINTS = 15
#: The 17 PoseTrack18 keypoints (COCO order with the eyes replaced by head_bottom/head_top).
PT18_KEYPOINTS = tuple(
    'nose head_bottom head_top left_ear right_ear left_shoulder right_shoulder left_elbow '
    'right_elbow left_wrist right_wrist left_hip right_hip left_knee right_knee left_ankle '
    'right_ankle'.split()
)


def keypoint_table(names: Sequence[str]) -> np.ndarray:
    """``(K,)`` poseval joint id of each keypoint name (-1: not a poseval joint, e.g. an ear)."""
    return np.array([POSEVAL_JOINTS.index(n) if n in POSEVAL_JOINTS else -1 for n in names], int)


PT18_TO_POSEVAL = keypoint_table(PT18_KEYPOINTS)
POSEVAL_TO_PT18 = np.array([PT18_KEYPOINTS.index(n) for n in POSEVAL_JOINTS], np.int64)
MIN_SCORE = -9999.0  # poseval's score of a predicted point without a score


class PoseTrackFormatError(ValueError):
    """Malformed or inconsistent PoseTrack files (the message names the file)."""


def absent_joints(xy: np.ndarray, third: np.ndarray) -> np.ndarray:
    """The one "absent joint" rule: ``xy`` (..., 2) at (0, 0) with visibility / score 0."""
    return (xy[..., 0] == 0) & (xy[..., 1] == 0) & (third == 0)


def head_size(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """PCKh reference length of GT head boxes: 0.6 x diagonal."""
    return 0.6 * np.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)


@dataclass
class PersonArrays:
    """Persons as flat arrays in poseval's joint order: ``frame`` (N,), ``xy`` (N, 15, 2), ``valid``
    (N, 15), ``score`` (N, 15), ``head_size`` (N,) (NaN: unknown), ``track_id`` (N,) object."""

    frame: np.ndarray
    xy: np.ndarray
    valid: np.ndarray
    score: np.ndarray
    head_size: np.ndarray
    track_id: np.ndarray

    @classmethod
    def empty(cls, frame: Sequence[int], track_id: Sequence[Any] = ()) -> 'PersonArrays':
        """Persons of ``frame`` (N,) and ``track_id`` (N values, default None) without joints."""
        n = len(frame)
        ids = np.fromiter(track_id, object, n) if len(track_id) else np.full(n, None, object)
        xy, valid = np.zeros((n, NUM_JOINTS, 2)), np.zeros((n, NUM_JOINTS), bool)
        score, head = np.full((n, NUM_JOINTS), MIN_SCORE), np.full(n, np.nan)
        return cls(np.asarray(frame, np.int64), xy, valid, score, head, ids)

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, index: np.ndarray) -> 'PersonArrays':
        """The persons selected by indices or a boolean mask (copies)."""
        return PersonArrays(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concatenate(parts: Sequence['PersonArrays']) -> 'PersonArrays':
        """All persons of ``parts`` in order."""
        parts, names = parts or [PersonArrays.empty([])], [f.name for f in fields(PersonArrays)]
        return PersonArrays(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


@dataclass
class PoseTrackVideo:
    """One parsed per-video file ``source``: per frame ``frame_names``, PT18 ``image_ids`` and
    ``vid_ids`` (PT17: None), ``num_rects`` (F,) person entries, ``ignore_regions`` (K, 2)
    polygons; ``persons`` sorted by frame."""

    source: str
    frame_names: List[str]
    image_ids: List[Any]
    vid_ids: List[Any]
    num_rects: np.ndarray
    ignore_regions: List[List[np.ndarray]]
    persons: PersonArrays

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)

    def where(self, i: int) -> str:
        """``frame F ('<image>')`` of person ``i``, for messages."""
        f = int(self.persons.frame[i])
        return f'frame {f} ({self.frame_names[f]!r})'


Videos = Sequence[PoseTrackVideo]


def first(value: Any) -> Any:
    """poseval's scalars are 1-element lists (``{"x": [3.0]}``); plain values are accepted."""
    return (value[0] if len(value) else None) if isinstance(value, (list, tuple)) else value


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def float_matrix(records: List[dict], key: str, width: int, label: Callable, lists=False) -> tuple:
    """Indices ``(M,)`` of the ``records`` whose ``key`` is not None (``lists``: a non-empty list)
    and its values as ``(M, width)`` float64; else the first bad record, ``label(index)``."""
    values = [r.get(key) for r in records]
    rows = [i for i, v in enumerate(values) if v is not None]
    rows = [i for i in rows if isinstance(values[i], list) and values[i]] if lists else rows
    vals = [values[i] for i in rows]
    try:
        if not vals or set(map(len, vals)) == {width}:
            flat = np.fromiter(chain.from_iterable(vals), np.float64, len(vals) * width)
            return np.array(rows, np.int64), flat.reshape(len(vals), width)
    except (TypeError, ValueError):
        pass
    ok = [isinstance(v, list) and len(v) == width and all(map(is_number, v)) for v in vals]
    k = ok.index(False)
    text = repr(vals[k]) if len(repr(vals[k])) < 80 else repr(vals[k])[:77] + '...'
    raise PoseTrackFormatError(
        f'{label(rows[k])}: "{key}" must be a list of {width} numbers, got {text}'
    )


def polygon(xs: List[float], ys: List[float]) -> np.ndarray:
    """``(K, 2)`` ignore polygon from x and y lists of the same length (else ValueError)."""
    if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys)):
        raise ValueError('an ignore region needs x and y lists of the same length')
    return np.array([xs, ys], np.float64).T.reshape(-1, 2)


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC: a file decodes to ~10^5 acyclic containers (useless collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: str) -> Any:
    """Decoded JSON file (orjson; the standard library for non-strict JSON such as NaN)."""
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise PoseTrackFormatError(f'{path}: invalid JSON ({e})') from None


def metrics_to_json(result: dict, keys: Sequence[str] = ('ap', 'pre', 'rec')) -> dict:
    """poseval's ``total_AP_metrics.json`` (``keys=MOT_KEYS``: ``total_MOT_metrics.json``)."""
    out: dict = {k: [float(v) for v in result[k]] for k in keys}
    out['names'] = {str(i): n for i, n in enumerate(POSEVAL_NAMES)}
    return out
