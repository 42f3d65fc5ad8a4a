# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack18 ``images``/``annotations`` files: reader (poseval's PT18 conversion) and writer.

Reading follows poseval's PT18 -> PT17 converter: 15 joints via the ``categories[0].keypoints``
names (ears dropped), the "absent joint" rule of :func:`absent_joints`, per-joint score
``scores[k]`` (poseval's ``MIN_SCORE`` when a prediction has none), head box ``bbox_head``
(``x2 = x + w``). Writing produces the file the official FaSRnet/DCPose code writes for
PoseTrack18: 17 keypoints ``[x, y, score]``, ``scores``, box ``score``, ``track_id``.
"""

import logging
from typing import Optional, Sequence, Tuple

import numpy as np

from .posetrack_data import (
    HEAD_SIZE_FACTOR,
    MIN_SCORE,
    POSEVAL_JOINTS,
    PT18_KEYPOINTS,
    PersonArrays,
    PoseTrackFormatError,
    PoseTrackVideo,
    float_matrix,
    keypoint_table,
    object_array,
    polygon,
)

logger = logging.getLogger(__name__)

#: PoseTrack18 skeleton (1-based keypoint pairs), written into ``categories``.
PT18_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip


def _images(data: dict, source: str, is_gt: bool) -> tuple:
    """Frame names, image ids, vid ids, ignore polygons and the ``id -> frame`` table."""
    images = data.get('images')
    if not isinstance(images, list):
        raise PoseTrackFormatError(f'{source}: "images" must be a list of image records')
    if not all(isinstance(img, dict) and 'id' in img for img in images):
        i = next(i for i, img in enumerate(images) if not (isinstance(img, dict) and 'id' in img))
        raise PoseTrackFormatError(f'{source}: images[{i}] must be a dict with an "id"')
    ids = [img['id'] for img in images]
    try:
        id_to_frame = {iid: i for i, iid in enumerate(ids)}
    except TypeError:
        raise PoseTrackFormatError(f'{source}: image ids must be numbers or strings') from None
    if len(id_to_frame) < len(ids):
        seen = set()
        i = next(i for i, iid in enumerate(ids) if iid in seen or seen.add(iid))
        raise PoseTrackFormatError(f'{source}: images[{i}]: duplicate image id {ids[i]!r}')
    names = [str(img.get('file_name', '')) for img in images]
    vid_ids = [img.get('vid_id') for img in images]
    regions = [[] for _ in images]
    for i, img in enumerate(images):
        rx, ry = img.get('ignore_regions_x'), img.get('ignore_regions_y')
        if not (is_gt and rx):
            continue
        if not isinstance(rx, list) or not isinstance(ry, list) or len(rx) != len(ry):
            raise PoseTrackFormatError(
                f'{source}: images[{i}]: "ignore_regions_x" and "ignore_regions_y" must be '
                'lists with one entry per region'
            )
        regions[i] = [
            polygon(xs, ys, source, f'images[{i}] region {r}')
            for r, (xs, ys) in enumerate(zip(rx, ry))
        ]
    return names, ids, vid_ids, regions, id_to_frame


def read_pt18(data: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video (persons sorted by frame) of a decoded PoseTrack18 file ``source``; GT
    (``is_gt``: ignore regions, head boxes) or predictions (keypoints, finite scores required)."""
    names, ids, vid_ids, regions, id_to_frame = _images(data, source, is_gt)
    # keypoint names -> poseval ids (poseval builds the same table from the categories)
    kpt_names = list(PT18_KEYPOINTS)
    cats = data.get('categories')
    if isinstance(cats, list) and cats and isinstance(cats[0], dict) and 'keypoints' in cats[0]:
        kpt_names = list(cats[0]['keypoints'])
    missing = [n for n in POSEVAL_JOINTS if n not in kpt_names]
    if missing:
        raise PoseTrackFormatError(
            f'{source}: categories[0]["keypoints"] lacks the PoseTrack joints {missing}'
        )
    table, num_kpts = keypoint_table(kpt_names), len(kpt_names)

    anns = data.get('annotations') or []
    if not isinstance(anns, list):
        raise PoseTrackFormatError(f'{source}: "annotations" must be a list')
    if not all(isinstance(a, dict) for a in anns):
        i = next(i for i, a in enumerate(anns) if not isinstance(a, dict))
        raise PoseTrackFormatError(f'{source}: annotations[{i}] must be a dict')
    try:
        frame = np.array([id_to_frame[a.get('image_id')] for a in anns], np.int64)
    except (KeyError, TypeError):
        i = next(i for i, a in enumerate(anns) if _unknown(id_to_frame, a.get('image_id')))
        raise PoseTrackFormatError(
            f'{source}: annotations[{i}]: image_id {anns[i].get("image_id")!r} is not listed in '
            '"images"'
        ) from None

    def label(i: int) -> str:
        return f'annotations[{i}] (image {names[frame[i]]!r})'

    kp_list = [a.get('keypoints') for a in anns]
    has_kpts = np.array([k is not None for k in kp_list], bool)
    if not is_gt and not has_kpts.all():
        raise PoseTrackFormatError(
            f'{source}: {label(int(np.argmin(has_kpts)))} has no "keypoints"'
        )
    kidx = np.flatnonzero(has_kpts)
    kpts = float_matrix(
        [kp_list[i] for i in kidx] if len(kidx) < len(anns) else kp_list,
        3 * num_kpts,
        source,
        'keypoints',
        lambda k: label(kidx[k]),
    ).reshape(-1, num_kpts, 3)
    persons = PersonArrays.empty(len(anns))
    persons.frame = frame
    persons.track_id = object_array([a.get('track_id') for a in anns])
    part = PersonArrays.from_keypoints(frame[kidx], kpts[..., :2], kpts[..., 2], table)
    persons.xy[kidx], persons.valid[kidx] = part.xy, part.valid

    if is_gt:
        _read_head_sizes(anns, persons, source, label)
    else:
        _read_scores(anns, persons, table, num_kpts, source, label)
    num_rects = np.bincount(frame, minlength=len(names)).astype(np.int64)
    video = PoseTrackVideo(source, 'pt18', names, ids, vid_ids, num_rects, regions, persons)
    return video.sort_by_frame()


def _unknown(id_to_frame: dict, iid) -> bool:
    try:
        return iid not in id_to_frame
    except TypeError:
        return True


def _read_head_sizes(anns: list, persons: PersonArrays, source: str, label) -> None:
    """GT head box -> head size: ``x2 = x1 + w`` like poseval, then 0.6 * diagonal."""
    hb_idx = [i for i, a in enumerate(anns) if a.get('bbox_head') is not None]
    hb = float_matrix(
        [anns[i]['bbox_head'] for i in hb_idx], 4, source, 'bbox_head', lambda k: label(hb_idx[k])
    )
    dx = (hb[:, 0] + hb[:, 2]) - hb[:, 0]
    dy = (hb[:, 1] + hb[:, 3]) - hb[:, 1]
    persons.head_size[hb_idx] = HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)


def _read_scores(
    anns: list, persons: PersonArrays, table: np.ndarray, num_kpts: int, source: str, label
) -> None:
    """Prediction per-joint ``scores`` (poseval's ``MIN_SCORE`` where a person has none)."""
    bad = ~np.isfinite(persons.xy).all(axis=2) & persons.valid
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise PoseTrackFormatError(f'{source}: {label(i)}: "keypoints" contain NaN/inf')
    sc_list = [a.get('scores') for a in anns]
    gidx = np.array(
        [i for i, s in enumerate(sc_list) if isinstance(s, list) and len(s) > 0], np.int64
    )
    sc = float_matrix(
        [sc_list[i] for i in gidx] if len(gidx) < len(anns) else sc_list,
        num_kpts,
        source,
        'scores',
        lambda k: label(gidx[k]),
    )
    sel = table >= 0
    if not np.isfinite(sc[:, sel]).all():
        i = int(gidx[np.flatnonzero(~np.isfinite(sc[:, sel]).all(axis=1))[0]])
        raise PoseTrackFormatError(f'{source}: {label(i)}: "scores" contain NaN/inf')
    persons.score[gidx[:, None], table[sel][None, :]] = sc[:, sel]
    if len(gidx) < len(anns):
        logger.warning(
            '%s: %d predictions have no per-joint "scores"; using poseval\'s fallback score %s',
            source,
            len(anns) - len(gidx),
            MIN_SCORE,
        )


def write_pt18(
    video: PoseTrackVideo, per_frame: Sequence[Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]]
) -> dict:
    """``images``/``annotations``/``categories`` prediction file of the frames of GT ``video``
    (its image ids): per frame None or ``(keypoints (N, 17, 2), per-joint scores to write
    (N, 17), box scores (N,)[, track ids (N,)])``; without track ids, ``track_id`` = index of
    the person in the frame."""
    images, annotations = [], []
    for f, name in enumerate(video.frame_names):
        iid = video.image_ids[f] if video.image_ids[f] is not None else f
        images.append(dict(id=iid, file_name=name))
        if per_frame[f] is None:
            continue
        kpts, scores, box = per_frame[f][:3]
        tids = per_frame[f][3].tolist() if len(per_frame[f]) > 3 else range(len(kpts))
        flat = np.concatenate([kpts, scores[..., None]], axis=2).reshape(len(kpts), -1)
        for t, k, s, b in zip(tids, flat.tolist(), scores.tolist(), box.tolist()):
            annotations.append(dict(image_id=iid, keypoints=k, scores=s, score=b, track_id=t))
    category = dict(
        supercategory='person',
        id=1,
        name='person',
        keypoints=list(PT18_KEYPOINTS),
        skeleton=PT18_SKELETON,
    )
    return dict(images=images, annotations=annotations, categories=[category])
