# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack17 ``annolist`` files (poseval's native format): reader and writer. Scalars may be
1-element lists (poseval's convention) or plain values; the layout: ``docs/evaluation.md``."""

from itertools import chain
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from .posetrack_data import (
    MIN_SCORE,
    NUM_JOINTS,
    POSEVAL_TO_PT18,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
    absent_joints,
    first,
    head_size,
    is_number,
    polygon,
)

#: Score of the dummy point written into frames without persons: ranked last, adds nothing to AP.
DUMMY_SCORE = -100.0
_NO_SCORE = [MIN_SCORE]


def _slow_points(rects: List[dict], where: Callable[[int], str]) -> Tuple[list, list, np.ndarray]:
    """Track ids, point lists and ``(M, 4)`` id/x/y/score of any valid layout, naming the first
    bad record (``where(person)``); an ``id`` None is NaN (ignored as in poseval)."""
    track_ids, point_lists, rows = [first(r.get('track_id')) for r in rects], [], []
    for k, rect in enumerate(rects):
        ap = rect.get('annopoints')
        ap = (ap[0] if ap else None) if isinstance(ap, list) else ap
        pts = ap.get('point') if isinstance(ap, dict) else None
        if pts is not None and not isinstance(pts, list):
            raise PoseTrackFormatError(f'{where(k)}: "point" must be a list')
        point_lists.append(pts or [])
        for n, p in enumerate(pts or []):
            keys = (
                ('id', 'x', 'y', 'score')
                if isinstance(p, dict) and {'id', 'x', 'y'} <= p.keys()
                else ()
            )
            vals = [first(p.get(key, MIN_SCORE)) for key in keys]
            vals[:1] = [np.nan] if vals[:1] == [None] else vals[:1]  # id None: ignored
            if len(vals) < 4 or not all(map(is_number, vals)):
                raise PoseTrackFormatError(
                    f'{where(k)} point {n}: needs numbers "id", "x", "y" (and "score"), got {p!r}'
                )
            rows.append(vals)
    return track_ids, point_lists, np.array(rows, np.float64).reshape(-1, 4)


def read_pt17(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video of a decoded PoseTrack17 ``annolist`` file ``source``: GT (``is_gt``: ignore
    regions, head boxes) or predictions (finite points required)."""
    annolist = data['annolist']
    images = [first(fr.get('image')) for fr in annolist]
    names = [str(im.get('name', '')) if isinstance(im, dict) else '' for im in images]
    regions = [[] for _ in annolist]
    for f, fr in enumerate(annolist if is_gt else ()):
        for r in fr.get('ignore_regions') or []:
            pts = r.get('point', [])
            xs, ys = [first(p['x']) for p in pts], [first(p['y']) for p in pts]
            regions[f].append(polygon(xs, ys, f'{source}: annolist[{f}]'))
    rect_lists = [fr.get('annorect') or [] for fr in annolist]
    num_rects = np.array([len(rects) for rects in rect_lists], np.int64)
    rects = list(chain.from_iterable(rect_lists))
    frame = np.repeat(np.arange(len(annolist)), num_rects)
    rect_in_frame = np.arange(len(rects)) - np.repeat(np.cumsum(num_rects) - num_rects, num_rects)

    def where(k: int) -> str:
        f = frame[k]
        return f'{source}: annolist[{f}] (image {names[f]!r}) annorect[{rect_in_frame[k]}]'

    try:  # the usual layout in one pass; anything else goes through the checks
        track_ids = [r['track_id'][0] for r in rects]
        point_lists = [r['annopoints'][0]['point'] for r in rects]
        rows = [
            (p['id'][0], p['x'][0], p['y'][0], p.get('score', _NO_SCORE)[0])
            for p in chain.from_iterable(point_lists)
        ]
        pts = np.fromiter(chain.from_iterable(rows), np.float64, 4 * len(rows)).reshape(-1, 4)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        track_ids, point_lists, pts = _slow_points(rects, where)
    owner = np.repeat(np.arange(len(rects)), [len(pts) for pts in point_lists])
    bad = ~np.isfinite(pts[:, 1:]).all(axis=1) & np.isfinite(pts[:, 0])
    if not is_gt and bad.any():
        k = int(np.argmax(bad))
        raise PoseTrackFormatError(
            f'{where(owner[k])}: a point has non-finite x/y/score: {list(pts[k])}'
        )
    persons = PersonArrays.empty(frame, track_ids)
    pid = pts[:, 0]
    ok = (pid >= 0) & (pid < NUM_JOINTS) & (pid == np.floor(pid))  # also drops id None (NaN)
    pp, pid, pts = owner[ok], pid[ok].astype(np.int64), pts[ok, 1:]
    key = pp * NUM_JOINTS + pid
    if not (np.diff(key) > 0).all():  # poseval takes the first point of an id (getPointGTbyID)
        _, idx = np.unique(key, return_index=True)
        pp, pid, pts = pp[idx], pid[idx], pts[idx]
    persons.xy[pp, pid], persons.score[pp, pid] = pts[:, :2], pts[:, 2]
    persons.valid[pp, pid] = True
    if is_gt and rects:
        persons.head_size = head_size(*_head_boxes(rects).T)
    nones = [None] * len(names)
    return PoseTrackVideo(source, 'pt17', names, nones, nones, num_rects, regions, persons)


def _head_boxes(rects: List[dict]) -> np.ndarray:
    """``(N, 4)`` head boxes ``x1, y1, x2, y2``; NaN rows where a box is incomplete."""
    try:
        rows = [(r['x1'][0], r['y1'][0], r['x2'][0], r['y2'][0]) for r in rects]
        return np.fromiter(chain.from_iterable(rows), np.float64, 4 * len(rows)).reshape(-1, 4)
    except (KeyError, TypeError, ValueError, IndexError):
        heads = [[first(r.get(k)) for k in ('x1', 'y1', 'x2', 'y2')] for r in rects]
        return np.array([h if all(map(is_number, h)) else [np.nan] * 4 for h in heads], float)


def write_pt17(
    video: PoseTrackVideo, per_frame: Sequence[Optional[Tuple[np.ndarray, ...]]]
) -> dict:
    """The ``{"annolist": [...]}`` prediction file of the frames of GT ``video`` (``per_frame``
    as for ``write_pt18``): 15 joints per person without the absent joints, one dummy point in
    frames without persons."""
    annolist = []
    for f, name in enumerate(video.frame_names):
        rects = []
        if per_frame[f] is None or not len(per_frame[f][0]):
            point = dict(id=[0], x=[0.0], y=[0.0], score=[DUMMY_SCORE])
            rects = [dict(annopoints=[dict(point=[point])], score=[DUMMY_SCORE], track_id=[0])]
        else:
            kpts, scores, box = per_frame[f][:3]
            tids = per_frame[f][3].tolist() if len(per_frame[f]) > 3 else range(len(kpts))
            xy, sc = kpts[:, POSEVAL_TO_PT18], scores[:, POSEVAL_TO_PT18]
            absent = absent_joints(xy, sc).tolist()
            xs, ys, ss = xy[..., 0].tolist(), xy[..., 1].tolist(), sc.tolist()
            for t, (tid, b) in enumerate(zip(tids, box.tolist())):
                points = [
                    dict(id=[j], x=[xs[t][j]], y=[ys[t][j]], score=[ss[t][j]])
                    for j in range(NUM_JOINTS)
                    if not absent[t][j]
                ]
                rects.append(dict(annopoints=[dict(point=points)], score=[b], track_id=[tid]))
        annolist.append(dict(image=[dict(name=name)], imgnum=[f + 1], annorect=rects))
    return dict(annolist=annolist)
