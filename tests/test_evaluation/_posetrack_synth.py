# Copyright (c) OpenMMLab. All rights reserved.
"""Random PoseTrack per-video GT/prediction dicts (both formats) for the evaluation tests."""

import json
import os
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fasrnet_mmpose.evaluation.functional.posetrack_data import POSEVAL_TO_PT18, PT18_KEYPOINTS

PT18_NAMES = PT18_KEYPOINTS
#: the header row of poseval's printed AP table
TABLE_HEADER = 'Method Head Shoulder Elbow Wrist Hip Knee Ankle mAP'.split()
CATEGORIES = [dict(supercategory='person', id=1, name='person', keypoints=list(PT18_NAMES))]


class Person:
    """A person in poseval joint order: ``xy`` (15, 2), ``has`` (15,), ``score`` (15,)."""

    def __init__(self, xy, has, score=None, head=None, box_score=1.0):
        self.xy = np.asarray(xy, float).reshape(15, 2)
        self.has = np.asarray(has, bool).reshape(15)
        self.score = np.ones(15) if score is None else np.asarray(score, float).reshape(15)
        self.head = head  # (x, y, w, h) for GT
        self.box_score = box_score


class Frame:
    """One frame: GT persons, predicted persons and ignore polygons [(xs, ys), ...]."""

    def __init__(self, gt=(), pred=(), regions=()):
        self.gt = list(gt)
        self.pred = list(pred)
        self.regions = list(regions)


def image_id(video: int, frame: int) -> int:
    return 10000 * (video + 1) + frame


def frame_name(video_name: str, frame: int) -> str:
    return f'images/val/{video_name}/{frame:06d}.jpg'


def pt18_annotation(
    video: int, frame: int, track_id: int, p: 'Person', third: np.ndarray, **extra
) -> dict:
    """A PT18 annotation of ``p`` (absent joints and ears stored as (0, 0)).

    Args:
        video (int), frame (int): Where (``image_id``).
        track_id (int): The person's track id.
        p (Person): The person, in poseval joint order.
        third (np.ndarray): ``(15,)`` the keypoints' third column (visibility or score).
        **extra: More annotation keys.
    """
    kp = np.zeros((17, 3))
    kp[POSEVAL_TO_PT18, :2] = p.xy * p.has[:, None]
    kp[POSEVAL_TO_PT18, 2] = third
    keypoints = kp.reshape(-1).tolist()
    return dict(image_id=image_id(video, frame), track_id=track_id, keypoints=keypoints, **extra)


def pt17_points(p: 'Person', **column: Sequence) -> List[dict]:
    """The PT17 ``point`` dicts of ``p``'s present joints.

    Args:
        p (Person): The person, in poseval joint order.
        **column: One more per-joint field: its name -> its 15 values (poseval order).
    """
    ((key, values),) = column.items()
    return [
        {'id': [j], 'x': [float(p.xy[j, 0])], 'y': [float(p.xy[j, 1])], key: [values[j]]}
        for j in range(15)
        if p.has[j]
    ]


def gt_pt18(video: int, name: str, frames: Sequence[Frame]) -> dict:
    images, anns = [], []
    for f, fr in enumerate(frames):
        img = dict(
            id=image_id(video, f),
            file_name=frame_name(name, f),
            is_labeled=bool(fr.gt),
            frame_id=image_id(video, f),
            vid_id=name,
            nframes=len(frames),
        )
        if fr.regions:
            img['ignore_regions_x'] = [list(xs) for xs, _ in fr.regions]
            img['ignore_regions_y'] = [list(ys) for _, ys in fr.regions]
        images.append(img)
        for t, p in enumerate(fr.gt):
            extra = dict(id=len(anns), bbox_head=list(p.head), scores=[], category_id=1)
            anns.append(pt18_annotation(video, f, t, p, p.has, **extra))
    return dict(images=images, annotations=anns, categories=CATEGORIES)


def pred_pt18(video: int, name: str, frames: Sequence[Frame]) -> dict:
    images, anns = [], []
    for f, fr in enumerate(frames):
        images.append(dict(id=image_id(video, f), file_name=frame_name(name, f)))
        for t, p in enumerate(fr.pred):
            ann = pt18_annotation(video, f, t, p, p.score * p.has, score=p.box_score)
            anns.append(dict(ann, scores=ann['keypoints'][2::3]))
    return dict(images=images, annotations=anns, categories=CATEGORIES)


def pt17(video: int, name: str, frames: Sequence[Frame], gt: bool) -> dict:
    """A PT17 per-video dict: the GT (head boxes, visibility, ignore regions) or predictions."""
    annolist = []
    for f, fr in enumerate(frames):
        rects = []
        for t, p in enumerate(fr.gt if gt else fr.pred):
            if gt:
                x, y, w, h = p.head
                rect = dict(x1=[x], y1=[y], x2=[x + w], y2=[y + h])
                pts = pt17_points(p, is_visible=[1] * 15)
            else:
                rect = dict(score=[p.box_score])
                pts = pt17_points(p, score=p.score.tolist())
            rects.append(dict(track_id=[t], **rect, annopoints=[dict(point=pts)]))
        item = dict(image=[dict(name=frame_name(name, f))], annorect=rects)
        if gt:
            item['imgnum'] = [f + 1]
        if gt and fr.regions:
            item['ignore_regions'] = [
                dict(point=[dict(x=[x], y=[y]) for x, y in zip(xs, ys)]) for xs, ys in fr.regions
            ]
        annolist.append(item)
    return dict(annolist=annolist)


WRITERS = dict(
    pt18=(gt_pt18, pred_pt18),
    pt17=(partial(pt17, gt=True), partial(pt17, gt=False)),
)


def write_videos(
    root: str,
    videos: Dict[str, List[Frame]],
    gt_format: str = 'pt18',
    pred_format: Optional[str] = None,
) -> Tuple[str, str]:
    """Write ``root/gt/<name>.json`` and ``root/pred/<name>.json``; return both folders."""
    pred_format = pred_format or gt_format
    gt_dir, pred_dir = osp.join(root, 'gt'), osp.join(root, 'pred')
    os.makedirs(gt_dir, exist_ok=True)
    os.makedirs(pred_dir, exist_ok=True)
    for v, (name, frames) in enumerate(sorted(videos.items())):
        with open(osp.join(gt_dir, name + '.json'), 'w') as f:
            json.dump(WRITERS[gt_format][0](v, name, frames), f)
        with open(osp.join(pred_dir, name + '.json'), 'w') as f:
            json.dump(WRITERS[pred_format][1](v, name, frames), f)
    return gt_dir, pred_dir


def to_pairs(
    videos: Dict[str, List[Frame]], gt_format: str = 'pt18', pred_format: Optional[str] = None
) -> List[Tuple[dict, dict]]:
    """The (GT dict, prediction dict) pairs of :func:`write_videos`, in the same order."""
    pred_format = pred_format or gt_format
    return [
        (WRITERS[gt_format][0](v, name, frames), WRITERS[pred_format][1](v, name, frames))
        for v, (name, frames) in enumerate(sorted(videos.items()))
    ]


def random_videos(
    seed: int, num_videos: int = 3, num_frames: int = 4, ties: bool = False
) -> Dict[str, List[Frame]]:
    """Random videos exercising the protocol's corner cases.

    Frames without GT persons, persons with unannotated joints, ignore regions (random
    quadrilaterals, possibly self-intersecting, and an axis-aligned rectangle with joints
    exactly on its boundary), missed persons, duplicates, false positives, joints not
    predicted, near-threshold localisation errors and (optionally) tied scores.
    """
    rng = np.random.default_rng(seed)
    videos = {}
    for v in range(num_videos):
        frames = []
        for _ in range(num_frames):
            fr = Frame()
            n_gt = int(rng.integers(0, 5)) if rng.random() > 0.15 else 0
            for _ in range(n_gt):
                centre = rng.uniform(150, 850, 2)
                xy = np.round(centre + rng.normal(0, 50, (15, 2)), 1)
                has = rng.random(15) > 0.2
                w, h = rng.uniform(15, 60, 2)
                head = [
                    float(np.round(centre[0] - w / 2, 2)),
                    float(np.round(centre[1] - h, 2)),
                    float(np.round(w, 2)),
                    float(np.round(h, 2)),
                ]
                gt = Person(xy, has, head=head)
                fr.gt.append(gt)
                size = 0.6 * np.hypot(w, h)
                if rng.random() < 0.8:  # detected
                    err = rng.normal(0, 0.35 * size, (15, 2))
                    pxy = np.round(xy + err, 2)
                    score = rng.integers(1, 5, 15) / 4 if ties else rng.random(15)
                    fr.pred.append(Person(pxy, rng.random(15) > 0.1, score))
                    if rng.random() < 0.2:  # duplicate, same or different scores
                        dup_score = score.copy() if rng.random() < 0.5 else rng.random(15)
                        fr.pred.append(Person(pxy.copy(), fr.pred[-1].has.copy(), dup_score))
            for _ in range(int(rng.integers(0, 3))):  # false positives
                fp = rng.uniform(0, 1000, (15, 2)).round(1)
                fr.pred.append(
                    Person(
                        fp,
                        rng.random(15) > 0.3,
                        rng.integers(1, 5, 15) / 4 if ties else rng.random(15),
                    )
                )
            if rng.random() < 0.5:
                quad = rng.uniform(100, 900, (4, 2)).round(0)
                fr.regions.append((quad[:, 0].tolist(), quad[:, 1].tolist()))
            if rng.random() < 0.5 and (fr.gt or fr.pred):
                x0, y0 = rng.integers(100, 700, 2).astype(float)
                rect = ([x0, x0 + 200, x0 + 200, x0], [y0, y0, y0 + 150, y0 + 150])
                fr.regions.append(rect)
                # put a few joints exactly on the boundary or a vertex (not ignored)
                people = fr.gt + fr.pred
                for _ in range(3):
                    p = people[int(rng.integers(len(people)))]
                    j = int(rng.integers(15))
                    p.xy[j] = (
                        [x0 + float(rng.integers(0, 201)), y0]
                        if rng.random() < 0.7
                        else [x0 + 200, y0 + 150]
                    )
            frames.append(fr)
        videos[f'{v:06d}_mpii_test'] = frames
    return videos
