# Copyright (c) OpenMMLab. All rights reserved.
"""The official PoseTrack per-frame mAP (poseval's protocol) in plain numpy.

This module re-implements what ``poseval`` (``evaluateAP`` with
``eval_helpers.load_data_dir``) computes, without depending on it: it only
needs numpy and the standard library, so it can also be loaded as a single
file (see ``tools/eval_posetrack.py``).

The protocol (``../shared/spec/fasrnet_spec.md`` §7.3-§7.4):

1. Per-video GT and prediction files are paired by file name. PoseTrack17
   ``annolist`` files are read as they are; PoseTrack18 ``images`` /
   ``annotations`` files go through poseval's PT18 -> PT17 conversion rules
   (15 joints, a keypoint ``(0, 0)`` with visibility ``0`` is "absent", the
   per-joint score is ``scores[k]``, the head box is ``bbox_head``). The
   prediction file must list exactly as many frames as the GT file; frames
   are paired by position, as in poseval.
2. Only GT frames with at least one person entry are evaluated.
3. Joints inside the frame's ignore regions (strict interior of the polygons,
   GEOS ray-crossing rule; points on the boundary are kept) are removed from
   GT and predictions.
4. Head-size normalised PCKh@0.5 (``head = 0.6 * ||(x2 - x1, y2 - y1)||``),
   poseval's greedy person assignment, per-joint (score, label) pairs.
5. Per joint: precision/recall over all frames, VOC all-point AP x 100;
   Total = mean of the 15 joint APs (NaNs skipped).

Everything after parsing is vectorised: the assignment works on the flat list
of (prediction, GT) pairs of all frames and the APs of all 15 joints are
computed at once on a (15, N) layout.

Differences from poseval, all limited to degenerate inputs, are listed in
``docs/evaluation.md``: exactly tied scores are ranked as
``argsort(kind='stable')[::-1]`` (poseval's default ``argsort`` leaves ties
to numpy's sort implementation), GT files are read in sorted order (poseval:
``glob`` order), ignore polygons with fewer than 3 vertices are skipped
(shapely raises) and distances use ``sqrt(dx*dx + dy*dy)``.
"""

import contextlib
import gc
import glob
import json
import logging
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

logger = logging.getLogger(__name__)

#: poseval's 15 joints, in poseval's order (``eval_helpers.Joint``). PoseTrack
#: calls joint 12 ``head_bottom``; poseval's tables call it ``neck``.
POSEVAL_JOINTS = (
    'right_ankle',
    'right_knee',
    'right_hip',
    'left_hip',
    'left_knee',
    'left_ankle',
    'right_wrist',
    'right_elbow',
    'right_shoulder',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
    'head_bottom',
    'nose',
    'head_top',
)
#: The names poseval writes into ``total_AP_metrics.json``.
POSEVAL_NAMES = (
    'right_ankle',
    'right_knee',
    'right_hip',
    'left_hip',
    'left_knee',
    'left_ankle',
    'right_wrist',
    'right_elbow',
    'right_shoulder',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
    'neck',
    'nose',
    'head_top',
    'total',
)
NUM_JOINTS = 15

#: The 17 PoseTrack18 keypoints (COCO order with eyes -> head_bottom/head_top).
PT18_KEYPOINTS = (
    'nose',
    'head_bottom',
    'head_top',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
)
PT18_SKELETON = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
]
#: 17-keypoint index -> poseval joint id (-1: dropped ear), spec §7.3.
PT18_TO_POSEVAL = np.array(
    [POSEVAL_JOINTS.index(n) if n in POSEVAL_JOINTS else -1 for n in PT18_KEYPOINTS], dtype=np.int64
)

#: Table groups: name -> poseval joint ids (``eval_helpers.getCum``).
JOINT_GROUPS = OrderedDict(
    [
        ('Head', (14, 12, 13)),
        ('Shou', (8, 9)),
        ('Elb', (7, 10)),
        ('Wri', (6, 11)),
        ('Hip', (2, 3)),
        ('Knee', (1, 4)),
        ('Ankl', (0, 5)),
    ]
)
#: Column titles of the paper's Table 1, in the same order as JOINT_GROUPS + total.
TABLE1_COLUMNS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'mAP')

#: Score poseval gives a predicted point that has no score.
MIN_SCORE = -9999.0
#: PCKh threshold, as a fraction of the head size.
PCKH_THRESHOLD = 0.5
#: head size = HEAD_SIZE_FACTOR * diagonal of the GT head box.
HEAD_SIZE_FACTOR = 0.6

FORMATS = ('pt17', 'pt18')


class PoseTrackFormatError(ValueError):
    """Malformed or inconsistent PoseTrack files (the message names the file)."""


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
    """

    frame: np.ndarray
    xy: np.ndarray
    valid: np.ndarray
    score: np.ndarray
    head_size: np.ndarray

    @classmethod
    def empty(cls, n: int = 0) -> 'PersonArrays':
        """Return ``n`` persons without any joint (all arrays zero / NaN).

        Args:
            n (int): Number of persons. Defaults to 0.

        Returns:
            PersonArrays: The persons.
        """
        return cls(
            frame=np.zeros(n, np.int64),
            xy=np.zeros((n, NUM_JOINTS, 2), np.float64),
            valid=np.zeros((n, NUM_JOINTS), bool),
            score=np.full((n, NUM_JOINTS), MIN_SCORE, np.float64),
            head_size=np.full(n, np.nan, np.float64),
        )

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, index: np.ndarray) -> 'PersonArrays':
        """Return the persons selected by an index array or a boolean mask.

        Args:
            index (np.ndarray): Integer indices or a boolean mask over persons.

        Returns:
            PersonArrays: The selected persons (copies).
        """
        return PersonArrays(
            self.frame[index],
            self.xy[index],
            self.valid[index],
            self.score[index],
            self.head_size[index],
        )

    @staticmethod
    def concatenate(parts: Sequence['PersonArrays']) -> 'PersonArrays':
        """Concatenate persons (frame indices are kept as they are).

        Args:
            parts (Sequence[PersonArrays]): Person sets.

        Returns:
            PersonArrays: All persons, in the given order.
        """
        if not parts:
            return PersonArrays.empty()
        return PersonArrays(
            np.concatenate([p.frame for p in parts]),
            np.concatenate([p.xy for p in parts]),
            np.concatenate([p.valid for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.concatenate([p.head_size for p in parts]),
        )


@dataclass
class PoseTrackVideo:
    """One per-video PoseTrack file, parsed.

    Attributes:
        source (str): File name (or a description) used in error messages.
        format (str): ``'pt17'`` (``annolist``) or ``'pt18'`` (``images``/``annotations``).
        frame_names (List[str]): Image file name of each frame (``''`` if absent).
        image_ids (List[Any]): PoseTrack18 image ``id`` of each frame (None for PT17).
        num_rects (np.ndarray): ``(F,)`` number of person entries of each frame, before
            any filtering (a GT frame is evaluated iff this is > 0).
        ignore_regions (List[List[np.ndarray]]): Per frame, the ignore polygons as
            ``(K, 2)`` float64 arrays.
        persons (PersonArrays): All persons, sorted by frame (stable: the file's order
            within a frame).
        track_ids (List[Any]): Track id of each person (None where absent).
    """

    source: str
    format: str
    frame_names: List[str]
    image_ids: List[Any]
    num_rects: np.ndarray
    ignore_regions: List[List[np.ndarray]]
    persons: PersonArrays
    track_ids: List[Any] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        """int: Number of frames listed in the file."""
        return len(self.frame_names)


# ----------------------------------------------------------------------------------- parsing
def _first(value: Any) -> Any:
    """poseval stores scalars as 1-element lists (``{"x": [3.0]}``); accept both."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) else None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _float_matrix(
    rows: Sequence[Any], width: int, source: str, what: str, label_of: Callable[[int], str]
) -> np.ndarray:
    """Stack equally long numeric lists into an ``(N, width)`` float64 array.

    Args:
        rows (Sequence[Any]): One list per record.
        width (int): Required length of every list.
        source (str): File name for error messages.
        what (str): Name of the field for error messages.
        label_of (Callable[[int], str]): Description of row ``k`` for error messages.

    Returns:
        np.ndarray: ``(N, width)`` float64 array.
    """
    if not len(rows):
        return np.zeros((0, width), np.float64)
    try:
        arr = np.asarray(rows, dtype=np.float64)
        # NaN may come from None (numpy converts it): let the check below name it
        if arr.ndim == 2 and arr.shape[1] == width and not np.isnan(arr).any():
            return arr
    except (TypeError, ValueError):
        arr = None
    for k, row in enumerate(rows):
        if isinstance(row, (list, tuple)) and len(row) != width:
            raise PoseTrackFormatError(
                f'{source}: {label_of(k)}: "{what}" must be a list of '
                f'{width} numbers, got {len(row)} values'
            )
        if not isinstance(row, (list, tuple)) or not all(_is_number(v) for v in row):
            shown = repr(row) if len(repr(row)) < 120 else repr(row)[:117] + '...'
            raise PoseTrackFormatError(
                f'{source}: {label_of(k)}: "{what}" must be a list of {width} numbers, got {shown}'
            )
    if arr is not None and arr.ndim == 2 and arr.shape[1] == width:
        return arr  # genuine NaN values; callers decide
    raise PoseTrackFormatError(f'{source}: "{what}" could not be read as numbers')


def _polygon(xs: Any, ys: Any, source: str, label: str) -> np.ndarray:
    """Build a ``(K, 2)`` polygon from x and y lists."""
    if not (isinstance(xs, (list, tuple)) and isinstance(ys, (list, tuple)) and len(xs) == len(ys)):
        raise PoseTrackFormatError(
            f'{source}: {label}: ignore region x and y must be lists of the same length'
        )
    try:
        poly = np.stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)], axis=1)
    except (TypeError, ValueError):
        raise PoseTrackFormatError(
            f'{source}: {label}: ignore region coordinates must be numbers'
        ) from None
    return poly.reshape(-1, 2)


def _check_track_ids(video: PoseTrackVideo) -> None:
    """Raise if a prediction lacks ``track_id`` or repeats one within a frame (as poseval)."""
    frames = video.persons.frame
    seen = {}
    for i, tid in enumerate(video.track_ids):
        f = int(frames[i])
        if tid is None:
            raise PoseTrackFormatError(
                f'{video.source}: a prediction in frame {f} ({video.frame_names[f]!r}) has no '
                '"track_id" (required by the PoseTrack evaluation)'
            )
        try:
            key = (f, tid)
            hash(key)
        except TypeError:
            key = (f, repr(tid))
        if key in seen:
            raise PoseTrackFormatError(
                f'{video.source}: track_id {tid!r} appears twice in frame {f} '
                f'({video.frame_names[f]!r}); poseval requires unique ids per frame'
            )
        seen[key] = i


def _parse_pt18(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """Parse a PoseTrack18 ``images``/``annotations`` file (poseval's PT18 conversion)."""
    images = data.get('images')
    if not isinstance(images, list):
        raise PoseTrackFormatError(f'{source}: "images" must be a list of image records')
    names, ids, regions = [], [], []
    id_to_frame = {}
    for i, img in enumerate(images):
        if not isinstance(img, dict) or 'id' not in img:
            raise PoseTrackFormatError(f'{source}: images[{i}] must be a dict with an "id"')
        if img['id'] in id_to_frame:
            raise PoseTrackFormatError(f'{source}: images[{i}]: duplicate image id {img["id"]!r}')
        id_to_frame[img['id']] = i
        ids.append(img['id'])
        names.append(str(img.get('file_name', '')))
        polys = []
        rx, ry = img.get('ignore_regions_x'), img.get('ignore_regions_y')
        if is_gt and rx:
            if not isinstance(rx, list) or not isinstance(ry, list) or len(rx) != len(ry):
                raise PoseTrackFormatError(
                    f'{source}: images[{i}]: "ignore_regions_x" and "ignore_regions_y" must be '
                    'lists with one entry per region'
                )
            polys = [
                _polygon(xs, ys, source, f'images[{i}] region {r}')
                for r, (xs, ys) in enumerate(zip(rx, ry))
            ]
        regions.append(polys)

    # keypoint names -> poseval ids (poseval builds the same table from the categories)
    kpt_names = list(PT18_KEYPOINTS)
    cats = data.get('categories')
    if isinstance(cats, list) and cats and isinstance(cats[0], dict) and 'keypoints' in cats[0]:
        kpt_names = list(cats[0]['keypoints'])
    table = np.array(
        [POSEVAL_JOINTS.index(n) if n in POSEVAL_JOINTS else -1 for n in kpt_names], dtype=np.int64
    )
    missing = [n for n in POSEVAL_JOINTS if n not in kpt_names]
    if missing:
        raise PoseTrackFormatError(
            f'{source}: categories[0]["keypoints"] lacks the PoseTrack joints {missing}'
        )
    num_kpts = len(kpt_names)

    anns = data.get('annotations', [])
    if anns is None:
        anns = []
    if not isinstance(anns, list):
        raise PoseTrackFormatError(f'{source}: "annotations" must be a list')
    n = len(anns)
    frame = np.empty(n, np.int64)
    track_ids = []
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise PoseTrackFormatError(f'{source}: annotations[{i}] must be a dict')
        try:
            frame[i] = id_to_frame[ann.get('image_id')]
        except (KeyError, TypeError):
            raise PoseTrackFormatError(
                f'{source}: annotations[{i}]: image_id {ann.get("image_id")!r} is not listed in '
                '"images"'
            ) from None
        track_ids.append(ann.get('track_id'))

    def label(i: int) -> str:
        return f'annotations[{i}] (image {names[frame[i]]!r})'

    persons = PersonArrays.empty(n)
    persons.frame = frame
    has_kpts = np.array(['keypoints' in a and a['keypoints'] is not None for a in anns], bool)
    if not is_gt and n and not has_kpts.all():
        i = int(np.flatnonzero(~has_kpts)[0])
        raise PoseTrackFormatError(f'{source}: {label(i)} has no "keypoints"')
    kidx = np.flatnonzero(has_kpts)
    kpts = _float_matrix(
        [anns[i]['keypoints'] for i in kidx],
        3 * num_kpts,
        source,
        'keypoints',
        lambda k: label(kidx[k]),
    ).reshape(-1, num_kpts, 3)
    sel = table >= 0
    jid = table[sel]
    sub = kpts[:, sel]
    # poseval's converter drops a keypoint stored as (0, 0) with visibility 0
    absent = (sub[..., 0] == 0) & (sub[..., 1] == 0) & (sub[..., 2] == 0)
    persons.xy[kidx[:, None], jid[None, :]] = sub[..., :2]
    persons.valid[kidx[:, None], jid[None, :]] = ~absent

    if is_gt:
        # head box -> head size: x2 = x1 + w like poseval's converter,
        # then 0.6 * ||(x2 - x1, y2 - y1)||
        hb_idx = [i for i in range(n) if anns[i].get('bbox_head') is not None]
        hb = _float_matrix(
            [anns[i]['bbox_head'] for i in hb_idx],
            4,
            source,
            'bbox_head',
            lambda k: label(hb_idx[k]),
        )
        if len(hb_idx):
            dx = (hb[:, 0] + hb[:, 2]) - hb[:, 0]
            dy = (hb[:, 1] + hb[:, 3]) - hb[:, 1]
            persons.head_size[hb_idx] = HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)
    else:
        bad = ~np.isfinite(persons.xy).all(axis=2) & persons.valid
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            raise PoseTrackFormatError(f'{source}: {label(i)}: "keypoints" contain NaN/inf')
        sc_list = [a.get('scores') for a in anns]
        good = np.array([isinstance(s, (list, tuple)) and len(s) > 0 for s in sc_list], bool)
        gidx = np.flatnonzero(good)
        sc = _float_matrix(
            [sc_list[i] for i in gidx], num_kpts, source, 'scores', lambda k: label(gidx[k])
        )
        if len(gidx) and not np.isfinite(sc[:, sel]).all():
            i = int(gidx[np.flatnonzero(~np.isfinite(sc[:, sel]).all(axis=1))[0]])
            raise PoseTrackFormatError(f'{source}: {label(i)}: "scores" contain NaN/inf')
        persons.score[gidx[:, None], jid[None, :]] = sc[:, sel]
        if len(gidx) < n:
            logger.warning(
                '%s: %d predictions have no per-joint "scores"; using poseval\'s fallback score %s',
                source,
                n - len(gidx),
                MIN_SCORE,
            )

    num_rects = np.bincount(frame, minlength=len(images)).astype(np.int64)
    video = PoseTrackVideo(source, 'pt18', names, ids, num_rects, regions, persons, track_ids)
    _sort_by_frame(video)
    return video


def _parse_pt17(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """Parse a PoseTrack17 ``annolist`` file (poseval's native format)."""
    annolist = data.get('annolist')
    if not isinstance(annolist, list):
        raise PoseTrackFormatError(f'{source}: "annolist" must be a list of frames')
    names, regions, num_rects = [], [], []
    p_frame, track_ids, heads, where = [], [], [], []
    all_points, pt_person = [], []
    person = 0
    for f, fr in enumerate(annolist):
        if not isinstance(fr, dict):
            raise PoseTrackFormatError(f'{source}: annolist[{f}] must be a dict')
        image = _first(fr.get('image'))
        names.append(str(image.get('name', '')) if isinstance(image, dict) else '')
        polys = []
        if is_gt and fr.get('ignore_regions'):
            for r, reg in enumerate(fr['ignore_regions']):
                pts = reg.get('point', []) if isinstance(reg, dict) else None
                if not isinstance(pts, list):
                    raise PoseTrackFormatError(
                        f'{source}: annolist[{f}] ignore region {r} must have a "point" list'
                    )
                try:
                    xs = [_first(p['x']) for p in pts]
                    ys = [_first(p['y']) for p in pts]
                except (KeyError, TypeError):
                    raise PoseTrackFormatError(
                        f'{source}: annolist[{f}] ignore region {r}: points need "x" and "y"'
                    ) from None
                polys.append(_polygon(xs, ys, source, f'annolist[{f}] region {r}'))
        regions.append(polys)
        rects = fr.get('annorect') or []
        if not isinstance(rects, list):
            raise PoseTrackFormatError(f'{source}: annolist[{f}]["annorect"] must be a list')
        num_rects.append(len(rects))
        for r, rect in enumerate(rects):
            label = f'annolist[{f}] (image {names[-1]!r}) annorect[{r}]'
            if not isinstance(rect, dict):
                raise PoseTrackFormatError(f'{source}: {label} must be a dict')
            p_frame.append(f)
            track_ids.append(_first(rect['track_id']) if 'track_id' in rect else None)
            if is_gt:
                box = [_first(rect.get(k)) for k in ('x1', 'y1', 'x2', 'y2')]
                heads.append(box if all(_is_number(v) for v in box) else None)
            annopoints = rect.get('annopoints')
            if isinstance(annopoints, list):
                annopoints = annopoints[0] if annopoints else None
            points = annopoints.get('point') if isinstance(annopoints, dict) else None
            if points is None:
                points = []
            if not isinstance(points, list):
                raise PoseTrackFormatError(f'{source}: {label}: "point" must be a list')
            all_points.extend(points)
            pt_person.extend([person] * len(points))
            where.append(label)
            person += 1

    persons = PersonArrays.empty(person)
    persons.frame = np.asarray(p_frame, np.int64).reshape(-1)
    if pt_person:
        pp = np.asarray(pt_person, np.int64)
        pts = _pt17_points(all_points, pp, where, source, is_gt)  # (M, 4): id, x, y, score
        pid = pts[:, 0]
        ok = (pid >= 0) & (pid < NUM_JOINTS) & (pid == np.floor(pid))  # also drops id None
        pp, pid, pts = pp[ok], pid[ok].astype(np.int64), pts[ok, 1:]
        # poseval takes the first point with a given id (getPointGTbyID)
        _, first = np.unique(pp * NUM_JOINTS + pid, return_index=True)
        pp, pid, pts = pp[first], pid[first], pts[first]
        persons.xy[pp, pid] = pts[:, :2]
        persons.score[pp, pid] = pts[:, 2]
        persons.valid[pp, pid] = True
    if is_gt and heads:
        known = np.array([h is not None for h in heads], bool)
        if known.any():
            hb = np.asarray([h for h in heads if h is not None], np.float64)
            dx, dy = hb[:, 2] - hb[:, 0], hb[:, 3] - hb[:, 1]
            persons.head_size[known] = HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)
    video = PoseTrackVideo(
        source,
        'pt17',
        names,
        [None] * len(names),
        np.asarray(num_rects, np.int64).reshape(-1),
        regions,
        persons,
        track_ids,
    )
    _sort_by_frame(video)
    return video


def _check_gt_heads(video: PoseTrackVideo) -> None:
    """Raise if a GT person has annotated joints but no head box (PCKh needs it)."""
    p = video.persons
    bad = p.valid.any(axis=1) & ~(np.isfinite(p.head_size))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        f = int(p.frame[i])
        what = '"bbox_head"' if video.format == 'pt18' else '"x1", "y1", "x2", "y2" (head box)'
        raise PoseTrackFormatError(
            f'{video.source}: a GT person in frame {f} ({video.frame_names[f]!r}) has annotated '
            f'joints but no {what}, which the head-size normalisation needs'
        )


_NO_SCORE = [MIN_SCORE]


def _pt17_points(
    points: List[Any], person: np.ndarray, where: List[str], source: str, is_gt: bool
) -> np.ndarray:
    """Convert PT17 point dicts to an ``(M, 4)`` array of ``id, x, y, score``.

    Fast path: numpy converts the ``[value]`` lists in bulk. On any irregularity the
    points are checked one by one (scalars instead of 1-element lists are accepted),
    which names the offending point. A missing ``id`` value (None) becomes NaN (the point
    is ignored, as in poseval); a missing score becomes poseval's ``MIN_SCORE``.

    Args:
        points (List[Any]): The point dicts of all persons.
        person (np.ndarray): ``(M,)`` person index of each point.
        where (List[str]): Description of each person for error messages.
        source (str): File name for error messages.
        is_gt (bool): Predictions must have finite coordinates and scores.

    Returns:
        np.ndarray: ``(M, 4)`` float64.
    """
    out = None
    try:
        cols = [
            np.asarray([p['id'] for p in points], np.float64),
            np.asarray([p['x'] for p in points], np.float64),
            np.asarray([p['y'] for p in points], np.float64),
            np.asarray([p.get('score', _NO_SCORE) for p in points], np.float64),
        ]
        if all(c.shape in ((len(points),), (len(points), 1)) for c in cols):
            out = np.stack([c.reshape(-1) for c in cols], axis=1)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        pass
    if out is None:
        out = np.empty((len(points), 4), np.float64)
        for k, p in enumerate(points):
            label = f'{where[person[k]]} point {k - int(np.searchsorted(person, person[k]))}'
            try:
                vals = [
                    _first(p['id']),
                    _first(p['x']),
                    _first(p['y']),
                    _first(p['score']) if 'score' in p else MIN_SCORE,
                ]
            except (KeyError, TypeError):
                raise PoseTrackFormatError(f'{source}: {label}: needs "id", "x" and "y"') from None
            if vals[0] is None:
                vals[0] = np.nan
            if not all(_is_number(v) for v in vals):
                raise PoseTrackFormatError(
                    f'{source}: {label}: id/x/y/score must be numbers, got {p!r}'
                )
            out[k] = vals
    if not is_gt:
        bad = ~np.isfinite(out[:, 1:]).all(axis=1) & np.isfinite(out[:, 0])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise PoseTrackFormatError(
                f'{source}: {where[person[k]]}: a point has non-finite x/y/score: {points[k]!r}'
            )
    return out


def _sort_by_frame(video: PoseTrackVideo) -> None:
    """Order persons by frame, keeping the file's order within a frame."""
    order = np.argsort(video.persons.frame, kind='stable')
    if len(order) and (np.diff(video.persons.frame) < 0).any():
        video.persons = video.persons.take(order)
        video.track_ids = [video.track_ids[i] for i in order]


def detect_format(data: Any) -> str:
    """Return ``'pt17'`` for an ``annolist`` file, ``'pt18'`` for an ``images`` file.

    Args:
        data (Any): Decoded JSON content.

    Returns:
        str: ``'pt17'``, ``'pt18'`` or ``''`` if neither.
    """
    if isinstance(data, dict):
        if 'annolist' in data:
            return 'pt17'
        if 'images' in data:
            return 'pt18'
    return ''


def parse_posetrack_video(
    data: Any, source: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Parse the content of one per-video PoseTrack file.

    Args:
        data (Any): Decoded JSON (``{"annolist": [...]}`` or ``{"images": [...], ...}``).
        source (str): File name used in error messages.
        is_gt (bool): Ground truth (reads head boxes and ignore regions) or predictions
            (requires ``track_id`` unique per frame, numeric keypoints and scores).
        expected_format (str, optional): ``'pt17'`` or ``'pt18'`` to insist on one
            format; None accepts both (like poseval). Defaults to None.

    Returns:
        PoseTrackVideo: The parsed video.
    """
    fmt = detect_format(data)
    if not fmt:
        raise PoseTrackFormatError(
            f'{source}: not a PoseTrack file (expected an "annolist" (PoseTrack17) or an '
            '"images" (PoseTrack18) key)'
        )
    if expected_format not in (None, 'auto') and fmt != expected_format:
        raise PoseTrackFormatError(
            f'{source}: is in {fmt} format but format={expected_format!r} was requested'
        )
    video = _parse_pt17(data, source, is_gt) if fmt == 'pt17' else _parse_pt18(data, source, is_gt)
    if is_gt:
        _check_gt_heads(video)
    else:
        _check_track_ids(video)
    return video


def load_posetrack_file(
    path: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Read and parse one per-video PoseTrack JSON file.

    Args:
        path (str): The JSON file.
        is_gt (bool): See :func:`parse_posetrack_video`.
        expected_format (str, optional): See :func:`parse_posetrack_video`.

    Returns:
        PoseTrackVideo: The parsed video.
    """
    with _gc_paused():
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise PoseTrackFormatError(f'{path}: invalid JSON ({e})') from None
        return parse_posetrack_video(data, path, is_gt, expected_format)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector (JSON decoding creates many containers).

    Decoding a PoseTrack17 file creates hundreds of thousands of small dicts/lists, which
    trigger repeated collections that traverse all of them: pausing the collector makes
    loading ~4x faster. Nothing created here is cyclic garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def list_gt_files(gt_dir: str) -> List[str]:
    """Return the sorted per-video ``*.json`` files of a GT folder.

    Args:
        gt_dir (str): Folder of per-video GT files.

    Returns:
        List[str]: Sorted file paths.
    """
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(f'GT folder {gt_dir} does not exist')
    files = sorted(glob.glob(osp.join(gt_dir, '*.json')))
    if not files:
        raise FileNotFoundError(f'GT folder {gt_dir} contains no *.json files')
    return files


def load_gt_dir(gt_dir: str, expected_format: Optional[str] = None) -> List[PoseTrackVideo]:
    """Load every per-video GT file of a folder (sorted by file name).

    Args:
        gt_dir (str): Folder of per-video GT files.
        expected_format (str, optional): ``'pt17'``/``'pt18'`` or None/``'auto'``.

    Returns:
        List[PoseTrackVideo]: The parsed GT videos.
    """
    return [load_posetrack_file(p, True, expected_format) for p in list_gt_files(gt_dir)]


def load_pred_dir(pred_dir: str, gt_videos: Sequence[PoseTrackVideo]) -> List[PoseTrackVideo]:
    """Load the prediction file of every GT video (same file name, as in poseval).

    Args:
        pred_dir (str): Folder of per-video prediction files.
        gt_videos (Sequence[PoseTrackVideo]): The GT videos (their ``source`` names the file).

    Returns:
        List[PoseTrackVideo]: One prediction video per GT video.
    """
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'prediction folder {pred_dir} does not exist')
    preds = []
    for gt in gt_videos:
        path = osp.join(pred_dir, osp.basename(gt.source))
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'prediction file {path} does not exist (one is required for every GT video; '
                f'GT: {gt.source})'
            )
        preds.append(load_posetrack_file(path, False))
    return preds


# ------------------------------------------------------------------------------- evaluation
def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Strict point-in-polygon test (shapely/GEOS ``Polygon.contains(Point)``).

    Even-odd ray crossing with GEOS's ``RayCrossingCounter`` conventions: a point on
    an edge or a vertex is on the boundary and therefore *not* contained.

    Args:
        points (np.ndarray): ``(M, 2)`` points.
        polygon (np.ndarray): ``(K, 2)`` vertices (closed implicitly).

    Returns:
        np.ndarray: ``(M,)`` bool, True where the point lies strictly inside.
    """
    return points_in_polygons(points, [polygon])


def points_in_polygons(points: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """Whether each point lies strictly inside at least one of the polygons.

    All polygons are tested at once on the (points x edges) grid. Polygons with fewer
    than 3 vertices have no interior and are skipped.

    Args:
        points (np.ndarray): ``(M, 2)`` points.
        polygons (Sequence[np.ndarray]): ``(K_i, 2)`` vertex arrays.

    Returns:
        np.ndarray: ``(M,)`` bool.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in polygons]
    polys = [p for p in polys if len(p) >= 3]
    inside = np.zeros(len(points), bool)
    if not polys or not len(points):
        return inside
    a = np.concatenate(polys)
    b = np.concatenate([np.roll(p, -1, axis=0) for p in polys])
    starts = np.cumsum([0] + [len(p) for p in polys[:-1]])
    # only points inside some polygon's bounding box can be inside or on it
    lo = np.stack([p.min(0) for p in polys])
    hi = np.stack([p.max(0) for p in polys])
    cand = ((points[:, None] >= lo[None]) & (points[:, None] <= hi[None])).all(-1).any(-1)
    if not cand.any():
        return inside
    px, py = points[cand, 0:1], points[cand, 1:2]
    ax, ay, bx, by = a[None, :, 0], a[None, :, 1], b[None, :, 0], b[None, :, 1]
    not_left = ~((ax < px) & (bx < px))
    at_vertex = (bx == px) & (by == py)
    horizontal = (ay == py) & (by == py)
    on_horizontal = horizontal & (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
    straddle = ((ay > py) & (by <= py)) | ((by > py) & (ay <= py))
    orient = np.sign((bx - ax) * (py - by) - (by - ay) * (px - bx))
    orient = np.where(by < ay, -orient, orient)
    boundary = not_left & (at_vertex | on_horizontal | (straddle & (orient == 0)))
    crossing = not_left & straddle & (orient > 0)
    n_cross = np.add.reduceat(crossing.astype(np.int64), starts, axis=1)
    on_boundary = np.maximum.reduceat(boundary.astype(np.int8), starts, axis=1) > 0
    inside[cand] = ((n_cross % 2 == 1) & ~on_boundary).any(axis=1)
    return inside


def _apply_ignore_regions(
    persons: PersonArrays, frame_regions: Dict[int, List[np.ndarray]]
) -> None:
    """Mark joints inside the ignore regions of their frame as absent (in place)."""
    if not frame_regions or not len(persons):
        return
    frames = persons.frame  # sorted
    keys = np.fromiter(frame_regions.keys(), np.int64, len(frame_regions))
    lo = np.searchsorted(frames, keys, 'left')
    hi = np.searchsorted(frames, keys, 'right')
    for f, a, b in zip(keys.tolist(), lo.tolist(), hi.tolist()):
        if a == b:
            continue
        polys = frame_regions[f]
        idx = np.arange(a, b)
        valid = persons.valid[idx]
        if not valid.any():
            continue
        pts = persons.xy[idx][valid]
        inside = points_in_polygons(pts, polys)
        if inside.any():
            valid[valid] = ~inside
            persons.valid[idx] = valid


def _segment_first_argmax(
    values: np.ndarray, seg_ids: np.ndarray, starts: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Per contiguous segment, the maximum and the position of its first occurrence.

    Args:
        values (np.ndarray): ``(P,)`` values, segments contiguous.
        seg_ids (np.ndarray): ``(P,)`` segment number of each value (0..S-1, sorted).
        starts (np.ndarray): ``(S,)`` start position of each (non-empty) segment.

    Returns:
        tuple: ``(max, position)`` arrays of shape ``(S,)``; like ``np.argmax``, ties go
        to the first position.
    """
    seg_max = np.maximum.reduceat(values, starts)
    is_max = np.flatnonzero(values == seg_max[seg_ids])
    _, first = np.unique(seg_ids[is_max], return_index=True)
    return seg_max, is_max[first]


_PAIR_CHUNK = 1 << 14


def _pckh_match(
    gt: PersonArrays,
    pred: PersonArrays,
    pair_gt: np.ndarray,
    pair_pred: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """``(pairs, 15)`` bool: both joints present and ``dist / head_size <= threshold``.

    Computed in chunks of pairs so that the float temporaries stay small.
    """
    match = np.empty((len(pair_gt), NUM_JOINTS), bool)
    gx, gy, px, py = gt.xy[..., 0], gt.xy[..., 1], pred.xy[..., 0], pred.xy[..., 1]
    with np.errstate(divide='ignore', invalid='ignore'):
        for start in range(0, len(pair_gt), _PAIR_CHUNK):
            ig = pair_gt[start : start + _PAIR_CHUNK]
            ip = pair_pred[start : start + _PAIR_CHUNK]
            dx = px[ip] - gx[ig]
            dy = py[ip] - gy[ig]
            dist = np.sqrt(dx * dx + dy * dy) / gt.head_size[ig][:, None]
            match[start : start + _PAIR_CHUNK] = (pred.valid[ip] & gt.valid[ig]) & (
                dist <= threshold
            )
    return match


def assign_predictions(
    gt: PersonArrays, pred: PersonArrays, num_frames: int, threshold: float = PCKH_THRESHOLD
) -> np.ndarray:
    """poseval's greedy person assignment and per-joint true-positive labels.

    For all frames at once: ``pck[i, j]`` = fraction of GT ``j``'s joints matched by
    prediction ``i`` (PCKh, ``dist / head_size <= threshold``); each prediction keeps
    only its best GT (first on ties), then each GT takes the prediction with the highest
    remaining pck (first on ties; 0 = unassigned). A joint of an assigned prediction is
    a true positive iff it matches its GT's joint.

    Args:
        gt (PersonArrays): GT persons sorted by frame.
        pred (PersonArrays): Predicted persons sorted by frame.
        num_frames (int): Number of frames (frame indices are ``0..num_frames-1``).
        threshold (float): PCKh threshold. Defaults to 0.5.

    Returns:
        np.ndarray: ``(N_pred, 15)`` bool labels.
    """
    labels = np.zeros((len(pred), NUM_JOINTS), bool)
    if not len(gt) or not len(pred):
        return labels
    gt_count = np.bincount(gt.frame, minlength=num_frames)
    gt_first = np.cumsum(gt_count) - gt_count
    n_pairs = gt_count[pred.frame]
    total = int(n_pairs.sum())
    if total == 0:
        return labels
    pair_pred = np.repeat(np.arange(len(pred)), n_pairs)
    pair_start = np.cumsum(n_pairs) - n_pairs
    pair_gt = gt_first[pred.frame][pair_pred] + (np.arange(total) - pair_start[pair_pred])

    match = _pckh_match(gt, pred, pair_gt, pair_pred, threshold)
    n_gt_joints = gt.valid.sum(axis=1)[pair_gt]
    pck = match.sum(axis=1).astype(np.float64)
    pck = np.where(n_gt_joints > 0, pck / np.maximum(n_gt_joints, 1), pck)

    # 1) every prediction keeps only its best GT
    has_pairs = np.flatnonzero(n_pairs > 0)
    seg_of_pair = np.repeat(np.arange(len(has_pairs)), n_pairs[has_pairs])
    _, best = _segment_first_argmax(pck, seg_of_pair, pair_start[has_pairs])
    pck_kept = np.zeros_like(pck)
    pck_kept[best] = pck[best]
    # 2) every GT takes the prediction with the highest remaining pck
    order = np.argsort(pair_gt, kind='stable')  # by GT, predictions in ascending order
    gts, gstart = np.unique(pair_gt[order], return_index=True)
    gseg = np.repeat(np.arange(len(gts)), np.diff(np.append(gstart, total)))
    gmax, gpos = _segment_first_argmax(pck_kept[order], gseg, gstart)
    chosen = order[gpos[gmax > 0]]
    labels[pair_pred[chosen]] = match[chosen]
    return labels


def average_precision(
    scores: np.ndarray, labels: np.ndarray, valid: np.ndarray, num_gt: np.ndarray
) -> Dict[str, np.ndarray]:
    """Per-joint precision/recall curves and VOC all-point AP, all joints at once.

    Per joint, the predicted points (``valid``) are ranked by descending score (ties:
    later points first, i.e. ``argsort(kind='stable')[::-1]``); recall = TP / ``num_gt``,
    precision = TP / rank; AP is the area under the monotone precision envelope, x 100.
    Joints without predictions get 0 (as in poseval), joints without GT but with
    predictions NaN.

    Args:
        scores (np.ndarray): ``(N, 15)`` scores.
        labels (np.ndarray): ``(N, 15)`` bool true-positive labels.
        valid (np.ndarray): ``(N, 15)`` bool, which points are predicted.
        num_gt (np.ndarray): ``(15,)`` number of annotated GT joints.

    Returns:
        dict: ``ap``, ``pre``, ``rec`` arrays of shape ``(16,)`` (15 joints + total).
    """
    num_gt = np.asarray(num_gt, np.float64)
    jv = valid.T
    joint = np.broadcast_to(np.arange(NUM_JOINTS)[:, None], jv.shape)[jv]
    sc = scores.T[jv]
    lb = labels.T[jv]
    counts = jv.sum(axis=1)
    seg_start = np.cumsum(counts) - counts
    local = np.arange(len(joint)) - seg_start[joint]
    order = np.lexsort((-local, -sc, joint))  # joint, score desc, later point first
    rank = np.arange(len(order)) - seg_start[joint[order]]
    width = max(int(counts.max()) if len(counts) else 0, 1)
    tp = np.zeros((NUM_JOINTS, width), np.float64)
    tp[joint[order], rank] = lb[order]
    npos = np.cumsum(tp, axis=1)
    present = np.arange(width)[None, :] < counts[:, None]
    with np.errstate(divide='ignore', invalid='ignore'):
        recall = npos / num_gt[:, None]
        precision = np.where(present, npos / np.arange(1, width + 1)[None, :], 0.0)
    zeros = np.zeros((NUM_JOINTS, 1))
    mrec = np.concatenate([zeros, recall, np.ones((NUM_JOINTS, 1))], axis=1)
    mpre = np.concatenate([zeros, precision, zeros], axis=1)
    mpre = np.maximum.accumulate(mpre[:, ::-1], axis=1)[:, ::-1]
    changed = mrec[:, 1:] != mrec[:, :-1]
    with np.errstate(invalid='ignore'):
        area = np.where(changed, (mrec[:, 1:] - mrec[:, :-1]) * mpre[:, 1:], 0.0)
    ap = np.sum(area, axis=1) * 100
    last = np.maximum(counts - 1, 0)
    pre = precision[np.arange(NUM_JOINTS), last] * 100
    rec = recall[np.arange(NUM_JOINTS), last] * 100
    empty = counts == 0
    ap[empty], pre[empty], rec[empty] = 0.0, 0.0, 0.0

    def _with_total(v):
        ok = ~np.isnan(v)
        total = v[ok].mean() if ok.any() else np.nan
        return np.append(v, total)

    return dict(ap=_with_total(ap), pre=_with_total(pre), rec=_with_total(rec))


def evaluate_videos(
    gt_videos: Sequence[PoseTrackVideo], pred_videos: Sequence[PoseTrackVideo]
) -> Dict[str, Any]:
    """Evaluate predictions against GT, video by video (paired by position).

    Args:
        gt_videos (Sequence[PoseTrackVideo]): GT videos.
        pred_videos (Sequence[PoseTrackVideo]): One prediction video per GT video, with
            the same number of frames.

    Returns:
        dict: ``ap``, ``pre``, ``rec`` (``(16,)`` arrays: 15 poseval joints + total),
        ``num_gt`` (``(15,)``), ``num_frames`` (evaluated frames), ``num_gt_persons``
        and ``num_pred_persons`` (in evaluated frames).
    """
    if len(gt_videos) != len(pred_videos):
        raise ValueError(f'{len(gt_videos)} GT videos but {len(pred_videos)} prediction videos')
    gt_parts, pred_parts, regions = [], [], {}
    offset = 0
    for gt, pred in zip(gt_videos, pred_videos):
        if pred.num_frames != gt.num_frames:
            raise PoseTrackFormatError(
                f'{pred.source}: {pred.num_frames} prediction frames but the GT file '
                f'{gt.source} has {gt.num_frames} frames (they are paired by position)'
            )
        kept = gt.num_rects > 0  # poseval drops GT frames without person entries
        new_index = np.cumsum(kept) - 1 + offset
        for f in np.flatnonzero(kept):
            if gt.ignore_regions[f]:
                regions[int(new_index[f])] = gt.ignore_regions[f]
        for src, parts in ((gt.persons, gt_parts), (pred.persons, pred_parts)):
            sel = kept[src.frame]
            part = src.take(sel)
            part.frame = new_index[part.frame]
            parts.append(part)
        offset += int(kept.sum())
    gt_all = PersonArrays.concatenate(gt_parts)
    pred_all = PersonArrays.concatenate(pred_parts)
    _apply_ignore_regions(gt_all, regions)
    _apply_ignore_regions(pred_all, regions)

    labels = assign_predictions(gt_all, pred_all, offset)
    num_gt = gt_all.valid.sum(axis=0)
    result = average_precision(pred_all.score, labels, pred_all.valid, num_gt)
    result.update(
        num_gt=num_gt, num_frames=offset, num_gt_persons=len(gt_all), num_pred_persons=len(pred_all)
    )
    return result


def evaluate_dirs(gt_dir: str, pred_dir: str, gt_format: Optional[str] = None) -> Dict[str, Any]:
    """Evaluate a folder of per-video prediction files against a GT folder.

    Args:
        gt_dir (str): Per-video GT files (PoseTrack17 ``annolist`` or PoseTrack18).
        pred_dir (str): Prediction files with the same names (either format).
        gt_format (str, optional): ``'pt17'``/``'pt18'`` to insist on a GT format;
            None or ``'auto'`` accepts both. Defaults to None.

    Returns:
        dict: See :func:`evaluate_videos`.
    """
    gt_videos = load_gt_dir(gt_dir, gt_format)
    pred_videos = load_pred_dir(pred_dir, gt_videos)
    return evaluate_videos(gt_videos, pred_videos)


# ---------------------------------------------------------------------------------- reporting
def summarize(ap: np.ndarray) -> 'OrderedDict[str, float]':
    """Group per-joint APs like poseval's table (``eval_helpers.getCum``).

    Args:
        ap (np.ndarray): ``(16,)`` APs (15 joints + total).

    Returns:
        OrderedDict: ``Head, Shou, Elb, Wri, Hip, Knee, Ankl, Total`` -> AP. Groups are
        plain means of left/right (Head: head_top, neck, nose); Total is the 15-joint mean.
    """
    ap = np.asarray(ap, np.float64)
    out = OrderedDict((name, float(ap[list(idx)].mean())) for name, idx in JOINT_GROUPS.items())
    out['Total'] = float(ap[NUM_JOINTS])
    return out


def format_table(
    rows: Union[np.ndarray, Sequence[Tuple[str, np.ndarray]]], name: str = 'Ours'
) -> str:
    """Format APs in the layout of the paper's Table 1.

    Args:
        rows: ``(16,)`` APs, or a list of ``(method name, (16,) APs)``.
        name (str): Method name when a single AP array is given. Defaults to 'Ours'.

    Returns:
        str: The table (header line + one line per method, one decimal).
    """
    if isinstance(rows, np.ndarray) or (len(rows) and not isinstance(rows[0], tuple)):
        rows = [(name, np.asarray(rows))]
    width = max([len('Method')] + [len(n) for n, _ in rows])
    header = f'{"Method":<{width}}' + ''.join(f'  {c:>8}' for c in TABLE1_COLUMNS)
    lines = [header, '-' * len(header)]
    for n, ap in rows:
        vals = summarize(ap).values()
        lines.append(f'{n:<{width}}' + ''.join(f'  {v:>8.1f}' for v in vals))
    return '\n'.join(lines)


def metrics_to_json(result: Dict[str, Any]) -> Dict[str, Any]:
    """poseval's ``total_AP_metrics.json`` layout.

    Args:
        result (dict): Output of :func:`evaluate_videos`.

    Returns:
        dict: ``{"ap": [16], "pre": [16], "rec": [16], "names": {"0": ..., "15": "total"}}``.
    """
    return dict(
        ap=[float(v) for v in result['ap']],
        pre=[float(v) for v in result['pre']],
        rec=[float(v) for v in result['rec']],
        names={str(i): n for i, n in enumerate(POSEVAL_NAMES)},
    )
