# Copyright (c) OpenMMLab. All rights reserved.
"""poseval's per-frame AP protocol on parsed videos: ignore regions, PCKh, assignment, AP.

What poseval's ``evaluateAP`` computes, vectorised over all frames: labelled GT frames only, joints
strictly inside ignore regions removed, PCKh@0.5 (head size ``0.6 * ||(x2 - x1, y2 - y1)||``),
greedy assignment on the flat list of (prediction, GT) pairs, VOC all-point AP of the 15 joints at
once on a (15, N) layout. Protocol and the (degenerate-input) differences: ``docs/evaluation.md``.
"""

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .posetrack_data import (
    NUM_JOINTS,
    POSEVAL_NAMES,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
)
from .posetrack_io import load_gt_dir, load_pred_dir

#: Table groups: name -> poseval joint ids (``eval_helpers.getCum``).
JOINT_GROUPS = OrderedDict(
    Head=(14, 12, 13), Shou=(8, 9), Elb=(7, 10), Wri=(6, 11), Hip=(2, 3), Knee=(1, 4), Ankl=(0, 5)
)
#: Column titles of the paper's Table 1, in the same order as JOINT_GROUPS + total.
TABLE1_COLUMNS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'mAP')

#: PCKh threshold, as a fraction of the head size.
PCKH_THRESHOLD = 0.5


def _group_pairs(group_a: np.ndarray, group_b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)`` with ``group_a[i] == group_b[j]`` (``i`` ascending, then j)."""
    order = np.argsort(group_b, kind='stable')
    first = np.searchsorted(group_b[order], group_a, 'left')
    count = np.searchsorted(group_b[order], group_a, 'right') - first
    i = np.repeat(np.arange(len(group_a)), count)
    offset = np.cumsum(count) - count
    return i, order[first[i] + np.arange(len(i)) - offset[i]]


_EDGE_CHUNK = 1 << 20


def points_in_polygons(
    points: np.ndarray,
    polygons: Sequence[np.ndarray],
    point_group: Optional[np.ndarray] = None,
    polygon_group: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Whether each point lies strictly inside at least one polygon (of its group).

    shapely/GEOS ``Polygon.contains(Point)``: even-odd ray crossing with GEOS's
    ``RayCrossingCounter`` conventions, a point on an edge or a vertex is on the boundary and
    therefore *not* contained. Polygons with fewer than 3 vertices have no interior. All points
    and polygons are tested at once: the (point, polygon) pairs of the same group whose polygon
    bounding box holds the point, then their (point, edge) pairs, in chunks.

    Args:
        points (np.ndarray): ``(M, 2)`` points.
        polygons (Sequence[np.ndarray]): ``(K_i, 2)`` vertex arrays.
        point_group (np.ndarray, optional): ``(M,)`` group (e.g. frame) of each point.
        polygon_group (np.ndarray, optional): ``(P,)`` group of each polygon; a point is
            tested against the polygons of its group. Defaults to one group for all.

    Returns:
        np.ndarray: ``(M,)`` bool.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in polygons]
    pgroup = np.zeros(len(points), np.int64) if point_group is None else np.asarray(point_group)
    ygroup = np.zeros(len(polys), np.int64) if polygon_group is None else np.asarray(polygon_group)
    keep = [k for k, p in enumerate(polys) if len(p) >= 3]
    inside = np.zeros(len(points), bool)
    if not keep or not len(points):
        return inside
    polys, ygroup = [polys[k] for k in keep], ygroup[keep]
    nv = np.array([len(p) for p in polys])
    starts = np.cumsum(nv) - nv
    a = np.concatenate(polys)
    nxt = np.arange(len(a)) + 1
    nxt[starts + nv - 1] = starts
    b = a[nxt]  # each edge is a -> b
    lo, hi = np.minimum.reduceat(a, starts), np.maximum.reduceat(a, starts)
    # (point, polygon) pairs: same group, point inside the polygon's bounding box
    pt, poly = _group_pairs(pgroup, ygroup)
    cand = ((points[pt] >= lo[poly]) & (points[pt] <= hi[poly])).all(axis=1)
    pt, poly = pt[cand], poly[cand]
    # (point, edge) pairs of the candidate pairs, in chunks of about _EDGE_CHUNK edges
    edges_before = np.cumsum(nv[poly])
    total = int(edges_before[-1]) if len(poly) else 0
    cuts = np.searchsorted(edges_before, np.arange(_EDGE_CHUNK, total, _EDGE_CHUNK)).tolist()
    for c0, c1 in zip([0, *cuts], [*cuts, len(poly)]):
        cpt, cpoly = pt[c0:c1], poly[c0:c1]
        if not len(cpt):
            continue
        n = nv[cpoly]
        pair = np.repeat(np.arange(len(cpt)), n)
        offset = np.cumsum(n) - n
        edge = starts[cpoly][pair] + np.arange(len(pair)) - offset[pair]
        px, py = points[cpt[pair], 0], points[cpt[pair], 1]
        ax, ay, bx, by = a[edge, 0], a[edge, 1], b[edge, 0], b[edge, 1]
        not_left = ~((ax < px) & (bx < px))
        at_vertex = (bx == px) & (by == py)
        horizontal = (ay == py) & (by == py)
        on_horizontal = horizontal & (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
        straddle = ((ay > py) & (by <= py)) | ((by > py) & (ay <= py))
        orient = np.sign((bx - ax) * (py - by) - (by - ay) * (px - bx))
        orient = np.where(by < ay, -orient, orient)
        boundary = not_left & (at_vertex | on_horizontal | (straddle & (orient == 0)))
        crossing = not_left & straddle & (orient > 0)
        n_cross = np.add.reduceat(crossing.astype(np.int64), offset)
        on_boundary = np.maximum.reduceat(boundary.astype(np.int8), offset) > 0
        inside[cpt[(n_cross % 2 == 1) & ~on_boundary]] = True
    return inside


def _apply_ignore_regions(
    sets: Sequence[PersonArrays], frame_regions: Dict[int, List[np.ndarray]]
) -> None:
    """Mark joints inside the ignore regions of their frame as absent (in place, all sets)."""
    if not frame_regions:
        return
    polys = [p for polys in frame_regions.values() for p in polys]
    pframe = np.repeat(list(frame_regions), [len(v) for v in frame_regions.values()])
    # the present joints of persons in frames with regions: (point, frame)
    masks = [p.valid & np.isin(p.frame, pframe)[:, None] for p in sets]
    xy = np.concatenate([p.xy[m] for p, m in zip(sets, masks)])
    frame = np.concatenate(
        [np.broadcast_to(p.frame[:, None], m.shape)[m] for p, m in zip(sets, masks)]
    )
    inside = np.split(
        points_in_polygons(xy, polys, frame, pframe), np.cumsum([m.sum() for m in masks])[:-1]
    )
    for p, m, ins in zip(sets, masks, inside):
        p.valid[m] = ~ins


def _segment_first_argmax(
    values: np.ndarray, seg_ids: np.ndarray, starts: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """``(S,)`` maximum and position of its first occurrence (``np.argmax``'s tie rule) of
    each contiguous segment; ``seg_ids`` (0..S-1, sorted) and ``starts`` describe them."""
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
        num_frames (int): Number of frames (kept for API compatibility; unused).
        threshold (float): PCKh threshold. Defaults to 0.5.

    Returns:
        np.ndarray: ``(N_pred, 15)`` bool labels.
    """
    labels = np.zeros((len(pred), NUM_JOINTS), bool)
    if not len(gt) or not len(pred):
        return labels
    pair_pred, pair_gt = _group_pairs(pred.frame, gt.frame)  # same frame
    total = len(pair_pred)
    if total == 0:
        return labels
    n_pairs = np.bincount(pair_pred, minlength=len(pred))
    pair_start = np.cumsum(n_pairs) - n_pairs

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
    jv = np.asarray(valid, bool).T  # (15, N)
    counts = jv.sum(axis=1)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    # per joint, the predicted points packed to the left of a (15, width) layout
    row = np.broadcast_to(np.arange(NUM_JOINTS)[:, None], jv.shape)[jv]
    col = (np.cumsum(jv, axis=1) - 1)[jv]
    sc = np.full((NUM_JOINTS, width), -np.inf)
    lb = np.zeros((NUM_JOINTS, width), bool)
    sc[row, col] = np.asarray(scores, np.float64).T[jv]
    lb[row, col] = np.asarray(labels, bool).T[jv]
    # score descending, ties: later point first (= argsort(kind='stable')[::-1]), padding last
    order = np.argsort(sc, axis=1, kind='stable')[:, ::-1]
    tp = np.take_along_axis(lb, order, axis=1).astype(np.float64)
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
    _apply_ignore_regions([gt_all, pred_all], regions)

    labels = assign_predictions(gt_all, pred_all, offset)
    num_gt = gt_all.valid.sum(axis=0)
    result = average_precision(pred_all.score, labels, pred_all.valid, num_gt)
    result.update(
        num_gt=num_gt, num_frames=offset, num_gt_persons=len(gt_all), num_pred_persons=len(pred_all)
    )
    return result


def evaluate_dirs(gt_dir: str, pred_dir: str, gt_format: Optional[str] = None) -> Dict[str, Any]:
    """Evaluate a folder of per-video prediction files (either format, same names) against a
    GT folder (``gt_format``: ``'pt17'``/``'pt18'`` insists on one); see :func:`evaluate_videos`."""
    gt_videos = load_gt_dir(gt_dir, gt_format)
    pred_videos = load_pred_dir(pred_dir, gt_videos)
    return evaluate_videos(gt_videos, pred_videos)


# ---------------------------------------------------------------------------------- reporting
def summarize(ap: np.ndarray) -> 'OrderedDict[str, float]':
    """``Head, Shou, Elb, Wri, Hip, Knee, Ankl, Total`` -> AP from ``(16,)`` APs: plain means
    of the groups of poseval's table (``eval_helpers.getCum``), Total = the 15-joint mean."""
    ap = np.asarray(ap, np.float64)
    out = OrderedDict((name, float(ap[list(idx)].mean())) for name, idx in JOINT_GROUPS.items())
    out['Total'] = float(ap[NUM_JOINTS])
    return out


def format_table(
    rows: Union[np.ndarray, Sequence[Tuple[str, np.ndarray]]], name: str = 'Ours'
) -> str:
    """The paper's Table 1 layout (header + one line per method, one decimal) of ``(16,)`` APs
    (named ``name``) or of a list of ``(method name, (16,) APs)``."""
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
    """poseval's ``total_AP_metrics.json`` layout of an :func:`evaluate_videos` result:
    ``{"ap": [16], "pre": [16], "rec": [16], "names": {"0": ..., "15": "total"}}``."""
    return dict(
        ap=[float(v) for v in result['ap']],
        pre=[float(v) for v in result['pre']],
        rec=[float(v) for v in result['rec']],
        names={str(i): n for i, n in enumerate(POSEVAL_NAMES)},
    )
