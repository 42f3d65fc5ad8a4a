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


def read_pt18(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video of a decoded PoseTrack18 file ``source``: GT (``is_gt``: ignore regions, head
    boxes ``x, y, w, h``) or predictions (finite keypoints and per-joint ``scores``)."""
    images, anns = data['images'], data.get('annotations') or []
    id_to_frame = {img['id']: f for f, img in enumerate(images)}
    if len(id_to_frame) < len(images):
        raise PoseTrackFormatError(f'{source}: "images" lists an image id twice')
    names = [str(img.get('file_name', '')) for img in images]
    regions = [[] for _ in images]
    for f, img in enumerate(images if is_gt else ()):
        rx, ry = img.get('ignore_regions_x') or [], img.get('ignore_regions_y') or []
        if len(rx) != len(ry):
            raise PoseTrackFormatError(f'{source}: images[{f}]: one ignore_regions_y per _x')
        regions[f] = [polygon(xs, ys, f'{source}: images[{f}]') for xs, ys in zip(rx, ry)]
    try:  # keypoint names -> poseval ids (poseval builds the same table from the categories)
        kpt_names = list(data['categories'][0]['keypoints'])
    except (KeyError, IndexError, TypeError):
        kpt_names = list(PT18_KEYPOINTS)
    missing = [n for n in POSEVAL_JOINTS if n not in kpt_names]
    if missing:
        raise PoseTrackFormatError(f'{source}: categories[0]["keypoints"] lacks {missing}')
    table = keypoint_table(kpt_names)
    sel, joints = table >= 0, table[table >= 0]
    frame = np.array([id_to_frame.get(a.get('image_id'), -1) for a in anns], np.int64)
    if (frame < 0).any():
        i = int(np.argmax(frame < 0))
        raise PoseTrackFormatError(
            f'{source}: annotations[{i}]: image_id {anns[i].get("image_id")!r} is not listed in '
            '"images"'
        )

    def label(i: int) -> str:
        return f'{source}: annotations[{i}] (image {names[frame[i]]!r})'

    persons = PersonArrays.empty(frame, [a.get('track_id') for a in anns])
    rows, kpts = float_matrix(anns, 'keypoints', 3 * len(table), label)
    if not is_gt and len(rows) < len(anns):
        i = next(i for i, a in enumerate(anns) if a.get('keypoints') is None)
        raise PoseTrackFormatError(f'{label(i)} has no "keypoints"')
    kpts = kpts.reshape(len(rows), len(table), 3)[:, sel]  # the 15 joints (ears dropped)
    persons.xy[rows[:, None], joints] = kpts[..., :2]
    persons.valid[rows[:, None], joints] = ~absent_joints(kpts[..., :2], kpts[..., 2])
    if is_gt:  # x2 = x + w as in poseval
        rows, hb = float_matrix(anns, 'bbox_head', 4, label)
        persons.head_size[rows] = head_size(*hb[:, :2].T, *(hb[:, :2] + hb[:, 2:]).T)
    else:
        rows, sc = float_matrix(
            anns, 'scores', len(table), label, lambda s: isinstance(s, list) and s
        )
        bad_scores = np.zeros(len(anns), bool)
        bad_scores[rows] = ~np.isfinite(sc[:, sel]).all(axis=1)
        bad_kpts = (~np.isfinite(persons.xy).all(axis=2) & persons.valid).any(axis=1)
        for what, bad in (('keypoints', bad_kpts), ('scores', bad_scores)):
            if bad.any():
                raise PoseTrackFormatError(f'{label(np.argmax(bad))}: "{what}" contain NaN/inf')
        persons.score[rows[:, None], joints] = sc[:, sel]
        if len(rows) < len(anns):
            logger.warning(
                '%s: %d predictions have no per-joint "scores"; using poseval\'s fallback score %s',
                source,
                len(anns) - len(rows),
                MIN_SCORE,
            )
    persons = persons.take(np.argsort(frame, kind='stable'))  # by frame, file order within
    vid_ids = [img.get('vid_id') for img in images]
    num_rects, ids = np.bincount(frame, minlength=len(images)), list(id_to_frame)
    return PoseTrackVideo(source, 'pt18', names, ids, vid_ids, num_rects, regions, persons)


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
