# Copyright (c) OpenMMLab. All rights reserved.
"""poseval's multi-person pose tracking evaluation (per-joint CLEAR-MOT with motmetrics 1.4.0's
matching, MOTA/MOTP/precision/recall) in numpy and scipy; conventions: ``docs/tracking.md``."""

import logging
from functools import partial
from typing import Any, Dict, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from . import posetrack_protocol as protocol
from .posetrack_data import NUM_JOINTS, PoseTrackFormatError, PoseTrackVideo, Videos, is_number
from .posetrack_formats import check_track_ids

logger = logging.getLogger(__name__)

MAX_TRACK_ID = 10000  # poseval asserts track_id < MAX_TRACK_ID
MOT_DIST_THRESHOLD = 0.5  # candidates: distance / head size <= 0.5 (poseval's distThresh)
#: The per-joint CLEAR-MOT counts summed over videos (plus ``sum_d``).
MOT_COUNTS = ('num_misses', 'num_switches', 'num_false_positives', 'num_objects')
MOT_COUNTS += ('num_detections', 'num_matches')
MOT_KEYS = ('mota', 'motp', 'pre', 'rec')


class JointAccumulators:
    """motmetrics' ``MOTAccumulator`` for the 15 joints of one video at once (dense track ids;
    events counted, ``sum_d`` = poseval's ``acc.events['D'].sum()``)."""

    def __init__(self, num_gt_ids: int, num_pred_ids: int) -> None:
        j = NUM_JOINTS
        self.m = np.full((j, num_gt_ids), -1, np.int64)  # GT id -> matched pred id
        self.res_m = np.full((j, num_pred_ids), -1, np.int64)  # pred id -> GT id
        self.last_match = np.zeros((j, num_gt_ids), bool)  # GT id was ever matched
        self.hyp_history = np.zeros((j, num_pred_ids), bool)  # pred id was ever matched
        self.counts = {name: np.zeros(j, np.int64) for name in MOT_COUNTS}
        self.sum_d = np.zeros(j, np.float64)

    def update_empty_frame(self) -> None:
        """A frame without GT or predictions: one miss and one false positive per joint."""
        for name in ('num_misses', 'num_false_positives', 'num_objects'):
            self.counts[name] += 1

    def update(self, gt_ids, pred_ids, gt_valid, pred_valid, dist: np.ndarray) -> None:
        """motmetrics' ``update`` of one frame for all joints: ``gt_ids`` (G,), ``pred_ids`` (P,)
        dense ids, ``gt_valid`` (G, 15), ``pred_valid`` (P, 15), ``dist`` (G, P, 15) (NaN: not a
        candidate)."""
        finite = np.isfinite(dist)
        sum_d = np.where(finite, dist, 0.0).sum(axis=(0, 1))  # RAW events
        matched, switches = np.zeros(NUM_JOINTS, np.int64), np.zeros(NUM_JOINTS, np.int64)
        # 1) keep previous matches: GT id o with m[o] = h present and a candidate
        pos = np.full(self.res_m.shape[1] + 1, -1, np.int64)  # pred id -> column; [-1] -> -1
        pos[pred_ids] = np.arange(len(pred_ids))
        p_of = pos[self.m[:, gt_ids].T]  # (G, 15), -1: not in this frame (or never matched)
        jj = np.arange(NUM_JOINTS)[None, :]
        keep = (p_of >= 0) & finite[np.arange(len(gt_ids))[:, None], np.maximum(p_of, 0), jj]
        g1, j1 = np.nonzero(keep)
        if len(g1):
            p1 = p_of[g1, j1]
            key = j1 * len(pred_ids) + p1  # several GT ids may remember one pred id: first wins
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
            prev_h, prev_o = self.m[j2, o], self.res_m[j2, h]
            switch = (prev_h >= 0) & (prev_h != h)
            ascend = switch & ~self.hyp_history[j2, h]
            transfer = (prev_o >= 0) & (prev_o != o)
            migrate = transfer & ~self.last_match[j2, o]
            weight = 1.0 + ascend + transfer + migrate
            sum_d += np.bincount(j2, dist[g2, p2, j2] * weight, NUM_JOINTS)
            switches += np.bincount(j2[switch], minlength=NUM_JOINTS)
            matched += np.bincount(j2[~switch], minlength=NUM_JOINTS)
            self.hyp_history[j2, h] = self.last_match[j2, o] = True
            self.m[j2, o], self.res_m[j2, h] = h, o
        n_obj, n_hyp, det = gt_valid.sum(axis=0), pred_valid.sum(axis=0), matched + switches
        values = (n_obj - det, switches, n_hyp - det, n_obj, det, matched)
        for name, value in zip(MOT_COUNTS, values):
            self.counts[name] += value
        self.sum_d += sum_d

    @staticmethod
    def _assign(dist, allowed, gt_valid, pred_valid) -> Tuple[np.ndarray, ...]:
        """``(g, p, j)`` pairs matched per joint on motmetrics' own matrix, by scipy."""
        out = []
        for j in np.flatnonzero(allowed.any(axis=(0, 1))).tolist():
            rows, cols = np.flatnonzero(gt_valid[:, j]), np.flatnonzero(pred_valid[:, j])
            ok = allowed[rows[:, None], cols[None, :], j]
            d = dist[rows[:, None], cols[None, :], j]
            big = 2 * min(ok.shape) * (np.abs(d[ok]).max() + 1) + 1
            ri, ci = linear_sum_assignment(np.where(ok, d, big))
            keep = ok[ri, ci]
            out.append((rows[ri[keep]], cols[ci[keep]], np.full(int(keep.sum()), j, np.int64)))
        return tuple(np.concatenate(x) for x in zip(*out))


def _check_numeric_ids(video: PoseTrackVideo, what: str) -> None:
    """Raise unless every track id is a finite number ``< MAX_TRACK_ID`` (poseval's rules)."""
    tids = video.persons.track_id.tolist()
    ok = [is_number(t) and np.isfinite(t) for t in tids]
    ids = np.array([t if o else np.inf for t, o in zip(tids, ok)], np.float64)
    if not len(ids) or ids.max() < MAX_TRACK_ID:
        return
    i = int(np.argmax(ids))  # the first non-number, else the first id too large
    if not ok[i]:
        who = 'a GT person' if what == 'GT' else 'a prediction'
        raise PoseTrackFormatError(
            f'{video.source}: {who} in {video.where(i)} has track_id {tids[i]!r}; the tracking '
            'evaluation needs a number for every person'
        )
    raise PoseTrackFormatError(
        f'{video.source}: {what} track_id {tids[i]!r} in {video.where(i)} is >= {MAX_TRACK_ID}, '
        f'which poseval does not accept (it asserts track_id < {MAX_TRACK_ID}); renumber the '
        'tracks of this video'
    )


def accumulate_video(
    gt: PoseTrackVideo, pred: PoseTrackVideo, threshold: float = MOT_DIST_THRESHOLD
) -> Tuple[Dict[str, np.ndarray], int]:
    """poseval's per-joint CLEAR-MOT counts (``MOT_COUNTS``, ``sum_d``) of one video, frames."""
    for video, what in ((gt, 'GT'), (pred, 'prediction')):
        _check_numeric_ids(video, what)
        check_track_ids(video, what)
    g, p, nf, has_regions = protocol.select_frames([gt], [pred], drop_last=True)
    # in a frame with ignore regions, a person left without joints is removed
    g, p = (x.take(x.valid.any(axis=1) | ~has_regions[x.frame]) for x in (g, p))
    _, gid = np.unique(g.track_id.astype(np.float64), return_inverse=True)
    _, pid = np.unique(p.track_id.astype(np.float64), return_inverse=True)
    acc = JointAccumulators(int(gid.max(initial=-1)) + 1, int(pid.max(initial=-1)) + 1)
    pair_gt, pair_pred = protocol.group_pairs(g.frame, p.frame)  # GT-major within a frame
    with np.errstate(invalid='ignore'):
        dist = protocol.pckh_distances(g, p, pair_gt, pair_pred)
        dist[~(dist <= threshold)] = np.nan  # candidates only
    g_count, p_count = np.bincount(g.frame, minlength=nf), np.bincount(p.frame, minlength=nf)
    g_start, p_start = np.cumsum(g_count) - g_count, np.cumsum(p_count) - p_count
    pair_start = np.cumsum(g_count * p_count) - g_count * p_count
    for f, (ng, npr, gs, ps, s) in enumerate(zip(g_count, p_count, g_start, p_start, pair_start)):
        if ng == 0 or npr == 0:
            acc.update_empty_frame()
            continue
        gsl, psl = slice(gs, gs + ng), slice(ps, ps + npr)
        d = dist[s : s + ng * npr].reshape(ng, npr, NUM_JOINTS)
        acc.update(gid[gsl], pid[psl], g.valid[gsl], p.valid[psl], d)
    return dict(acc.counts, sum_d=acc.sum_d), nf


def mot_metrics(counts: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """poseval's ``mota``, ``motp``, ``pre``, ``rec`` (``(16,)``) of the summed counts."""
    obj = np.where(counts['num_objects'] > 0, counts['num_objects'], np.nan)
    fp, det = counts['num_false_positives'] * 1.0, counts['num_detections'] * 1.0
    s = counts['sum_d']
    with np.errstate(divide='ignore', invalid='ignore'):
        mota = 100 * (1.0 - (counts['num_misses'] + counts['num_switches'] + fp) / obj)
        motp = np.where((det == 0) | np.isnan(s), 0.0, 100 * (1.0 - s / det))
        pre = 100 * det / np.where(fp + det > 0, fp + det, np.nan)
        rec = 100 * det / obj
    return {k: protocol.with_total(v) for k, v in zip(MOT_KEYS, (mota, motp, pre, rec))}


def evaluate_tracking(gt_videos: Videos, pred_videos: Videos) -> Dict[str, Any]:
    """poseval's tracking evaluation of prediction videos against GT videos (paired by position):
    ``mota``, ``motp``, ``pre``, ``rec`` (16,), counts, ``num_frames``, ``skipped_videos``."""
    if len(gt_videos) != len(pred_videos):
        raise ValueError(f'{len(gt_videos)} GT videos but {len(pred_videos)} prediction videos')
    total = {name: np.zeros(NUM_JOINTS, np.int64) for name in MOT_COUNTS}
    total['sum_d'] = np.zeros(NUM_JOINTS, np.float64)
    num_frames, skipped = 0, []
    for gt, pred in zip(gt_videos, pred_videos):
        counts, nf = accumulate_video(gt, pred)
        if (gt.num_rects > 0).sum() == 1:  # poseval fails on such a video
            logger.warning(
                '%s: only one labelled frame, the last of the video: left out', gt.source
            )
            skipped.append(gt.source)
        total = {name: total[name] + counts[name] for name in total}
        num_frames += nf
    return dict(mot_metrics(total), **total, num_frames=num_frames, skipped_videos=skipped)


#: :func:`evaluate_tracking` of the prediction files of a folder against a GT folder.
evaluate_tracking_dirs = partial(protocol.evaluate_dirs, evaluate=evaluate_tracking)


def format_mot_table(result: Dict[str, Any], name: str = 'Ours') -> str:
    """poseval's MOT table: MOTA per joint group and total, then MOTP, Prec, Rec totals."""
    row = [(f'MOTA {k}', v) for k, v in protocol.summarize(result['mota']).items()]
    row += [(f'{t} Total', result[k][-1]) for t, k in zip(('MOTP', 'Prec', 'Rec'), MOT_KEYS[1:])]
    width = max(len('Method'), len(name))
    top = f'{"":<{width}}' + ''.join(f'  {k.split()[0]:>6}' for k, _ in row)
    sub = f'{"Method":<{width}}' + ''.join(f'  {k.split()[1]:>6}' for k, _ in row)
    vals = f'{name:<{width}}' + ''.join(f'  {v:>6.1f}' for _, v in row)
    return '\n'.join([top, sub, '-' * len(sub), vals])
