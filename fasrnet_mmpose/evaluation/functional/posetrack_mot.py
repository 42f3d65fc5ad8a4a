# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack's multi-person pose *tracking* evaluation (poseval's MOTA) in plain numpy.

This module computes what ``poseval`` (``evaluateTracking.py`` on the frames of
``eval_helpers.load_data_dir``, with ``motmetrics`` 1.4.0) reports: per joint CLEAR-MOT
counts, MOTA, MOTP, precision and recall, per joint and in total, equal to poseval's
``total_MOT_metrics.json``. It needs numpy and scipy only (no pandas, no motmetrics).

The protocol, poseval's conventions (quirks included) and the few documented
differences are described in ``docs/tracking.md``. In short, per video:

1. Frames are paired with the predictions and filtered exactly as for the AP
   (``load_gt_dir``/``load_pred_dir``): only GT frames with person entries are used and
   joints inside ignore regions are removed (in a frame with ignore regions, persons left
   without joints are removed too).
2. **The last labelled frame of every video is left out** (poseval's ``imgidxs[:-1]``).
3. Per labelled frame and joint, every (GT joint, predicted joint) pair within PCKh 0.5
   (``distance / head size <= 0.5``) is a candidate with that normalised distance, for a
   CLEAR-MOT accumulator per joint and video that reproduces ``motmetrics``
   (``MOTAccumulator.update``): previous matches are kept first, then the Hungarian
   algorithm matches the rest; a GT track matched to a different predicted track than
   before is an id switch. A frame in which the GT or the prediction has no person
   counts, for every joint, one miss and one false positive (poseval's ``[0]`` vs ``[0]`` events).
4. Counts are summed over videos; ``MOTA = 100 (1 - (misses + switches + FP) / objects)``,
   ``MOTP = 100 (1 - sum(D) / detections)`` with poseval's ``sum(D)`` over all of the
   accumulator's events (every candidate distance once more), ``Pre = detections /
   (detections + FP)``, ``Rec = detections / objects``; the total is the mean over the
   joints with a defined value.
"""

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from . import (
    JOINT_GROUPS,
    NUM_JOINTS,
    POSEVAL_NAMES,
    PoseTrackFormatError,
    PoseTrackVideo,
    load_gt_dir,
    load_pred_dir,
    points_in_polygons,
)

logger = logging.getLogger(__name__)

#: poseval asserts ``track_id < MAX_TRACK_ID`` (GT and predictions) before making the
#: ids unique across videos with ``id + video_index * MAX_TRACK_ID``.
MAX_TRACK_ID = 10000
#: Candidate pairs: ``distance / head size <= MOT_DIST_THRESHOLD`` (poseval's
#: ``evaluateTracking``: ``distThresh = 0.5``).
MOT_DIST_THRESHOLD = 0.5
#: The per-joint CLEAR-MOT counts poseval sums over videos (plus ``sum_d``).
MOT_COUNTS = ('num_misses', 'num_switches', 'num_false_positives', 'num_objects', 'num_detections')


# ------------------------------------------------------------------------------ track ids
def _track_id_array(video: PoseTrackVideo, what: str) -> np.ndarray:
    """The track ids of a video's persons as float64, checked as poseval requires.

    Args:
        video (PoseTrackVideo): A parsed GT or prediction video.
        what (str): ``'GT'`` or ``'prediction'`` (for the message).

    Returns:
        np.ndarray: ``(N,)`` float64 ids.
    """
    ids = np.empty(len(video.track_ids), np.float64)
    for i, tid in enumerate(video.track_ids):
        ok = isinstance(tid, (int, float, np.integer, np.floating)) and not isinstance(tid, bool)
        if not ok or not np.isfinite(tid):
            f = int(video.persons.frame[i])
            who = 'a GT person' if what == 'GT' else 'a prediction'
            raise PoseTrackFormatError(
                f'{video.source}: {who} in frame {f} ({video.frame_names[f]!r}) has '
                f'track_id {tid!r}; the tracking evaluation needs a number for every person'
            )
        ids[i] = tid
    if len(ids) and ids.max() >= MAX_TRACK_ID:
        i = int(np.argmax(ids))
        f = int(video.persons.frame[i])
        raise PoseTrackFormatError(
            f'{video.source}: {what} track_id {video.track_ids[i]!r} in frame {f} '
            f'({video.frame_names[f]!r}) is >= {MAX_TRACK_ID}, which poseval does not accept '
            f'(it asserts track_id < {MAX_TRACK_ID}); renumber the tracks of this video'
        )
    return ids


def _check_unique_per_frame(video: PoseTrackVideo, ids: np.ndarray, what: str) -> None:
    """Raise if an id appears twice in one frame (poseval: ``Non-unique tracklet IDs``)."""
    if len(ids) < 2:
        return
    order = np.lexsort((ids, video.persons.frame))
    f, t = video.persons.frame[order], ids[order]
    dup = np.flatnonzero((f[1:] == f[:-1]) & (t[1:] == t[:-1]))
    if len(dup):
        i = int(order[dup[0]])
        fr = int(video.persons.frame[i])
        raise PoseTrackFormatError(
            f'{video.source}: {what} track_id {video.track_ids[i]!r} appears twice in frame '
            f'{fr} ({video.frame_names[fr]!r}); track ids must be unique within a frame'
        )


# ------------------------------------------------------------------------- accumulators
class JointAccumulators:
    """motmetrics' ``MOTAccumulator`` for the 15 joints of one video, vectorised over joints.

    Track ids are dense indices (``0..num_gt_ids-1`` and ``0..num_pred_ids-1``). The state
    is motmetrics' (``m``, ``res_m``, ``last_match``, ``hypHistory``; with the default
    ``max_switch_time = inf`` the last occurrence never matters). Events are only
    counted; ``sum_d`` is poseval's ``acc.events['D'].sum()``: the distances of the RAW
    events (every candidate pair), of MATCH/SWITCH events and of the extra
    ASCEND/TRANSFER/MIGRATE events.

    Args:
        num_gt_ids (int): Number of distinct GT track ids of the video.
        num_pred_ids (int): Number of distinct predicted track ids of the video.
    """

    def __init__(self, num_gt_ids: int, num_pred_ids: int) -> None:
        j = NUM_JOINTS
        self.m = np.full((j, num_gt_ids), -1, np.int64)  # GT id -> matched pred id
        self.res_m = np.full((j, num_pred_ids), -1, np.int64)  # pred id -> GT id
        self.last_match = np.zeros((j, num_gt_ids), bool)  # GT id was ever matched
        self.hyp_history = np.zeros((j, num_pred_ids), bool)  # pred id was ever matched
        self.counts = {name: np.zeros(j, np.int64) for name in MOT_COUNTS}
        self.counts['num_matches'] = np.zeros(j, np.int64)
        self.sum_d = np.zeros(j, np.float64)

    def update_empty_frame(self) -> None:
        """A frame without GT or without predictions: poseval's ``[0]`` vs ``[0]``, NaN.

        One object and one hypothesis that cannot be matched: one miss and one false
        positive per joint; motmetrics' matching state is unchanged.
        """
        for name in ('num_misses', 'num_false_positives', 'num_objects'):
            self.counts[name] += 1

    def update(
        self,
        gt_ids: np.ndarray,
        pred_ids: np.ndarray,
        gt_valid: np.ndarray,
        pred_valid: np.ndarray,
        dist: np.ndarray,
    ) -> None:
        """One frame, all joints (motmetrics' ``update`` of each joint's accumulator).

        Args:
            gt_ids (np.ndarray): ``(G,)`` dense GT track ids (unique).
            pred_ids (np.ndarray): ``(P,)`` dense predicted track ids (unique).
            gt_valid (np.ndarray): ``(G, 15)`` bool, GT joint annotated.
            pred_valid (np.ndarray): ``(P, 15)`` bool, joint predicted.
            dist (np.ndarray): ``(G, P, 15)`` normalised distances, NaN where the pair is
                not a candidate.
        """
        num_p = len(pred_ids)
        finite = np.isfinite(dist)
        d0 = np.where(finite, dist, 0.0)
        sum_d = d0.sum(axis=(0, 1))  # RAW events
        matched = np.zeros(NUM_JOINTS, np.int64)
        switches = np.zeros(NUM_JOINTS, np.int64)

        # 1) keep previous matches: GT id o with m[o] = h present and a candidate
        prev = self.m[:, gt_ids].T  # (G, 15)
        pos = np.full(self.res_m.shape[1] + 1, -1, np.int64)  # pred id -> row; [-1] -> -1
        pos[pred_ids] = np.arange(num_p)
        p_of = pos[prev]  # (G, 15), -1: not in this frame (or never matched)
        jj = np.arange(NUM_JOINTS)[None, :]
        keep = (p_of >= 0) & finite[np.arange(len(gt_ids))[:, None], np.maximum(p_of, 0), jj]
        g1, j1 = np.nonzero(keep)
        if len(g1):
            p1 = p_of[g1, j1]
            # several GT ids may remember the same pred id: the first GT entry takes it
            key = j1 * num_p + p1
            order = np.lexsort((g1, key))
            first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
            g1, j1, p1 = g1[first], j1[first], p1[first]
            sum_d += np.bincount(j1, dist[g1, p1, j1], NUM_JOINTS)
            matched += np.bincount(j1, minlength=NUM_JOINTS)
            self.last_match[j1, gt_ids[g1]] = True
            self.hyp_history[j1, pred_ids[p1]] = True
            finite[g1, :, j1] = False  # masked rows / columns
            finite[:, p1, j1] = False

        # 2) Hungarian on the rest (one problem per joint, as motmetrics)
        if finite.any():
            g2, p2, j2 = self._assign(dist, finite, gt_valid, pred_valid)
            o, h = gt_ids[g2], pred_ids[p2]
            prev_h = self.m[j2, o]
            switch = (prev_h >= 0) & (prev_h != h)
            ascend = switch & ~self.hyp_history[j2, h]
            prev_o = self.res_m[j2, h]
            transfer = (prev_o >= 0) & (prev_o != o)
            migrate = transfer & ~self.last_match[j2, o]
            weight = 1.0 + ascend + transfer + migrate
            sum_d += np.bincount(j2, dist[g2, p2, j2] * weight, NUM_JOINTS)
            switches += np.bincount(j2[switch], minlength=NUM_JOINTS)
            matched += np.bincount(j2[~switch], minlength=NUM_JOINTS)
            self.hyp_history[j2, h] = True
            self.last_match[j2, o] = True
            self.m[j2, o] = h
            self.res_m[j2, h] = o

        n_obj = gt_valid.sum(axis=0)
        n_hyp = pred_valid.sum(axis=0)
        det = matched + switches
        c = self.counts
        c['num_matches'] += matched
        c['num_switches'] += switches
        c['num_detections'] += det
        c['num_objects'] += n_obj
        c['num_misses'] += n_obj - det
        c['num_false_positives'] += n_hyp - det
        self.sum_d += sum_d

    @staticmethod
    def _assign(
        dist: np.ndarray, allowed: np.ndarray, gt_valid: np.ndarray, pred_valid: np.ndarray
    ) -> Tuple[np.ndarray, ...]:
        """Minimum-distance assignment per joint, exactly as motmetrics with scipy solves it.

        For each joint with allowed pairs left, motmetrics' matrix is rebuilt (rows: the GT
        persons with that joint, columns: the predictions with it, in frame order; pairs
        that are not allowed are NaN), NaN replaced by ``lap.add_expensive_edges``' cost
        (larger than any set of allowed pairs, so that the most allowed pairs are matched,
        then the least total distance) and solved with
        ``scipy.optimize.linear_sum_assignment``. Solving the joints one by one on the same
        matrices as motmetrics makes exact ties (duplicated predictions) resolve the same way.

        Returns:
            tuple: ``(g, p, j)`` index arrays of the matched candidate pairs.
        """
        out_g, out_p, out_j = [], [], []
        for j in np.flatnonzero(allowed.any(axis=(0, 1))).tolist():
            rows = np.flatnonzero(gt_valid[:, j])
            cols = np.flatnonzero(pred_valid[:, j])
            ok = allowed[rows[:, None], cols[None, :], j]
            d = dist[rows[:, None], cols[None, :], j]
            big = 2 * min(ok.shape) * (np.abs(d[ok]).max() + 1) + 1
            ri, ci = linear_sum_assignment(np.where(ok, d, big))
            keep = ok[ri, ci]
            out_g.append(rows[ri[keep]])
            out_p.append(cols[ci[keep]])
            out_j.append(np.full(int(keep.sum()), j, np.int64))
        return np.concatenate(out_g), np.concatenate(out_p), np.concatenate(out_j)


# ----------------------------------------------------------------------------- per video
@dataclass
class _TrackFrames:
    """The persons of a video's evaluated frames, ready for the accumulators."""

    frames: np.ndarray  # (F,) evaluated frame indices (file order)
    gt_frame: np.ndarray  # (Ng,) position in ``frames`` of each kept GT person
    gt_ids: np.ndarray  # (Ng,) dense ids
    gt_xy: np.ndarray  # (Ng, 15, 2)
    gt_valid: np.ndarray  # (Ng, 15)
    gt_head: np.ndarray  # (Ng,)
    pred_frame: np.ndarray  # (Np,)
    pred_ids: np.ndarray  # (Np,)
    pred_xy: np.ndarray
    pred_valid: np.ndarray
    num_gt_ids: int
    num_pred_ids: int


def _remove_ignored(
    video: PoseTrackVideo, regions: List[List[np.ndarray]], index: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Valid joints after the ignore regions, and which persons survive.

    Args:
        video (PoseTrackVideo): GT or prediction video.
        regions (List[List[np.ndarray]]): The GT ignore polygons of each frame.
        index (np.ndarray): Persons (of the evaluated frames) to process.

    Returns:
        tuple: ``valid (n, 15)`` bool and ``keep (n,)`` bool (poseval removes a person
        of a frame with ignore regions when none of its joints is left).
    """
    valid = video.persons.valid[index].copy()
    keep = np.ones(len(index), bool)
    frames = video.persons.frame[index]
    for f in np.unique(frames).tolist():
        if not regions[f]:
            continue
        rows = np.flatnonzero(frames == f)
        v = valid[rows]
        if v.any():
            inside = points_in_polygons(video.persons.xy[index[rows]][v], regions[f])
            v[v] = ~inside
            valid[rows] = v
        keep[rows] = v.any(axis=1)
    return valid, keep


def _prepare(gt: PoseTrackVideo, pred: PoseTrackVideo) -> Optional[_TrackFrames]:
    """Select, filter and index the persons of one video pair (None: nothing to evaluate)."""
    if pred.num_frames != gt.num_frames:
        raise PoseTrackFormatError(
            f'{pred.source}: {pred.num_frames} prediction frames but the GT file '
            f'{gt.source} has {gt.num_frames} frames (they are paired by position)'
        )
    gt_tid = _track_id_array(gt, 'GT')
    pred_tid = _track_id_array(pred, 'prediction')
    _check_unique_per_frame(gt, gt_tid, 'GT')
    _check_unique_per_frame(pred, pred_tid, 'prediction')
    labelled = np.flatnonzero(gt.num_rects > 0)
    if len(labelled) == 1:
        logger.warning(
            '%s: only one labelled frame; the tracking evaluation leaves out the last labelled '
            'frame of every video, so this video adds nothing (poseval fails on it)',
            gt.source,
        )
    frames = labelled[:-1]
    if not len(frames):
        return None
    slot = np.full(gt.num_frames, -1, np.int64)
    slot[frames] = np.arange(len(frames))

    out = {}
    for key, video, tid in (('gt', gt, gt_tid), ('pred', pred, pred_tid)):
        index = np.flatnonzero(slot[video.persons.frame] >= 0)
        valid, keep = _remove_ignored(video, gt.ignore_regions, index)
        index, valid = index[keep], valid[keep]
        _, dense_all = np.unique(tid, return_inverse=True)
        out[key] = (index, valid, dense_all.reshape(-1)[index], int(dense_all.max(initial=-1)) + 1)
    gi, gv, gid, n_gid = out['gt']
    pi, pv, pid, n_pid = out['pred']
    return _TrackFrames(
        frames=frames,
        gt_frame=slot[gt.persons.frame[gi]],
        gt_ids=gid,
        gt_xy=gt.persons.xy[gi],
        gt_valid=gv,
        gt_head=gt.persons.head_size[gi],
        pred_frame=slot[pred.persons.frame[pi]],
        pred_ids=pid,
        pred_xy=pred.persons.xy[pi],
        pred_valid=pv,
        num_gt_ids=n_gid,
        num_pred_ids=n_pid,
    )


def accumulate_video(
    gt: PoseTrackVideo, pred: PoseTrackVideo, threshold: float = MOT_DIST_THRESHOLD
) -> Tuple[Dict[str, np.ndarray], int]:
    """poseval's per-joint CLEAR-MOT counts of one video.

    Args:
        gt (PoseTrackVideo): GT video (``track_id`` for every person).
        pred (PoseTrackVideo): Prediction video with the same number of frames.
        threshold (float): PCKh threshold of the candidates. Defaults to 0.5.

    Returns:
        tuple: ``counts`` (``MOT_COUNTS`` and ``sum_d``, ``(15,)`` arrays) and the number
        of evaluated frames.
    """
    t = _prepare(gt, pred)
    acc = JointAccumulators(t.num_gt_ids if t else 0, t.num_pred_ids if t else 0)
    if t is None:
        return dict(acc.counts, sum_d=acc.sum_d), 0
    nf = len(t.frames)
    g_count = np.bincount(t.gt_frame, minlength=nf)
    p_count = np.bincount(t.pred_frame, minlength=nf)
    g_start = np.cumsum(g_count) - g_count
    p_start = np.cumsum(p_count) - p_count
    # candidate distances of all (GT, pred) pairs of all frames at once
    n_pairs = g_count * p_count
    pair_start = np.cumsum(n_pairs) - n_pairs
    pair_frame = np.repeat(np.arange(nf), n_pairs)
    local = np.arange(len(pair_frame)) - pair_start[pair_frame]  # GT-major within a frame
    pg = g_start[pair_frame] + local // np.maximum(p_count[pair_frame], 1)
    pp = p_start[pair_frame] + local % np.maximum(p_count[pair_frame], 1)
    with np.errstate(divide='ignore', invalid='ignore'):
        delta = t.pred_xy[pp] - t.gt_xy[pg]
        dist = np.sqrt(np.sum(delta * delta, axis=-1)) / t.gt_head[pg][:, None]
        cand = t.gt_valid[pg] & t.pred_valid[pp] & (dist <= threshold)
    dist = np.where(cand, dist, np.nan)
    for f in range(nf):
        ng, npr = int(g_count[f]), int(p_count[f])
        if ng == 0 or npr == 0:
            acc.update_empty_frame()
            continue
        gs, ps, s = int(g_start[f]), int(p_start[f]), int(pair_start[f])
        acc.update(
            t.gt_ids[gs : gs + ng],
            t.pred_ids[ps : ps + npr],
            t.gt_valid[gs : gs + ng],
            t.pred_valid[ps : ps + npr],
            dist[s : s + ng * npr].reshape(ng, npr, NUM_JOINTS),
        )
    return dict(acc.counts, sum_d=acc.sum_d), nf


# ------------------------------------------------------------------------------- metrics
def mot_metrics(counts: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """poseval's final MOTA/MOTP/precision/recall from summed per-joint counts.

    Args:
        counts (dict): ``(15,)`` arrays ``num_misses``, ``num_switches``,
            ``num_false_positives``, ``num_objects``, ``num_detections``, ``sum_d``.

    Returns:
        dict: ``mota``, ``motp``, ``pre``, ``rec`` as ``(16,)`` float64 arrays (15 joints,
        then the mean over the joints with a defined value; NaN where undefined).
    """
    obj = counts['num_objects'].astype(np.float64)
    obj = np.where(obj > 0, obj, np.nan)
    fp = counts['num_false_positives'].astype(np.float64)
    det = counts['num_detections'].astype(np.float64)
    s = counts['sum_d'].astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        mota = 100 * (1.0 - (counts['num_misses'] + counts['num_switches'] + fp) / obj)
        motp = np.where((det == 0) | np.isnan(s), 0.0, 100 * (1.0 - s / det))
        total_det = np.where(fp + det > 0, fp + det, np.nan)
        pre = 100 * det / total_det
        rec = 100 * det / obj

    def _with_total(v: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(v)
        return np.append(v, v[ok].mean() if ok.any() else np.nan)

    return dict(
        mota=_with_total(mota), motp=_with_total(motp), pre=_with_total(pre), rec=_with_total(rec)
    )


def evaluate_tracking(
    gt_videos: Sequence[PoseTrackVideo], pred_videos: Sequence[PoseTrackVideo]
) -> Dict[str, Any]:
    """poseval's tracking evaluation of prediction videos against GT videos.

    Args:
        gt_videos (Sequence[PoseTrackVideo]): GT videos (every person with a ``track_id``).
        pred_videos (Sequence[PoseTrackVideo]): One prediction video per GT video (same
            order and number of frames), every person with a ``track_id``.

    Returns:
        dict: ``mota``, ``motp``, ``pre``, ``rec`` (``(16,)``: 15 poseval joints, then the
        total), the summed ``(15,)`` counts (``MOT_COUNTS``, ``num_matches``, ``sum_d``),
        ``num_frames`` (evaluated frames) and ``skipped_videos`` (sources of the videos with
        a single labelled frame).
    """
    if len(gt_videos) != len(pred_videos):
        raise ValueError(f'{len(gt_videos)} GT videos but {len(pred_videos)} prediction videos')
    total = {name: np.zeros(NUM_JOINTS, np.int64) for name in MOT_COUNTS + ('num_matches',)}
    total['sum_d'] = np.zeros(NUM_JOINTS, np.float64)
    num_frames, skipped = 0, []
    for gt, pred in zip(gt_videos, pred_videos):
        counts, nf = accumulate_video(gt, pred)
        if nf == 0 and int((gt.num_rects > 0).sum()) == 1:
            skipped.append(gt.source)
        for name in total:
            total[name] = total[name] + counts[name]
        num_frames += nf
    result: Dict[str, Any] = mot_metrics(total)
    result.update(total)
    result.update(num_frames=num_frames, skipped_videos=skipped)
    return result


def evaluate_tracking_dirs(
    gt_dir: str, pred_dir: str, gt_format: Optional[str] = None
) -> Dict[str, Any]:
    """Tracking evaluation of a folder of per-video prediction files.

    Args:
        gt_dir (str): Per-video GT files (PoseTrack17 ``annolist`` or PoseTrack18).
        pred_dir (str): Prediction files with the same names (either format).
        gt_format (str, optional): ``'pt17'``/``'pt18'`` to insist on a GT format.

    Returns:
        dict: See :func:`evaluate_tracking`.
    """
    gt_videos = load_gt_dir(gt_dir, gt_format)
    return evaluate_tracking(gt_videos, load_pred_dir(pred_dir, gt_videos))


# ----------------------------------------------------------------------------- reporting
def mot_metrics_to_json(result: Dict[str, Any]) -> Dict[str, Any]:
    """poseval's ``total_MOT_metrics.json`` layout.

    Args:
        result (dict): Output of :func:`evaluate_tracking`.

    Returns:
        dict: ``{"mota": [16], "motp": [16], "pre": [16], "rec": [16], "names": {...}}``.
    """
    out = {key: [float(v) for v in result[key]] for key in ('mota', 'motp', 'pre', 'rec')}
    out['names'] = {str(i): n for i, n in enumerate(POSEVAL_NAMES)}
    return out


def summarize_mot(result: Dict[str, Any]) -> 'OrderedDict[str, float]':
    """poseval's MOT table row: MOTA per joint group and total, then MOTP/Prec/Rec totals.

    Args:
        result (dict): Output of :func:`evaluate_tracking`.

    Returns:
        OrderedDict: ``MOTA Head, ..., MOTA Total, MOTP, Prec, Rec`` -> value.
    """
    mota = np.asarray(result['mota'], np.float64)
    out = OrderedDict(
        (f'MOTA {name}', float(mota[list(idx)].mean())) for name, idx in JOINT_GROUPS.items()
    )
    out['MOTA Total'] = float(mota[NUM_JOINTS])
    out['MOTP'] = float(result['motp'][NUM_JOINTS])
    out['Prec'] = float(result['pre'][NUM_JOINTS])
    out['Rec'] = float(result['rec'][NUM_JOINTS])
    return out


def format_mot_table(result: Dict[str, Any], name: str = 'Ours') -> str:
    """Format the tracking metrics like poseval's MOT table (one decimal).

    Args:
        result (dict): Output of :func:`evaluate_tracking`.
        name (str): Method name. Defaults to 'Ours'.

    Returns:
        str: Two header lines and one line of values.
    """
    row = summarize_mot(result)
    width = max(len('Method'), len(name))
    top = f'{"":<{width}}' + ''.join(f'  {k.split()[0]:>6}' for k in row)
    sub = f'{"Method":<{width}}' + ''.join(
        f'  {(k.split()[1] if " " in k else "Total"):>6}' for k in row
    )
    vals = f'{name:<{width}}' + ''.join(f'  {v:>6.1f}' for v in row.values())
    return '\n'.join([top, sub, '-' * len(sub), vals])
