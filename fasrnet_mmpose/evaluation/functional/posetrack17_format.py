# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack17 ``annolist`` files (poseval's native format): reader and writer.

A frame is ``{"image": [{"name": ...}], "annorect": [...], "ignore_regions": [...]}``; a person
(``annorect``) has ``track_id``, the head box ``x1, y1, x2, y2`` (GT), a box ``score``
(predictions) and ``annopoints[0].point``: ``{"id": [j], "x": [...], "y": [...], "score": [...]}``
with ``j`` a poseval joint id. Scalars may be 1-element lists (poseval's convention) or plain
values. The writer produces what the official FaSRnet/DCPose code writes: 15 points per person,
the absent joints (:func:`absent_joints`) left out, and one dummy point in frames without a
person.
"""

from itertools import chain
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .posetrack_data import (
    HEAD_SIZE_FACTOR,
    MIN_SCORE,
    NUM_JOINTS,
    POSEVAL_TO_PT18,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
    absent_joints,
    first,
    is_number,
    object_array,
    polygon,
)

#: Score of the dummy point written into frames without persons: ranked last, adds nothing to AP.
DUMMY_SCORE = -100.0
_NO_SCORE = [MIN_SCORE]


def _regions(fr: dict, source: str, f: int) -> List[np.ndarray]:
    """The ignore polygons of frame ``f``."""
    polys = []
    for r, reg in enumerate(fr.get('ignore_regions') or []):
        pts = reg.get('point', []) if isinstance(reg, dict) else None
        if not isinstance(pts, list):
            raise PoseTrackFormatError(
                f'{source}: annolist[{f}] ignore region {r} must have a "point" list'
            )
        try:
            xs, ys = [first(p['x']) for p in pts], [first(p['y']) for p in pts]
        except (KeyError, TypeError):
            raise PoseTrackFormatError(
                f'{source}: annolist[{f}] ignore region {r}: points need "x" and "y"'
            ) from None
        polys.append(polygon(xs, ys, source, f'annolist[{f}] region {r}'))
    return polys


def read_pt17(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video (persons sorted by frame) of a decoded PoseTrack17 ``annolist`` file ``source``;
    GT (``is_gt``: ignore regions, head boxes) or predictions (finite points required)."""
    annolist = data.get('annolist')
    if not isinstance(annolist, list):
        raise PoseTrackFormatError(f'{source}: "annolist" must be a list of frames')
    if not all(isinstance(fr, dict) for fr in annolist):
        f = next(f for f, fr in enumerate(annolist) if not isinstance(fr, dict))
        raise PoseTrackFormatError(f'{source}: annolist[{f}] must be a dict')
    images = [first(fr.get('image')) for fr in annolist]
    names = [str(im.get('name', '')) if isinstance(im, dict) else '' for im in images]
    regions = [_regions(fr, source, f) if is_gt else [] for f, fr in enumerate(annolist)]
    rect_lists = [fr.get('annorect') or [] for fr in annolist]
    for f, rects in enumerate(rect_lists):
        if not isinstance(rects, list):
            raise PoseTrackFormatError(f'{source}: annolist[{f}]["annorect"] must be a list')
        if not all(isinstance(rect, dict) for rect in rects):
            r = next(r for r, rect in enumerate(rects) if not isinstance(rect, dict))
            raise PoseTrackFormatError(f'{source}: {_label(names, f, r)} must be a dict')
    num_rects = [len(rects) for rects in rect_lists]
    rects = list(chain.from_iterable(rect_lists))
    p_frame = np.repeat(np.arange(len(annolist)), num_rects)
    p_rect = np.arange(len(rects)) - np.repeat(np.cumsum(num_rects) - num_rects, num_rects)

    def where(k: int) -> str:  # error label of person k (built only on error)
        return _label(names, p_frame[k], p_rect[k])

    try:  # the usual layout, read in one pass; anything else goes through the checks
        track_ids = [r['track_id'][0] for r in rects]
        point_lists = [r['annopoints'][0]['point'] for r in rects]
        if not all(type(pts) is list for pts in point_lists):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        track_ids = [first(r['track_id']) if 'track_id' in r else None for r in rects]
        point_lists = [_point_list(r, source, where, k) for k, r in enumerate(rects)]
    counts = [len(pts) for pts in point_lists]
    points = list(chain.from_iterable(point_lists))

    persons = PersonArrays.empty(len(p_frame))
    persons.frame = np.asarray(p_frame, np.int64).reshape(-1)
    persons.track_id = object_array(track_ids)
    if points:
        owner = np.repeat(np.arange(len(p_frame)), counts)
        pts = _points(points, owner, where, source, is_gt)  # (M, 4): id, x, y, score
        pid = pts[:, 0]
        ok = (pid >= 0) & (pid < NUM_JOINTS) & (pid == np.floor(pid))  # also drops id None
        pp, pid, pts = owner[ok], pid[ok].astype(np.int64), pts[ok, 1:]
        # poseval takes the first point with a given id (getPointGTbyID)
        key = pp * NUM_JOINTS + pid
        if not (np.diff(key) > 0).all():  # usual files: ids ascending within a person
            _, first_idx = np.unique(key, return_index=True)
            pp, pid, pts = pp[first_idx], pid[first_idx], pts[first_idx]
        persons.xy[pp, pid] = pts[:, :2]
        persons.score[pp, pid] = pts[:, 2]
        persons.valid[pp, pid] = True
    if is_gt and rects:
        hb = _head_boxes(rects)  # (N, 4) x1, y1, x2, y2; NaN rows: no head box
        dx, dy = hb[:, 2] - hb[:, 0], hb[:, 3] - hb[:, 1]
        persons.head_size = HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)
    num_rects = np.asarray(num_rects, np.int64).reshape(-1)
    nones = [None] * len(names)
    video = PoseTrackVideo(source, 'pt17', names, nones, nones, num_rects, regions, persons)
    return video.sort_by_frame()


def _label(names: List[str], f: int, r: int) -> str:
    return f'annolist[{f}] (image {names[f]!r}) annorect[{r}]'


def _head_boxes(rects: List[dict]) -> np.ndarray:
    """``(N, 4)`` head boxes ``x1, y1, x2, y2``; a row of NaN where a box is incomplete."""
    try:
        rows = [(r['x1'][0], r['y1'][0], r['x2'][0], r['y2'][0]) for r in rects]
        return np.fromiter(chain.from_iterable(rows), np.float64, 4 * len(rows)).reshape(-1, 4)
    except (KeyError, TypeError, ValueError, IndexError):
        pass
    heads = [[first(r.get(k)) for k in ('x1', 'y1', 'x2', 'y2')] for r in rects]
    return np.array([h if all(is_number(v) for v in h) else [np.nan] * 4 for h in heads], float)


def _point_list(rect: dict, source: str, where, k: int) -> list:
    """The ``annopoints[0].point`` list of a person (``[]`` if it has none)."""
    annopoints = rect.get('annopoints')
    if isinstance(annopoints, list):
        annopoints = annopoints[0] if annopoints else None
    pts = annopoints.get('point') if isinstance(annopoints, dict) else None
    if pts is None:
        return []
    if not isinstance(pts, list):
        raise PoseTrackFormatError(f'{source}: {where(k)}: "point" must be a list')
    return pts


def _points(points: List[Any], owner: np.ndarray, where, source: str, is_gt: bool) -> np.ndarray:
    """``(M, 4)`` float64 ``id, x, y, score`` of the point dicts (``owner``: person of each).

    Well-formed points are read in one pass; otherwise one by one (scalars instead of 1-element
    lists accepted), naming the offending point (``where(person)``). An ``id`` None becomes NaN
    (ignored, as in poseval), a missing score ``MIN_SCORE``; predictions must be finite.
    """
    out = None
    try:
        rows = [(p['id'][0], p['x'][0], p['y'][0], p.get('score', _NO_SCORE)[0]) for p in points]
        out = np.fromiter(chain.from_iterable(rows), np.float64, 4 * len(rows)).reshape(-1, 4)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        pass
    if out is None:
        out = np.empty((len(points), 4), np.float64)
        starts = np.searchsorted(owner, owner)
        for k, p in enumerate(points):
            label = f'{where(owner[k])} point {k - int(starts[k])}'
            try:
                vals = [first(p['id']), first(p['x']), first(p['y'])]
                vals.append(first(p['score']) if 'score' in p else MIN_SCORE)
            except (KeyError, TypeError):
                raise PoseTrackFormatError(f'{source}: {label}: needs "id", "x" and "y"') from None
            if vals[0] is None:
                vals[0] = np.nan
            if not all(is_number(v) for v in vals):
                raise PoseTrackFormatError(
                    f'{source}: {label}: id/x/y/score must be numbers, got {p!r}'
                )
            out[k] = vals
    if not is_gt:
        bad = ~np.isfinite(out[:, 1:]).all(axis=1) & np.isfinite(out[:, 0])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise PoseTrackFormatError(
                f'{source}: {where(owner[k])}: a point has non-finite x/y/score: {points[k]!r}'
            )
    return out


def write_pt17(
    video: PoseTrackVideo, per_frame: Sequence[Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]]
) -> dict:
    """``{"annolist": [...]}`` prediction file of the frames of GT ``video``: per frame None or
    ``(keypoints (N, 17, 2), per-joint scores to write (N, 17), box scores (N,)[, track ids
    (N,)])``; 15 joints per person (``track_id``: the given ids, else the index in the frame), a
    dummy point in frames without persons."""
    annolist = []
    for f, name in enumerate(video.frame_names):
        if per_frame[f] is None or not len(per_frame[f][0]):
            point = dict(id=[0], x=[0.0], y=[0.0], score=[DUMMY_SCORE])
            rects = [dict(annopoints=[dict(point=[point])], score=[DUMMY_SCORE], track_id=[0])]
        else:
            kpts, scores, box = per_frame[f][:3]
            tids = per_frame[f][3].tolist() if len(per_frame[f]) > 3 else range(len(kpts))
            xy, sc = kpts[:, POSEVAL_TO_PT18], scores[:, POSEVAL_TO_PT18]
            absent = absent_joints(xy, sc).tolist()
            xs, ys, ss = xy[..., 0].tolist(), xy[..., 1].tolist(), sc.tolist()
            rects = []
            for t, (tid, b) in enumerate(zip(tids, box.tolist())):
                points = [
                    dict(id=[j], x=[xs[t][j]], y=[ys[t][j]], score=[ss[t][j]])
                    for j in range(NUM_JOINTS)
                    if not absent[t][j]
                ]
                rects.append(dict(annopoints=[dict(point=points)], score=[b], track_id=[tid]))
        annolist.append(dict(image=[dict(name=name)], imgnum=[f + 1], annorect=rects))
    return dict(annolist=annolist)


def dummy_persons(frames: np.ndarray) -> PersonArrays:
    """The dummy persons :func:`write_pt17` puts into each of ``frames``, as read back."""
    persons = PersonArrays.empty(len(frames))
    persons.frame = np.asarray(frames, np.int64)
    persons.score[:, 0] = DUMMY_SCORE
    persons.valid[:, 0] = True
    persons.track_id[:] = 0
    return persons
