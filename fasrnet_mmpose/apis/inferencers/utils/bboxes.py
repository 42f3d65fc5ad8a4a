# Copyright (c) OpenMMLab. All rights reserved.
"""Person boxes of a frame from one provider: a detector, given boxes or the whole image."""

import json
import logging
import os.path as osp
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from mmpose.structures.bbox import bbox_clip_border, bbox_xywh2xyxy

__all__ = [
    'load_bbox_file',
    'normalize_bboxes',
    'clip_bboxes',
    'BBoxFileError',
    'PersonBoxes',
    'GivenBoxes',
]

FrameBoxes = Dict[int, np.ndarray]
GivenBoxes = Union[None, Mapping[int, Sequence], Sequence[Sequence]]
_BAD_ROWS = 'boxes must be [x1, y1, x2, y2] or [x1, y1, x2, y2, score] rows, got '


class BBoxFileError(ValueError):
    """A bbox file (or given boxes) cannot be used."""


def normalize_bboxes(bboxes: Union[Sequence, np.ndarray, None]) -> np.ndarray:
    """Turn the boxes of one frame into an ``(N, 5)`` float32 array.

    Args:
        bboxes (Sequence | np.ndarray | None): ``N`` rows ``[x1, y1, x2, y2(,
            score)]`` (score defaults to 1); ``None`` or empty = no box.

    Returns:
        np.ndarray: ``(N, 5)`` rows ``[x1, y1, x2, y2, score]``.

    Raises:
        ValueError: If a box does not have 4 or 5 numbers.
    """
    if bboxes is None or len(bboxes) == 0:
        return np.zeros((0, 5), np.float32)
    rows = [bboxes] if np.isscalar(bboxes[0]) else list(bboxes)
    try:
        rows = [np.asarray(r, np.float32).reshape(-1) for r in rows]
    except (TypeError, ValueError) as e:
        raise ValueError(f'{_BAD_ROWS}{bboxes!r}') from e
    if any(len(r) not in (4, 5) for r in rows):
        raise ValueError(f'{_BAD_ROWS}{bboxes!r}')
    arr = np.stack([np.append(r, 1)[:5] for r in rows])  # rows of 4 get the score 1
    return arr


def clip_bboxes(
    bboxes: np.ndarray, width: int, height: int, min_size: float = 1.0
) -> Tuple[np.ndarray, int]:
    """Clip ``[x1, y1, x2, y2, score]`` boxes to the image; drop empty ones.

    Boxes partly outside are clipped (mmpose's ``bbox_clip_border``); boxes
    entirely outside, not finite, or narrower/lower than ``min_size`` pixels
    after clipping are dropped.

    Args:
        bboxes (np.ndarray): ``(N, 5)`` boxes.
        width (int): Image width.
        height (int): Image height.
        min_size (float): Minimum clipped width and height. Defaults to 1.

    Returns:
        tuple[np.ndarray, int]: The kept ``(M, 5)`` boxes and ``N - M``.
    """
    boxes = np.asarray(bboxes, np.float32).reshape(-1, 5).copy()
    finite = np.isfinite(boxes[:, :4]).all(axis=1)
    boxes[~finite, :4] = 0
    boxes[:, :4] = bbox_clip_border(boxes[:, :4], (width, height))
    size = boxes[:, 2:4] - boxes[:, 0:2]
    keep = finite & (size >= min_size).all(axis=1)
    return boxes[keep], int((~keep).sum())


def _frame_index(value: Any, where: str) -> int:
    """A frame index must be a non-negative integer (a string of digits as a dict key)."""
    if isinstance(value, str) and value.strip().isdigit() and 'key' in where:
        return int(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise BBoxFileError(f'{where}: {value!r} is not a frame index (a non-negative integer)')


def load_bbox_file(path: str) -> FrameBoxes:
    """Load per-frame person boxes from a JSON file.

    Frame indices are 0-based positions in the input (video frame number, or
    position in the sorted image folder). Accepted layouts:

    1. ``{"<frame>": [[x1, y1, x2, y2(, score)], ...], ...}``;
    2. predictions of the inferencers / ``tools/demo_video.py``:
       ``[{"frame_id": i, "instances": [{"bbox": [x1, y1, x2, y2],
       "bbox_score": s}, ...]}, ...]`` (``bbox`` may be nested once), or the
       same list under a ``"frames"`` key;
    3. COCO-style detections ``[{"frame_id": i, "bbox": [x, y, w, h],
       "score": s, "category_id": 1}, ...]`` (**xywh**; categories other
       than 1 (person) are skipped).

    Args:
        path (str): The JSON file.

    Returns:
        dict[int, np.ndarray]: Frame index -> ``(N, 5)`` float32 boxes
        ``[x1, y1, x2, y2, score]``. Frames absent from the file have no box.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        BBoxFileError: If the content has none of these layouts or a frame
            index is not a non-negative integer.
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
    if isinstance(data, dict):
        records = [(f'{path}: key "{k}"', k, v) for k, v in data.items()]
    elif isinstance(data, list):
        records = [_record_boxes(rec, f'{path}: record {i}') for i, rec in enumerate(data)]
    else:
        raise BBoxFileError(f'{path}: expected a JSON object or list, got {type(data).__name__}')
    result: Dict[int, list] = {}
    for where, frame, boxes in filter(None, records):
        frame = _frame_index(frame, where)
        try:
            result.setdefault(frame, []).append(normalize_bboxes(boxes))
        except ValueError as e:
            raise BBoxFileError(f'{path}: frame {frame}: {e}') from e
    return {k: np.concatenate(v, axis=0) for k, v in result.items()}


def _record_boxes(rec: Any, where: str) -> Optional[Tuple[str, Any, list]]:
    """``(where, frame, boxes)`` of one record of a list layout (``None``: not a person)."""
    if not isinstance(rec, dict):
        raise BBoxFileError(f'{where} is not an object: {rec!r}')
    if 'frame_id' not in rec and 'frame_index' not in rec:
        raise BBoxFileError(f'{where} has no "frame_id" (0-based frame index): {rec}')
    frame = rec.get('frame_id', rec.get('frame_index'))
    if 'instances' in rec:  # mmpose / demo predictions
        score = lambda inst: np.asarray(inst.get('bbox_score', 1)).reshape(-1)[:1]  # noqa: E731
        return where, frame, [
            np.append(np.asarray(inst['bbox']).reshape(-1)[:4], score(inst))
            for inst in rec['instances']
        ]  # fmt: skip
    if 'bbox' not in rec:
        raise BBoxFileError(f'{where} has neither "instances" nor "bbox"')
    if int(rec.get('category_id', 1)) != 1:  # COCO-style xywh detection of another class
        return None
    return where, frame, bbox_xywh2xyxy(np.asarray([[*rec['bbox'][:4], rec.get('score', 1)]]))


class PersonBoxes:
    """Person boxes ``(N, 5)`` ``[x1, y1, x2, y2, score]`` of each frame, from ONE provider.

    By priority: the boxes given per frame (``bboxes``/``bbox_file``, used as
    they are; a frame without entry has no person), ``detect`` (e.g. mmpose's
    detection step), the whole image. Boxes are clipped to the image; boxes
    left empty are dropped and counted (``num_dropped``, first one logged).
    ``whole_image_fallback``: a frame without box gets the whole image.

    Args:
        detect (Callable, optional): ``(frame, index) -> (N, 5)`` boxes.
        bboxes (dict | list, optional): ``{frame_index: boxes}`` or a list
            indexed by frame.
        bbox_file (str, optional): A file for :func:`load_bbox_file`.
        whole_image_fallback (bool): See above. Defaults to False.
        num_frames (int): Frames in the input when known (0: unknown); given
            boxes that match none of them are an error at once.

    Raises:
        ValueError: Both ``bboxes`` and ``bbox_file``; given boxes whose
            frame indices match no frame of the input.
    """

    def __init__(
        self,
        detect: Optional[Callable[[np.ndarray, int], np.ndarray]] = None,
        bboxes: GivenBoxes = None,
        bbox_file: Optional[str] = None,
        whole_image_fallback: bool = False,
        num_frames: int = 0,
    ) -> None:
        if bbox_file is not None:
            if bboxes is not None and len(bboxes) > 0:
                raise ValueError('Give either bboxes or bbox_file, not both.')
            bboxes = load_bbox_file(bbox_file)
        if bboxes is not None and not isinstance(bboxes, Mapping):
            bboxes = dict(enumerate(bboxes)) if len(bboxes) else None
        self.given = None if bboxes is None else {int(k): v for k, v in bboxes.items()}
        self.source = 'bbox file ' + bbox_file if bbox_file else 'given bboxes'
        self.detect = detect
        self.whole_image_fallback = whole_image_fallback
        self.num_dropped = 0
        self._matched = False
        if self.given and num_frames > 0 and min(self.given) >= num_frames:
            self._raise_unmatched(num_frames)

    @property
    def kind(self) -> str:
        """``'given'``, ``'detector'`` or ``'whole_image'``."""
        if self.given is not None:
            return 'given'
        return 'detector' if self.detect is not None else 'whole_image'

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The clipped ``(N, 5)`` boxes of frame ``index`` (an ``H x W x 3`` image)."""
        h, w = frame.shape[:2]
        whole = np.array([[0, 0, w, h, 1]], np.float32)
        if self.given is not None:
            self._matched |= index in self.given
            boxes = normalize_bboxes(self.given.get(index))
        else:
            boxes = self.detect(frame, index) if self.detect is not None else whole
        boxes, dropped = clip_bboxes(boxes, w, h)
        if dropped and not self.num_dropped:
            print_log(
                f'Frame {index}: {dropped} person box(es) outside the {w}x{h} image (or empty / '
                'not finite) dropped; boxes partly outside are clipped. Further drops are '
                'counted in `num_dropped_boxes`.',
                logger='current',
                level=logging.WARNING,
            )
        self.num_dropped += dropped
        return whole if len(boxes) == 0 and self.whole_image_fallback else boxes

    def check_matched(self, num_frames: int) -> None:
        """After the run: given boxes that matched no frame are an error."""
        if self.given and not self._matched and num_frames > 0:
            self._raise_unmatched(num_frames)

    def _raise_unmatched(self, num_frames: int) -> None:
        keys = sorted(self.given)
        raise BBoxFileError(
            f'{self.source}: its frame indices ({keys[0]}..{keys[-1]}) match none of the '
            f'{num_frames} input frames (0..{num_frames - 1}); frame indices are 0-based '
            'positions in the input.'
        )
