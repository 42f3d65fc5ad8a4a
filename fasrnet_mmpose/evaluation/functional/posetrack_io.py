# Copyright (c) OpenMMLab. All rights reserved.
"""Per-video PoseTrack files in either format (detected from the content) and folders of them,
paired by file name as poseval pairs them."""

import glob
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np

from .posetrack17_format import read_pt17
from .posetrack18_format import read_pt18
from .posetrack_data import PoseTrackFormatError, PoseTrackVideo, gc_paused, read_json

#: The key that identifies each format -> (format, reader).
READERS = dict(annolist=('pt17', read_pt17), images=('pt18', read_pt18))
#: What a GT person needs for the PCKh, per format (for the message).
HEAD_BOX = dict(pt17='"x1", "y1", "x2", "y2" (head box)', pt18='"bbox_head"')


def parse_posetrack_video(
    data: Any, source: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Parse decoded per-video JSON (``source``: name for messages): GT (``is_gt``; joints need
    a head box) or predictions (``track_id`` unique per frame); ``expected_format`` ``'pt17'`` /
    ``'pt18'`` insists on one format, None / ``'auto'`` accepts both."""
    key = next((k for k in READERS if isinstance(data, dict) and k in data), None)
    if key is None:
        raise PoseTrackFormatError(
            f'{source}: not a PoseTrack file (expected an "annolist" (PoseTrack17) or an '
            '"images" (PoseTrack18) key)'
        )
    fmt, reader = READERS[key]
    if expected_format not in (None, 'auto', fmt):
        raise PoseTrackFormatError(
            f'{source}: is in {fmt} format but format={expected_format!r} was requested'
        )
    try:
        video = reader(data, source, is_gt)
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
    """Raise if a person (``what``: ``'GT'`` / ``'prediction'``) has no ``track_id`` or repeats
    one within its frame (poseval's rule)."""
    keys = list(zip(video.persons.frame.tolist(), video.persons.track_id.tolist()))
    try:  # the usual case in one C-level pass; the loop below names the offender
        if len(set(keys)) == len(keys) and None not in video.persons.track_id.tolist():
            return
    except TypeError:  # unhashable ids are compared by repr
        pass
    seen = set()
    for i, (f, tid) in enumerate(keys):
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


def load_posetrack_file(
    path: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Read and parse one per-video file (see :func:`parse_posetrack_video`)."""
    with gc_paused():
        return parse_posetrack_video(read_json(path), path, is_gt, expected_format)


def list_gt_files(gt_dir: str) -> List[str]:
    """The sorted ``*.json`` files of a GT folder (FileNotFoundError if none)."""
    files = sorted(glob.glob(osp.join(gt_dir, '*.json')))
    if not files:
        what = 'contains no *.json files' if osp.isdir(gt_dir) else 'does not exist'
        raise FileNotFoundError(f'GT folder {gt_dir} {what}')
    return files


def load_gt_dir(gt_dir: str, expected_format: Optional[str] = None) -> List[PoseTrackVideo]:
    """The GT videos of a folder, sorted by file name (``expected_format`` as above)."""
    return [load_posetrack_file(p, True, expected_format) for p in list_gt_files(gt_dir)]


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
