# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack18 ``images``/``annotations`` files: reader (poseval's PT18 conversion) and writer."""

import logging
from typing import Optional, Sequence, Tuple

import numpy as np

from .posetrack_data import (
    MIN_SCORE,
    POSEVAL_JOINTS,
    PT18_KEYPOINTS,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
    absent_joints,
    float_matrix,
    head_size,
    keypoint_table,
    polygon,
)

logger = logging.getLogger(__name__)

#: PoseTrack18 skeleton (1-based keypoint pairs), written into ``categories``.
PT18_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip


def _regions(img: dict, label: str) -> list:
    """The ignore polygons of an image record."""
    rx, ry = img.get('ignore_regions_x'), img.get('ignore_regions_y')
    if rx and not (isinstance(rx, list) and isinstance(ry, list) and len(rx) == len(ry)):
        raise PoseTrackFormatError(
            f'{label}: "ignore_regions_x" and "ignore_regions_y" must be lists with one entry per '
            'region'
        )
    return [polygon(xs, ys, label) for xs, ys in zip(rx, ry)] if rx else []


def read_pt18(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video of a decoded PoseTrack18 file ``source``: GT (``is_gt``: ignore regions, head
    boxes ``x, y, w, h``) or predictions (finite keypoints and per-joint ``scores``)."""
    images, anns = data.get('images'), data.get('annotations') or []
    if not isinstance(images, list) or not isinstance(anns, list):
        raise PoseTrackFormatError(f'{source}: "images" and "annotations" must be lists')
    try:
        id_to_frame = {img['id']: f for f, img in enumerate(images)}
    except (KeyError, TypeError):
        raise PoseTrackFormatError(f'{source}: every image needs a number or string "id"') from None
    if len(id_to_frame) < len(images):
        raise PoseTrackFormatError(f'{source}: "images" lists an image id twice')
    names = [str(img.get('file_name', '')) for img in images]
    regions = [
        _regions(img, f'{source}: images[{f}]') if is_gt else [] for f, img in enumerate(images)
    ]
    try:  # keypoint names -> poseval ids (poseval builds the same table from the categories)
        kpt_names = list(data['categories'][0]['keypoints'])
    except (KeyError, IndexError, TypeError):
        kpt_names = list(PT18_KEYPOINTS)
    missing = [n for n in POSEVAL_JOINTS if n not in kpt_names]
    if missing:
        raise PoseTrackFormatError(
            f'{source}: categories[0]["keypoints"] lacks the joints {missing}'
        )
    table, num_kpts = keypoint_table(kpt_names), len(kpt_names)

    def frame_of(i: int, ann: dict) -> int:
        try:
            return id_to_frame[ann['image_id']]
        except (KeyError, TypeError):
            iid = ann.get('image_id') if isinstance(ann, dict) else 'of a non-dict annotation'
            raise PoseTrackFormatError(
                f'{source}: annotations[{i}]: image_id {iid!r} is not listed in "images"'
            ) from None

    frame = np.array([frame_of(i, a) for i, a in enumerate(anns)], np.int64)

    def label(i: int) -> str:
        return f'{source}: annotations[{i}] (image {names[frame[i]]!r})'

    persons = PersonArrays.empty(frame, [a.get('track_id') for a in anns])
    kps = [a.get('keypoints') for a in anns]
    rows = np.array([i for i, k in enumerate(kps) if k is not None], np.int64)
    if not is_gt and len(rows) < len(anns):
        raise PoseTrackFormatError(f'{label(kps.index(None))} has no "keypoints"')
    kpts = float_matrix([kps[i] for i in rows], 3 * num_kpts, 'keypoints', lambda k: label(rows[k]))
    kpts = kpts.reshape(-1, num_kpts, 3)[:, table >= 0]  # 15 joints (ears dropped)
    joints = (rows[:, None], table[table >= 0][None, :])
    persons.xy[joints], persons.valid[joints] = (
        kpts[..., :2],
        ~absent_joints(kpts[..., :2], kpts[..., 2]),
    )
    if is_gt:  # x2 = x + w as in poseval
        hidx = [i for i, a in enumerate(anns) if a.get('bbox_head') is not None]
        hb = float_matrix(
            [anns[i]['bbox_head'] for i in hidx], 4, 'bbox_head', lambda k: label(hidx[k])
        )
        persons.head_size[hidx] = head_size(
            hb[:, 0], hb[:, 1], hb[:, 0] + hb[:, 2], hb[:, 1] + hb[:, 3]
        )
    else:
        bad = (~np.isfinite(persons.xy).all(axis=2) & persons.valid).any(axis=1)
        if bad.any():
            raise PoseTrackFormatError(f'{label(np.argmax(bad))}: "keypoints" contain NaN/inf')
        scores = [a.get('scores') for a in anns]
        rows = np.array([i for i, s in enumerate(scores) if isinstance(s, list) and s], np.int64)
        sc = float_matrix([scores[i] for i in rows], num_kpts, 'scores', lambda k: label(rows[k]))
        bad = ~np.isfinite(sc[:, table >= 0]).all(axis=1)
        if bad.any():
            raise PoseTrackFormatError(f'{label(rows[np.argmax(bad)])}: "scores" contain NaN/inf')
        persons.score[rows[:, None], table[table >= 0][None, :]] = sc[:, table >= 0]
        if len(rows) < len(anns):
            logger.warning(
                '%s: %d predictions have no per-joint "scores"; using poseval\'s fallback score %s',
                source,
                len(anns) - len(rows),
                MIN_SCORE,
            )
    persons = persons.take(np.argsort(frame, kind='stable'))  # by frame, file order within
    vid_ids, num_rects = (
        [img.get('vid_id') for img in images],
        np.bincount(frame, minlength=len(images)),
    )
    return PoseTrackVideo(
        source, 'pt18', names, list(id_to_frame), vid_ids, num_rects, regions, persons
    )


def write_pt18(
    video: PoseTrackVideo, per_frame: Sequence[Optional[Tuple[np.ndarray, ...]]]
) -> dict:
    """The PoseTrack18 prediction file of the frames of GT ``video`` (its image ids): per frame
    None or ``(keypoints (N, 17, 2), scores to write (N, 17), box scores (N,)[, track ids (N,)])``;
    without track ids, ``track_id`` is the index of the person in its frame."""
    images, anns = [], []
    for f, name in enumerate(video.frame_names):
        iid = f if video.image_ids[f] is None else video.image_ids[f]
        images.append(dict(id=iid, file_name=name))
        if per_frame[f] is not None:
            kpts, scores, box = per_frame[f][:3]
            tids = per_frame[f][3].tolist() if len(per_frame[f]) > 3 else range(len(kpts))
            flat = np.concatenate([kpts, scores[..., None]], axis=2).reshape(len(kpts), -1)
            for t, k, s, b in zip(tids, flat.tolist(), scores.tolist(), box.tolist()):
                anns.append(dict(image_id=iid, keypoints=k, scores=s, score=b, track_id=t))
    category = dict(supercategory='person', id=1, name='person', keypoints=list(PT18_KEYPOINTS))
    return dict(
        images=images, annotations=anns, categories=[dict(category, skeleton=PT18_SKELETON)]
    )
