# Copyright (c) OpenMMLab. All rights reserved.
"""A deliberately naive, loop-based restatement of poseval's per-frame AP, for tests.

It follows the structure of poseval (``eval_helpers.load_data_dir`` -> ``cleanupData`` ->
``removeIgnoredPoints`` -> ``evaluateAP.assignGTmulti`` -> ``computeMetrics``) frame by
frame, person by person and joint by joint, on the PoseTrack17 ``annolist`` dicts, with
shapely for the ignore regions. The vectorised implementation is checked against it on
random data. Ties in the ranking use ``argsort(kind='stable')[::-1]``, the rule the
plugin documents.
"""

import copy
from typing import Dict, List, Tuple

import numpy as np

from fasrnet_mmpose.evaluation.functional.posetrack_data import POSEVAL_JOINTS, PT18_KEYPOINTS

POSEVAL = POSEVAL_JOINTS
PT18 = PT18_KEYPOINTS
MIN_SCORE = -9999


def to_annolist(data: dict) -> List[dict]:
    """Return the ``annolist`` frames of a PT17 or PT18 per-video dict (PT18 converted).

    PT18 keypoints stored as ``(0, 0)`` with visibility 0 are left out, the head box becomes
    ``x1, y1, x2 = x1 + w, y2 = y1 + h``, ``track_id``/``score`` become 1-element lists
    (poseval's converter).
    """
    if 'annolist' in data:
        return copy.deepcopy(data['annolist'])
    names = PT18
    if data.get('categories'):
        names = data['categories'][0]['keypoints']
    table = [POSEVAL.index(n) if n in POSEVAL else None for n in names]
    frames, by_id = [], {}
    for img in data['images']:
        fr = {'image': [{'name': img.get('file_name', '')}], 'annorect': []}
        if img.get('ignore_regions_x'):
            fr['ignore_regions'] = [
                {'point': [{'x': [x], 'y': [y]} for x, y in zip(xs, ys)]}
                for xs, ys in zip(img['ignore_regions_x'], img['ignore_regions_y'])
            ]
        frames.append(fr)
        by_id[img['id']] = fr
    for ann in data.get('annotations', []):
        rect = {}
        if 'track_id' in ann:
            rect['track_id'] = [ann['track_id']]
        points = []
        if ann.get('keypoints') is not None:
            kp = np.array(ann['keypoints'], dtype=float).reshape(len(table), 3)
            for k in range(len(table)):
                x, y, v = kp[k]
                if table[k] is None or (x == 0 and y == 0 and v == 0):
                    continue
                pt = {'id': [table[k]], 'x': [x], 'y': [y], 'is_visible': [v]}
                if ann.get('scores'):
                    pt['score'] = [ann['scores'][k]]
                points.append(pt)
        rect['annopoints'] = [{'point': points}]
        if ann.get('bbox_head'):
            x, y, w, h = ann['bbox_head']
            rect.update(x1=[x], y1=[y], x2=[x + w], y2=[y + h])
        if 'score' in ann:
            rect['score'] = [ann['score']]
        by_id[ann['image_id']]['annorect'].append(rect)
    return frames


def _point(points: list, pid: int):
    for p in points:
        if p['id'][0] == pid:
            return p
    return None


def _rect_points(rect: dict) -> list:
    ap = rect.get('annopoints')
    if not ap:
        return []
    return ap[0].get('point', [])


def evaluate(pairs: List[Tuple[dict, dict]]) -> Dict[str, np.ndarray]:
    """poseval's evaluateAP on ``[(gt_dict, pred_dict), ...]`` (one pair per video)."""
    from shapely import geometry

    gt_all, pr_all = [], []
    for gt, pr in pairs:
        g, p = to_annolist(gt), to_annolist(pr)
        assert len(g) == len(p)
        gt_all += g
        pr_all += p
    # cleanupData: drop GT frames without annorects, and rects without points
    keep = [i for i in range(len(gt_all)) if len(gt_all[i]['annorect']) > 0]
    gt_all = [gt_all[i] for i in keep]
    pr_all = [pr_all[i] for i in keep]
    # removeIgnoredPoints
    for g, p in zip(gt_all, pr_all):
        polys = []
        for reg in g.get('ignore_regions', []):
            pts = [(q['x'][0], q['y'][0]) for q in reg['point']]
            if len(pts) >= 3:
                polys.append(geometry.Polygon(pts))
        if not polys:
            continue
        for fr in (g, p):
            rects = []
            for rect in fr['annorect']:
                pts = [
                    q
                    for q in _rect_points(rect)
                    if not any(
                        poly.contains(geometry.Point(q['x'][0], q['y'][0])) for poly in polys
                    )
                ]
                if pts:
                    rect = dict(rect, annopoints=[{'point': pts}])
                    rects.append(rect)
            fr['annorect'] = rects

    nj = 15
    scores = [[] for _ in range(nj)]
    labels = [[] for _ in range(nj)]
    n_gt = np.zeros(nj)
    for g, p in zip(gt_all, pr_all):
        gts, prs = g['annorect'], p['annorect']
        has_gt = np.zeros((len(gts), nj), bool)
        has_pr = np.zeros((len(prs), nj), bool)
        score = np.full((len(prs), nj), np.nan)
        for j, rect in enumerate(gts):
            for i in range(nj):
                has_gt[j, i] = _point(_rect_points(rect), i) is not None
        for r, rect in enumerate(prs):
            for i in range(nj):
                pt = _point(_rect_points(rect), i)
                if pt is not None:
                    has_pr[r, i] = True
                    score[r, i] = pt['score'][0] if 'score' in pt else MIN_SCORE
        n_gt += has_gt.sum(axis=0)
        if len(prs) and len(gts):
            dist = np.full((len(prs), len(gts), nj), np.inf)
            for j, rect in enumerate(gts):
                head = 0.6 * np.linalg.norm(
                    np.subtract([rect['x2'][0], rect['y2'][0]], [rect['x1'][0], rect['y1'][0]])
                )
                for r, prect in enumerate(prs):
                    for i in range(nj):
                        if has_pr[r, i] and has_gt[j, i]:
                            a = _point(_rect_points(rect), i)
                            b = _point(_rect_points(prect), i)
                            d = np.array([a['x'][0] - b['x'][0], a['y'][0] - b['y'][0]])
                            with np.errstate(divide='ignore', invalid='ignore'):
                                dist[r, j, i] = np.sqrt(d[0] * d[0] + d[1] * d[1]) / head
            match = dist <= 0.5
            pck = 1.0 * np.sum(match, axis=2)
            ngtp = has_gt.sum(axis=1)
            for r in range(len(prs)):
                for j in range(len(gts)):
                    if ngtp[j] > 0:
                        pck[r, j] = pck[r, j] / ngtp[j]
            best = np.argmax(pck, axis=1)
            for r in range(len(prs)):
                for j in range(len(gts)):
                    if j != best[r]:
                        pck[r, j] = 0
            pr_to_gt = np.argmax(pck, axis=0)
            pr_to_gt[np.max(pck, axis=0) == 0] = -1
            for r in range(len(prs)):
                assigned = np.flatnonzero(pr_to_gt == r)
                for i in range(nj):
                    if has_pr[r, i]:
                        scores[i].append(score[r, i])
                        labels[i].append(bool(len(assigned)) and bool(match[r, assigned[0], i]))
        elif not len(gts):
            for r in range(len(prs)):
                for i in range(nj):
                    if has_pr[r, i]:
                        scores[i].append(score[r, i])
                        labels[i].append(False)

    ap, pre, rec = np.zeros(nj + 1), np.zeros(nj + 1), np.zeros(nj + 1)
    for i in range(nj):
        s = np.array(scores[i], dtype=float)
        lab = np.array(labels[i], dtype=bool)
        if not len(s):
            continue
        order = np.argsort(s, kind='stable')[::-1]
        npos, precision, recall = 0, [], []
        for k, idx in enumerate(order):
            npos += int(lab[idx])
            with np.errstate(divide='ignore', invalid='ignore'):
                recall.append(np.float64(npos) / n_gt[i])
            precision.append(npos / (k + 1))
        mpre = [0.0] + precision + [0.0]
        mrec = [0.0] + recall + [1.0]
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        area = 0.0
        for k in range(1, len(mrec)):
            if mrec[k] != mrec[k - 1]:
                area += (mrec[k] - mrec[k - 1]) * mpre[k]
        ap[i] = area * 100
        pre[i] = precision[-1] * 100
        rec[i] = recall[-1] * 100
    for v in (ap, pre, rec):
        ok = ~np.isnan(v[:nj])
        v[nj] = v[:nj][ok].mean() if ok.any() else np.nan
    return dict(ap=ap, pre=pre, rec=rec, num_gt=n_gt)
