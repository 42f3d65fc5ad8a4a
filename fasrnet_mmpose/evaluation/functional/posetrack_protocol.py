# Copyright (c) OpenMMLab. All rights reserved.
"""poseval's per-frame AP protocol on parsed videos, vectorised over all frames: evaluated
frames, ignore regions, PCKh, greedy assignment, VOC AP, tables (``docs/evaluation.md``)."""

from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .posetrack_data import NUM_JOINTS, PersonArrays, PoseTrackFormatError, Videos
from .posetrack_formats import load_gt_dir, load_pred_dir

#: Table groups: name -> poseval joint ids (``eval_helpers.getCum``); the paper's Table 1 columns.
JOINT_GROUPS = OrderedDict(
    Head=(14, 12, 13), Shou=(8, 9), Elb=(7, 10), Wri=(6, 11), Hip=(2, 3), Knee=(1, 4), Ankl=(0, 5)
)
TABLE1_COLUMNS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'mAP')
PCKH_THRESHOLD = 0.5  # a fraction of the head size
_PAIR_CHUNK = 1 << 14  # (GT, prediction) pairs per PCKh chunk
_EDGE_CHUNK = 1 << 20  # (point, polygon edge) pairs per ignore-region chunk


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenated ``arange(s, s + c)`` of all ``starts``/``counts``."""
    return np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())


def group_pairs(group_a: np.ndarray, group_b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)`` with ``group_a[i] == group_b[j]`` (``i`` ascending, then j)."""
    order = np.argsort(group_b, kind='stable')
    lo = np.searchsorted(group_b[order], group_a, 'left')
    count = np.searchsorted(group_b[order], group_a, 'right') - lo
    return np.repeat(np.arange(len(group_a)), count), order[_ranges(lo, count)]


def points_in_polygons(
    points: np.ndarray, polygons: Sequence[np.ndarray], point_group=None, polygon_group=None
) -> np.ndarray:
    """``(M,)`` bool: each of ``points`` (M, 2) strictly inside one of the ``polygons`` (K_i, 2)
    of its group (``point_group`` (M,), ``polygon_group`` (P,); default: one), as shapely."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in polygons]
    pgroup = np.zeros(len(points), int) if point_group is None else np.asarray(point_group)
    ygroup = np.zeros(len(polys), int) if polygon_group is None else np.asarray(polygon_group)
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
    pt, poly = group_pairs(pgroup, ygroup)  # same group, point in the polygon's bounding box
    cand = ((points[pt] >= lo[poly]) & (points[pt] <= hi[poly])).all(axis=1)
    pt, poly = pt[cand], poly[cand]
    edges_before = np.cumsum(nv[poly])  # (point, edge) pairs in chunks of ~_EDGE_CHUNK
    total = int(edges_before[-1]) if len(poly) else 0
    cuts = np.searchsorted(edges_before, np.arange(_EDGE_CHUNK, total, _EDGE_CHUNK)).tolist()
    for c0, c1 in zip([0, *cuts], [*cuts, len(poly)]):
        cpt, n = pt[c0:c1], nv[poly[c0:c1]]
        if not len(cpt):
            continue
        offset = np.cumsum(n) - n
        edge = _ranges(starts[poly[c0:c1]], n)
        px, py = points[np.repeat(cpt, n)].T
        ax, ay, bx, by = a[edge, 0], a[edge, 1], b[edge, 0], b[edge, 1]
        not_left = ~((ax < px) & (bx < px))  # GEOS RayCrossingCounter
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


def select_frames(gt_videos: Videos, pred_videos: Videos, drop_last: bool = False) -> tuple:
    """GT and predicted :class:`PersonArrays` of the evaluated frames (renumbered ``0..F-1``),
    joints in ignore regions removed; ``F``; ``(F,)`` bool: the frame has regions."""
    if len(gt_videos) != len(pred_videos):
        raise ValueError(f'{len(gt_videos)} GT videos but {len(pred_videos)} prediction videos')
    parts, regions, offset = ([], []), {}, 0
    for gt, pred in zip(gt_videos, pred_videos):
        if pred.num_frames != gt.num_frames:
            raise PoseTrackFormatError(
                f'{pred.source}: {pred.num_frames} prediction frames but the GT file '
                f'{gt.source} has {gt.num_frames} frames (they are paired by position)'
            )
        kept = gt.num_rects > 0  # poseval drops GT frames without person entries
        kept[np.flatnonzero(kept)[-1:] if drop_last else []] = False
        new_index = np.cumsum(kept) - 1 + offset
        polys = ((int(new_index[f]), gt.ignore_regions[f]) for f in np.flatnonzero(kept))
        regions.update((f, p) for f, p in polys if p)
        for src, out in zip((gt.persons, pred.persons), parts):
            out.append(src.take(kept[src.frame]))
            out[-1].frame = new_index[out[-1].frame]
        offset += int(kept.sum())
    gt, pred = (PersonArrays.concatenate(p) for p in parts)
    polys = [p for polys in regions.values() for p in polys]
    pframe = np.repeat(list(regions), [len(v) for v in regions.values()]).astype(np.int64)
    for p in (gt, pred) if regions else ():  # joints strictly inside a region are removed
        m = p.valid & np.isin(p.frame, pframe)[:, None]
        frame = np.broadcast_to(p.frame[:, None], m.shape)[m]
        p.valid[m] = ~points_in_polygons(p.xy[m], polys, frame, pframe)
    has_regions = np.isin(np.arange(offset), pframe)
    return gt, pred, offset, has_regions


def pckh_distances(
    gt: PersonArrays, pred: PersonArrays, pair_gt: np.ndarray, pair_pred: np.ndarray
) -> np.ndarray:
    """``(pairs, 15)`` joint distance / GT head size of (GT, prediction) pairs (inf: absent)."""
    out = np.empty((len(pair_gt), NUM_JOINTS))
    with np.errstate(divide='ignore', invalid='ignore'):
        for s in range(0, len(pair_gt), _PAIR_CHUNK):
            ig, ip = pair_gt[s : s + _PAIR_CHUNK], pair_pred[s : s + _PAIR_CHUNK]
            dx = pred.xy[ip, :, 0] - gt.xy[ig, :, 0]
            dy = pred.xy[ip, :, 1] - gt.xy[ig, :, 1]
            dist = np.sqrt(dx * dx + dy * dy) / gt.head_size[ig][:, None]
            out[s : s + _PAIR_CHUNK] = np.where(pred.valid[ip] & gt.valid[ig], dist, np.inf)
    return out


def _first_best(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Index of the first maximum of ``values`` in each group (ascending by group)."""
    order = np.lexsort((-values, groups))  # stable: ties keep the index order
    return order[np.r_[True, groups[order][1:] != groups[order][:-1]]]


def assign_predictions(
    gt: PersonArrays, pred: PersonArrays, threshold: float = PCKH_THRESHOLD
) -> np.ndarray:
    """poseval's greedy assignment on all frames: ``(N_pred, 15)`` bool true-positive labels."""
    labels = np.zeros((len(pred), NUM_JOINTS), bool)
    pair_pred, pair_gt = group_pairs(pred.frame, gt.frame)  # same frame
    if not len(pair_pred):
        return labels
    match = pckh_distances(gt, pred, pair_gt, pair_pred) <= threshold
    n_gt_joints = gt.valid.sum(axis=1)[pair_gt]
    pck = match.sum(axis=1).astype(np.float64)
    pck = np.where(n_gt_joints > 0, pck / np.maximum(n_gt_joints, 1), pck)
    best = _first_best(pck, pair_pred)  # 1) every prediction keeps only its best GT
    pck_kept = np.zeros_like(pck)
    pck_kept[best] = pck[best]
    chosen = _first_best(pck_kept, pair_gt)  # 2) every GT takes its best remaining prediction
    chosen = chosen[pck_kept[chosen] > 0]
    labels[pair_pred[chosen]] = match[chosen]
    return labels


def with_total(v: np.ndarray) -> np.ndarray:
    """``v`` and the mean of its non-NaN values (NaN if none)."""
    ok = ~np.isnan(v)
    return np.append(v, v[ok].mean() if ok.any() else np.nan)


def average_precision(
    scores: np.ndarray, labels: np.ndarray, valid: np.ndarray, num_gt: np.ndarray
) -> Dict[str, np.ndarray]:
    """VOC all-point ``ap``, ``pre``, ``rec`` (x 100, ``(16,)``) of the ``valid`` (N, 15) points'
    ``scores`` and ``labels`` against ``num_gt`` (15,) GT joints (ties: later point first)."""
    jv = np.asarray(valid, bool).T  # (15, N); points packed to the left of a (15, width) layout
    counts = jv.sum(axis=1)
    width = max(int(counts.max(initial=0)), 1)
    row = np.broadcast_to(np.arange(NUM_JOINTS)[:, None], jv.shape)[jv]
    col = (np.cumsum(jv, axis=1) - 1)[jv]
    sc, lb = np.full((NUM_JOINTS, width), -np.inf), np.zeros((NUM_JOINTS, width), bool)
    sc[row, col], lb[row, col] = np.asarray(scores, np.float64).T[jv], np.asarray(labels).T[jv]
    order = np.argsort(sc, axis=1, kind='stable')[:, ::-1]  # padding last
    npos = np.cumsum(np.take_along_axis(lb, order, axis=1), axis=1, dtype=np.float64)
    present = np.arange(width)[None, :] < counts[:, None]
    with np.errstate(divide='ignore', invalid='ignore'):
        recall = npos / np.asarray(num_gt, np.float64)[:, None]
        precision = np.where(present, npos / np.arange(1, width + 1)[None, :], 0.0)
        zeros = np.zeros((NUM_JOINTS, 1))
        mrec = np.concatenate([zeros, recall, np.ones((NUM_JOINTS, 1))], axis=1)
        mpre = np.concatenate([zeros, precision, zeros], axis=1)
        mpre = np.maximum.accumulate(mpre[:, ::-1], axis=1)[:, ::-1]
        changed = mrec[:, 1:] != mrec[:, :-1]
        ap = np.where(changed, (mrec[:, 1:] - mrec[:, :-1]) * mpre[:, 1:], 0.0).sum(axis=1) * 100
    last, empty = (np.arange(NUM_JOINTS), np.maximum(counts - 1, 0)), counts == 0
    pre, rec = precision[last] * 100, recall[last] * 100
    ap[empty], pre[empty], rec[empty] = 0.0, 0.0, 0.0
    return dict(ap=with_total(ap), pre=with_total(pre), rec=with_total(rec))


def evaluate_videos(gt_videos: Videos, pred_videos: Videos) -> Dict[str, Any]:
    """poseval's ``ap``, ``pre``, ``rec`` (16,), ``num_gt`` (15,), ``num_frames``, ``num_gt/pred
    _persons`` of prediction videos against GT videos (paired by position)."""
    gt, pred, num_frames, _ = select_frames(gt_videos, pred_videos)
    num_gt = gt.valid.sum(axis=0)
    result = average_precision(pred.score, assign_predictions(gt, pred), pred.valid, num_gt)
    result.update(
        num_gt=num_gt, num_frames=num_frames, num_gt_persons=len(gt), num_pred_persons=len(pred)
    )
    return result


def evaluate_dirs(
    gt_dir: str, pred_dir: str, gt_format: Optional[str] = None, evaluate=evaluate_videos
) -> Dict[str, Any]:
    """``evaluate`` (:func:`evaluate_videos`) of the prediction files of ``pred_dir`` (named as the
    GT files) against a GT folder (``gt_format``: ``'pt17'`` / ``'pt18'`` insists on one)."""
    gt_videos = load_gt_dir(gt_dir, gt_format)
    return evaluate(gt_videos, load_pred_dir(pred_dir, gt_videos))


def summarize(ap: np.ndarray) -> 'OrderedDict[str, float]':
    """``Head, Shou, ..., Ankl`` (means of poseval's groups) and ``Total`` of ``(16,)`` values."""
    out = OrderedDict((n, float(np.mean(np.asarray(ap)[list(g)]))) for n, g in JOINT_GROUPS.items())
    out['Total'] = float(ap[NUM_JOINTS])
    return out


def format_table(ap: np.ndarray, name: str = 'Ours') -> str:
    """The paper's Table 1 (one decimal) of ``(16,)`` APs of method ``name``."""
    width = max(len('Method'), len(name))
    header = f'{"Method":<{width}}' + ''.join(f'  {c:>8}' for c in TABLE1_COLUMNS)
    row = f'{name:<{width}}' + ''.join(f'  {v:>8.1f}' for v in summarize(ap).values())
    return '\n'.join([header, '-' * len(header), row])
