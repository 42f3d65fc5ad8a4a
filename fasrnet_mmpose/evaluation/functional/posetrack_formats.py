# Copyright (c) OpenMMLab. All rights reserved.
"""The PoseTrack17 (``annolist``) and PoseTrack18 (``images``) formats, each reader next to its
writer, and the loading of per-video files and folders (``docs/evaluation.md``)."""

import glob
import logging
import os.path as osp
from itertools import chain
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import posetrack_data as data
from .posetrack_data import PersonArrays, PoseTrackFormatError, PoseTrackVideo, first

logger = logging.getLogger(__name__)
#: Writer input per frame: None or (keypoints (N, 17, 2), scores (N, 17), box scores, track ids)
PerFrame = Sequence[Optional[Tuple[np.ndarray, ...]]]


# ------------------------------------------------------------------------------- PoseTrack17
DUMMY_SCORE = -100.0  # of the dummy point of a frame without persons: ranked last, no AP
_NO_SCORE = [data.MIN_SCORE]


def _slow_points(rects: List[dict], where: Callable[[int], str]) -> Tuple[list, list, np.ndarray]:
    """Track ids, point lists, ``(M, 4)`` id/x/y/score of any valid layout (id None: NaN)."""
    track_ids, point_lists, rows = [first(r.get('track_id')) for r in rects], [], []
    for k, rect in enumerate(rects):
        ap = first(rect.get('annopoints'))
        pts = ap.get('point') if isinstance(ap, dict) else None
        if pts is not None and not isinstance(pts, list):
            raise PoseTrackFormatError(f'{where(k)}: "point" must be a list')
        point_lists.append(pts or [])
        for n, p in enumerate(pts or []):
            ok = isinstance(p, dict) and {'id', 'x', 'y'} <= p.keys()
            vals = [first(p.get(key, _NO_SCORE)) for key in ('id', 'x', 'y', 'score')] if ok else []
            vals[:1] = [np.nan] if vals[:1] == [None] else vals[:1]  # id None: ignored
            if len(vals) < 4 or not all(map(data.is_number, vals)):
                raise PoseTrackFormatError(
                    f'{where(k)} point {n}: needs numbers "id", "x", "y" (and "score"), got {p!r}'
                )
            rows.append(vals)
    return track_ids, point_lists, np.array(rows, np.float64).reshape(-1, 4)


def read_pt17(doc: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video of a decoded PoseTrack17 file ``source`` (GT or predictions)."""
    annolist = doc['annolist']
    images = [first(fr.get('image')) for fr in annolist]
    names = [str(im.get('name', '')) if isinstance(im, dict) else '' for im in images]
    regions = [[] for _ in annolist]
    for f, fr in enumerate(annolist if is_gt else ()):
        for r in fr.get('ignore_regions') or []:
            pts = r.get('point', [])
            xs, ys = [first(p['x']) for p in pts], [first(p['y']) for p in pts]
            regions[f].append(data.polygon(xs, ys))
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
        raise PoseTrackFormatError(f'{where(owner[k])}: a point has non-finite x/y/score')
    persons = PersonArrays.empty(frame, track_ids)
    pid = pts[:, 0]
    ok = (pid >= 0) & (pid < data.NUM_JOINTS) & (pid == np.floor(pid))  # also drops id None (NaN)
    pp, pid, pts = owner[ok], pid[ok].astype(np.int64), pts[ok, 1:]
    key = pp * data.NUM_JOINTS + pid
    if not (np.diff(key) > 0).all():  # poseval takes the first point of an id (getPointGTbyID)
        _, idx = np.unique(key, return_index=True)
        pp, pid, pts = pp[idx], pid[idx], pts[idx]
    persons.xy[pp, pid], persons.score[pp, pid] = pts[:, :2], pts[:, 2]
    persons.valid[pp, pid] = True
    if is_gt and rects:  # head boxes x1, y1, x2, y2 (NaN where incomplete)
        heads = [[first(r.get(k)) for k in ('x1', 'y1', 'x2', 'y2')] for r in rects]
        heads = [h if all(map(data.is_number, h)) else [np.nan] * 4 for h in heads]
        persons.head_size = data.head_size(*np.array(heads, np.float64).T)
    nones = [None] * len(names)
    return PoseTrackVideo(source, names, nones, nones, num_rects, regions, persons)


def write_pt17(video: PoseTrackVideo, per_frame: PerFrame) -> dict:
    """The PoseTrack17 prediction file of the frames of GT ``video`` (dummy point if empty)."""
    annolist = []
    for f, name in enumerate(video.frame_names):
        rects = []
        if per_frame[f] is None or not len(per_frame[f][0]):  # no persons: a dummy point
            point = dict(id=[0], x=[0.0], y=[0.0], score=[DUMMY_SCORE])
            rects = [dict(annopoints=[dict(point=[point])], score=[DUMMY_SCORE], track_id=[0])]
        else:
            kpts, scores, box, tids = per_frame[f]
            xy, sc = kpts[:, data.POSEVAL_TO_PT18], scores[:, data.POSEVAL_TO_PT18]
            absent = data.absent_joints(xy, sc).tolist()
            xs, ys, ss = xy[..., 0].tolist(), xy[..., 1].tolist(), sc.tolist()
            for t, (tid, b) in enumerate(zip(tids.tolist(), box.tolist())):
                js = [j for j in range(data.NUM_JOINTS) if not absent[t][j]]
                points = [dict(id=[j], x=[xs[t][j]], y=[ys[t][j]], score=[ss[t][j]]) for j in js]
                rects.append(dict(annopoints=[dict(point=points)], score=[b], track_id=[tid]))
        annolist.append(dict(image=[dict(name=name)], imgnum=[f + 1], annorect=rects))
    return dict(annolist=annolist)


# ------------------------------------------------------------------------------- PoseTrack18
#: PoseTrack18 skeleton (1-based keypoint pairs), written into ``categories``.
PT18_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip


def read_pt18(doc: dict, source: str, is_gt: bool) -> PoseTrackVideo:
    """The video of a decoded PoseTrack18 file ``source`` (GT or predictions)."""
    images, anns = doc['images'], doc.get('annotations') or []
    id_to_frame = {img['id']: f for f, img in enumerate(images)}
    if len(id_to_frame) < len(images):
        raise PoseTrackFormatError(f'{source}: "images" lists an image id twice')
    names = [str(img.get('file_name', '')) for img in images]
    regions = [[] for _ in images]
    for f, img in enumerate(images if is_gt else ()):
        rx, ry = img.get('ignore_regions_x') or [], img.get('ignore_regions_y') or []
        regions[f] = [data.polygon(xs, ys) for xs, ys in zip(rx, ry, strict=True)]
    try:  # keypoint names -> poseval ids (poseval builds the same table from the categories)
        kpt_names = list(doc['categories'][0]['keypoints'])
    except (KeyError, IndexError, TypeError):
        kpt_names = list(data.PT18_KEYPOINTS)
    missing = [n for n in data.POSEVAL_JOINTS if n not in kpt_names]
    if missing:
        raise PoseTrackFormatError(f'{source}: categories[0]["keypoints"] lacks {missing}')
    table = data.keypoint_table(kpt_names)
    sel, joints = table >= 0, table[table >= 0]
    frame = np.array([id_to_frame.get(a.get('image_id'), -1) for a in anns], np.int64)
    if (frame < 0).any():
        i = int(np.argmax(frame < 0))
        iid = anns[i].get('image_id')
        raise PoseTrackFormatError(f'{source}: annotations[{i}]: image_id {iid!r} not in "images"')

    def label(i: int) -> str:
        return f'{source}: annotations[{i}] (image {names[frame[i]]!r})'

    persons = PersonArrays.empty(frame, [a.get('track_id') for a in anns])
    rows, kpts = data.float_matrix(anns, 'keypoints', 3 * len(table), label)
    if not is_gt and len(rows) < len(anns):
        i = next(i for i, a in enumerate(anns) if a.get('keypoints') is None)
        raise PoseTrackFormatError(f'{label(i)} has no "keypoints"')
    kpts = kpts.reshape(len(rows), len(table), 3)[:, sel]  # the 15 joints (ears dropped)
    persons.xy[rows[:, None], joints] = kpts[..., :2]
    persons.valid[rows[:, None], joints] = ~data.absent_joints(kpts[..., :2], kpts[..., 2])
    if is_gt:  # x2 = x + w as in poseval
        rows, hb = data.float_matrix(anns, 'bbox_head', 4, label)
        persons.head_size[rows] = data.head_size(*hb[:, :2].T, *(hb[:, :2] + hb[:, 2:]).T)
    else:
        rows, sc = data.float_matrix(anns, 'scores', len(table), label, lists=True)
        bad_scores = np.zeros(len(anns), bool)
        bad_scores[rows] = ~np.isfinite(sc[:, sel]).all(axis=1)
        bad_kpts = (~np.isfinite(persons.xy).all(axis=2) & persons.valid).any(axis=1)
        for what, bad in (('keypoints', bad_kpts), ('scores', bad_scores)):
            if bad.any():
                raise PoseTrackFormatError(f'{label(np.argmax(bad))}: "{what}" contain NaN/inf')
        persons.score[rows[:, None], joints] = sc[:, sel]
        if len(rows) < len(anns):
            missing = f'{len(anns) - len(rows)} predictions have no per-joint "scores"'
            logger.warning(f"{source}: {missing}; using poseval's fallback score {data.MIN_SCORE}")
    persons = persons.take(np.argsort(frame, kind='stable'))  # by frame, file order within
    vid_ids = [img.get('vid_id') for img in images]
    num_rects, ids = np.bincount(frame, minlength=len(images)), list(id_to_frame)
    return PoseTrackVideo(source, names, ids, vid_ids, num_rects, regions, persons)


def write_pt18(video: PoseTrackVideo, per_frame: PerFrame) -> dict:
    """The PoseTrack18 prediction file of the frames of GT ``video`` (its image ids)."""
    images, anns = [], []
    for f, name in enumerate(video.frame_names):
        iid = f if video.image_ids[f] is None else video.image_ids[f]
        images.append(dict(id=iid, file_name=name))
        if per_frame[f] is not None:
            kpts, scores, box, tids = per_frame[f]
            flat = np.concatenate([kpts, scores[..., None]], axis=2).reshape(len(kpts), -1)
            for t, k, s, b in zip(tids.tolist(), flat.tolist(), scores.tolist(), box.tolist()):
                anns.append(dict(image_id=iid, keypoints=k, scores=s, score=b, track_id=t))
    kpt_names, skeleton = list(data.PT18_KEYPOINTS), PT18_SKELETON
    cat = dict(supercategory='person', id=1, name='person', keypoints=kpt_names, skeleton=skeleton)
    return dict(images=images, annotations=anns, categories=[cat])


# ----------------------------------------------------------------------------- files, folders
#: The key that identifies each format -> (format, reader); the writers; the GT head box.
READERS = dict(annolist=('pt17', read_pt17), images=('pt18', read_pt18))
WRITERS = dict(pt17=write_pt17, pt18=write_pt18)
HEAD_BOX = dict(pt17='"x1", "y1", "x2", "y2" (head box)', pt18='"bbox_head"')


def parse_posetrack_video(doc: Any, source: str, is_gt: bool, want=None) -> PoseTrackVideo:
    """Parse decoded per-video JSON ``doc`` (``source``: name for messages), GT or predictions,
    in format ``want`` (``'pt17'``/``'pt18'``; None/``'auto'``: either)."""
    key = next((k for k in READERS if isinstance(doc, dict) and k in doc), None)
    if key is None:
        raise PoseTrackFormatError(
            f'{source}: not a PoseTrack file (expected an "annolist" (PoseTrack17) or an '
            '"images" (PoseTrack18) key)'
        )
    fmt, reader = READERS[key]
    if want not in (None, 'auto', fmt):
        raise PoseTrackFormatError(
            f'{source}: is in {fmt} format but format={want!r} was requested'
        )
    try:
        video = reader(doc, source, is_gt)
    except PoseTrackFormatError:
        raise
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as e:  # the structure
        raise PoseTrackFormatError(f'{source}: not a valid {fmt} file ({e!r})') from None
    p = video.persons
    if is_gt:
        bad = p.valid.any(axis=1) & ~np.isfinite(p.head_size)
        if bad.any():
            raise PoseTrackFormatError(
                f'{source}: a GT person in {video.where(np.argmax(bad))} has annotated joints but '
                f'no {HEAD_BOX[fmt]}, which the head-size normalisation needs'
            )
    else:
        check_track_ids(video, 'prediction')
    return video


def check_track_ids(video: PoseTrackVideo, what: str) -> None:
    """Raise if a person (``what``: GT/prediction) has no ``track_id`` or one twice in a frame."""
    keys = list(zip(video.persons.frame.tolist(), video.persons.track_id))
    try:  # the usual case in one C-level pass; the loop below names the first offender
        if len(set(keys)) == len(keys) and not any(tid is None for _, tid in keys):
            return
    except TypeError:  # unhashable ids (lists): compared by repr below
        pass
    seen = set()
    for i, (f, tid) in enumerate(zip(video.persons.frame.tolist(), video.persons.track_id)):
        if tid is None:
            raise PoseTrackFormatError(
                f'{video.source}: a {what} in {video.where(i)} has no "track_id" (required by the '
                'PoseTrack evaluation)'
            )
        key = (f, tid if isinstance(tid, (int, float, str)) else repr(tid))
        if key in seen:
            raise PoseTrackFormatError(
                f'{video.source}: {what} track_id {tid!r} appears twice in {video.where(i)}; '
                'poseval requires unique ids per frame'
            )
        seen.add(key)


def load_posetrack_file(path: str, is_gt: bool, fmt: Optional[str] = None) -> PoseTrackVideo:
    """Read and parse one per-video file (see :func:`parse_posetrack_video`)."""
    with data.gc_paused():
        return parse_posetrack_video(data.read_json(path), path, is_gt, fmt)


def list_gt_files(gt_dir: str) -> List[str]:
    """The sorted ``*.json`` files of a GT folder (FileNotFoundError if none)."""
    files = sorted(glob.glob(osp.join(gt_dir, '*.json')))
    if not files:
        what = 'contains no *.json files' if osp.isdir(gt_dir) else 'does not exist'
        raise FileNotFoundError(f'GT folder {gt_dir} {what}')
    return files


def load_gt_dir(gt_dir: str, fmt: Optional[str] = None) -> List[PoseTrackVideo]:
    """The GT videos of a folder, sorted by file name."""
    return [load_posetrack_file(p, True, fmt) for p in list_gt_files(gt_dir)]


def load_pred_dir(pred_dir: str, gt_videos: Sequence[PoseTrackVideo]) -> List[PoseTrackVideo]:
    """One prediction video per GT video: the file of ``pred_dir`` with the GT file's name."""
    paths = [osp.join(pred_dir, osp.basename(gt.source)) for gt in gt_videos]
    for path, gt in zip(paths, gt_videos):
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'prediction file {path} does not exist (one is required for every GT video; '
                f'GT: {gt.source})'
            )
    return [load_posetrack_file(path, False) for path in paths]
