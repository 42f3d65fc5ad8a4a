# Copyright (c) OpenMMLab. All rights reserved.
"""Loading per-video PoseTrack files in either format, and folders of them (as poseval pairs them).

GT files are all ``*.json`` of the GT folder, in sorted order; each GT video needs a prediction
file of the same name. The format of each file is detected from its content (``annolist``:
PoseTrack17, ``images``: PoseTrack18).
"""

import glob
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np

from .posetrack17_format import read_pt17
from .posetrack18_format import read_pt18
from .posetrack_data import PoseTrackFormatError, PoseTrackVideo, gc_paused, read_json

READERS = dict(pt17=read_pt17, pt18=read_pt18)


def parse_posetrack_video(
    data: Any, source: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Parse the content of one per-video PoseTrack file.

    Args:
        data (Any): Decoded JSON (``{"annolist": [...]}`` or ``{"images": [...], ...}``).
        source (str): File name used in error messages.
        is_gt (bool): Ground truth (reads head boxes and ignore regions; every person with
            joints needs a head box) or predictions (requires ``track_id`` unique per frame,
            numeric keypoints and scores).
        expected_format (str, optional): ``'pt17'`` or ``'pt18'`` to insist on one
            format; None or ``'auto'`` accepts both (like poseval). Defaults to None.

    Returns:
        PoseTrackVideo: The parsed video.
    """
    fmt = '' if not isinstance(data, dict) else 'pt17' if 'annolist' in data else 'pt18'
    if fmt == 'pt18' and 'images' not in data:
        fmt = ''
    if not fmt:
        raise PoseTrackFormatError(
            f'{source}: not a PoseTrack file (expected an "annolist" (PoseTrack17) or an '
            '"images" (PoseTrack18) key)'
        )
    if expected_format not in (None, 'auto') and fmt != expected_format:
        raise PoseTrackFormatError(
            f'{source}: is in {fmt} format but format={expected_format!r} was requested'
        )
    video = READERS[fmt](data, source, is_gt)
    (_check_gt_heads if is_gt else _check_track_ids)(video)
    return video


def _check_gt_heads(video: PoseTrackVideo) -> None:
    """Raise if a GT person has annotated joints but no head box (PCKh needs it)."""
    p = video.persons
    bad = p.valid.any(axis=1) & ~np.isfinite(p.head_size)
    if bad.any():
        f = int(p.frame[np.argmax(bad)])
        what = '"bbox_head"' if video.format == 'pt18' else '"x1", "y1", "x2", "y2" (head box)'
        raise PoseTrackFormatError(
            f'{video.source}: a GT person in frame {f} ({video.frame_names[f]!r}) has annotated '
            f'joints but no {what}, which the head-size normalisation needs'
        )


def _check_track_ids(video: PoseTrackVideo) -> None:
    """Raise if a prediction lacks ``track_id`` or repeats one within a frame (as poseval)."""
    keys = list(zip(video.persons.frame.tolist(), video.track_ids))
    try:  # the usual case in one C-level pass; the loop below names the first offender
        if len(set(keys)) == len(keys) and not np.equal(video.persons.track_id, None).any():
            return
    except TypeError:  # unhashable ids (lists): compared by repr below
        pass
    seen = set()
    for f, tid in zip(video.persons.frame.tolist(), video.track_ids):
        if tid is None:
            raise PoseTrackFormatError(
                f'{video.source}: a prediction in frame {f} ({video.frame_names[f]!r}) has no '
                '"track_id" (required by the PoseTrack evaluation)'
            )
        key = (f, tid if isinstance(tid, (int, float, str)) else repr(tid))
        if key in seen:
            raise PoseTrackFormatError(
                f'{video.source}: track_id {tid!r} appears twice in frame {f} '
                f'({video.frame_names[f]!r}); poseval requires unique ids per frame'
            )
        seen.add(key)


def load_posetrack_file(
    path: str, is_gt: bool, expected_format: Optional[str] = None
) -> PoseTrackVideo:
    """Read and parse one per-video PoseTrack JSON file (see :func:`parse_posetrack_video`)."""
    with gc_paused():
        return parse_posetrack_video(read_json(path), path, is_gt, expected_format)


def list_gt_files(gt_dir: str) -> List[str]:
    """The sorted per-video ``*.json`` files of a GT folder (FileNotFoundError if none)."""
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(f'GT folder {gt_dir} does not exist')
    files = sorted(glob.glob(osp.join(gt_dir, '*.json')))
    if not files:
        raise FileNotFoundError(f'GT folder {gt_dir} contains no *.json files')
    return files


def load_gt_dir(gt_dir: str, expected_format: Optional[str] = None) -> List[PoseTrackVideo]:
    """The GT videos of a folder of per-video files, sorted by file name (``expected_format``:
    ``'pt17'``/``'pt18'`` insists on one, None/``'auto'`` accepts both)."""
    return [load_posetrack_file(p, True, expected_format) for p in list_gt_files(gt_dir)]


def load_pred_dir(pred_dir: str, gt_videos: Sequence[PoseTrackVideo]) -> List[PoseTrackVideo]:
    """One prediction video per GT video: the file of ``pred_dir`` with the GT file's name (as
    poseval pairs them); a missing file is a FileNotFoundError naming it."""
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'prediction folder {pred_dir} does not exist')
    preds = []
    for gt in gt_videos:
        path = osp.join(pred_dir, osp.basename(gt.source))
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'prediction file {path} does not exist (one is required for every GT video; '
                f'GT: {gt.source})'
            )
        preds.append(load_posetrack_file(path, False))
    return preds
