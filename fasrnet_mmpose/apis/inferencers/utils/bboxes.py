# Copyright (c) OpenMMLab. All rights reserved.
"""Person boxes given by the user: bbox files and clipping to the image."""

import json
import os.path as osp
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np

__all__ = ['load_bbox_file', 'normalize_bboxes', 'clip_bboxes', 'BBoxFileError']

FrameBoxes = Dict[int, np.ndarray]


class BBoxFileError(ValueError):
    """A bbox file has an unsupported structure."""


def _row(row: Any, bboxes: Any) -> List[float]:
    """One box as 5 floats (score 1 when absent)."""
    try:
        values = [float(v) for v in np.asarray(row, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError) as e:
        raise ValueError(f'boxes must be [x1, y1, x2, y2(, score)] rows, got {bboxes!r}') from e
    if len(values) not in (4, 5):
        raise ValueError(
            'boxes must be [x1, y1, x2, y2] or [x1, y1, x2, y2, score] rows, got '
            f'a row of {len(values)} values in {bboxes!r}'
        )
    return values if len(values) == 5 else values + [1.0]


def normalize_bboxes(bboxes: Union[Sequence, np.ndarray, None]) -> np.ndarray:
    """Turn the boxes of one frame into an ``(N, 5)`` float32 array.

    Args:
        bboxes (Sequence | np.ndarray | None): ``N`` boxes
            ``[x1, y1, x2, y2]`` or ``[x1, y1, x2, y2, score]`` (score
            defaults to 1; rows may mix both); ``None`` or empty = no box.

    Returns:
        np.ndarray: ``(N, 5)`` rows ``[x1, y1, x2, y2, score]``.

    Raises:
        ValueError: If a box does not have 4 or 5 numbers.
    """
    if bboxes is None:
        return np.zeros((0, 5), np.float32)
    if isinstance(bboxes, np.ndarray):
        arr = bboxes.astype(np.float32)
    else:
        rows = list(bboxes)
        if rows and not np.isscalar(rows[0]):  # rows may mix 4 and 5 values
            rows = [_row(r, bboxes) for r in rows]
        try:
            arr = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f'boxes must be [x1, y1, x2, y2(, score)] rows, got {bboxes!r}') from e
    if arr.size == 0:
        return np.zeros((0, 5), np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise ValueError(
            'boxes must be [x1, y1, x2, y2] or [x1, y1, x2, y2, score] rows, got '
            f'an array of shape {arr.shape}'
        )
    if arr.shape[1] == 4:
        arr = np.concatenate([arr, np.ones((len(arr), 1), np.float32)], axis=1)
    return arr


def clip_bboxes(
    bboxes: np.ndarray, width: int, height: int, min_size: float = 1.0
) -> Tuple[np.ndarray, int]:
    """Clip ``[x1, y1, x2, y2, score]`` boxes to the image; drop empty ones.

    Boxes partly outside the image are clipped to it (as
    ``PoseTrackVideoDataset`` does with annotation boxes). Boxes entirely
    outside, with non-finite coordinates, or narrower/lower than
    ``min_size`` pixels after clipping are dropped.

    Args:
        bboxes (np.ndarray): ``(N, 5)`` boxes.
        width (int): Image width.
        height (int): Image height.
        min_size (float): Minimum clipped width and height. Defaults to 1.

    Returns:
        tuple[np.ndarray, int]: The kept ``(M, 5)`` boxes and the number
        ``N - M`` of dropped ones.
    """
    if len(bboxes) == 0:
        return bboxes.reshape(0, 5).astype(np.float32), 0
    boxes = bboxes.astype(np.float32).copy()
    finite = np.isfinite(boxes[:, :4]).all(axis=1)
    boxes[~finite, :4] = 0
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    keep = (
        finite & (boxes[:, 2] - boxes[:, 0] >= min_size) & (boxes[:, 3] - boxes[:, 1] >= min_size)
    )
    return boxes[keep], int((~keep).sum())


def _record_frame(record: Mapping[str, Any], src: str, i: int) -> int:
    for key in ('frame_id', 'frame_index'):
        if key in record:
            return int(record[key])
    raise BBoxFileError(f'{src}: record {i} has no "frame_id" (0-based frame index): {record}')


def load_bbox_file(path: str) -> FrameBoxes:
    """Load per-frame person boxes from a JSON file.

    Frame indices are 0-based positions in the input (video frame number,
    or position in the sorted image folder). Accepted layouts:

    1. ``{"<frame>": [[x1, y1, x2, y2(, score)], ...], ...}``;
    2. predictions written by the inferencers or ``tools/demo_video.py``:
       ``[{"frame_id": i, "instances": [{"bbox": [[x1, y1, x2, y2]],
       "bbox_score": s, ...}, ...]}, ...]``, or the same list under a
       ``"frames"`` key;
    3. COCO-style detections: ``[{"frame_id": i, "bbox": [x, y, w, h],
       "score": s, "category_id": 1}, ...]`` (**xywh**, COCO convention;
       records whose ``category_id`` is not 1 (person) are skipped).

    Args:
        path (str): The JSON file.

    Returns:
        dict[int, np.ndarray]: Frame index -> ``(N, 5)`` float32 boxes
        ``[x1, y1, x2, y2, score]`` (xyxy). Frames absent from the file have
        no box.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        BBoxFileError: If the content has none of these layouts.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'bbox file {path} does not exist.')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise BBoxFileError(f'{path} is not valid JSON: {e}') from e
    if isinstance(data, dict) and isinstance(data.get('frames'), list):
        data = data['frames']
    result: Dict[int, List[np.ndarray]] = {}
    if isinstance(data, dict):
        for key, boxes in data.items():
            try:
                frame = int(key)
            except ValueError as e:
                raise BBoxFileError(f'{path}: key "{key}" is not a frame index') from e
            try:
                result.setdefault(frame, []).append(normalize_bboxes(boxes))
            except ValueError as e:
                raise BBoxFileError(f'{path}: frame {key}: {e}') from e
    elif isinstance(data, list):
        for i, record in enumerate(data):
            if not isinstance(record, dict):
                raise BBoxFileError(f'{path}: record {i} is not an object: {record!r}')
            frame = _record_frame(record, path, i)
            if 'instances' in record:  # mmpose predictions
                rows = []
                for inst in record['instances']:
                    box = np.asarray(inst['bbox'], np.float32).reshape(-1)[:4]
                    rows.append([*box, float(inst.get('bbox_score', 1.0))])
                boxes = np.asarray(rows, np.float32).reshape(-1, 5)
            elif 'bbox' in record:  # COCO-style xywh detection
                if int(record.get('category_id', 1)) != 1:
                    continue
                x, y, w, h = (float(v) for v in record['bbox'][:4])
                boxes = np.asarray(
                    [[x, y, x + w, y + h, float(record.get('score', 1.0))]], np.float32
                )
            else:
                raise BBoxFileError(f'{path}: record {i} has neither "instances" nor "bbox"')
            result.setdefault(frame, []).append(boxes)
    else:
        raise BBoxFileError(f'{path}: expected a JSON object or list, got {type(data).__name__}')
    return {k: np.concatenate(v, axis=0) for k, v in result.items()}
