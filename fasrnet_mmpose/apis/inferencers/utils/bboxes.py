# Copyright (c) OpenMMLab. All rights reserved.
"""Person boxes from one provider (detector, given boxes, whole image), bbox files, HOG detector."""

import json
import os.path as osp
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement, InstanceData
from mmpose.structures.bbox import bbox_clip_border, bbox_xywh2xyxy


class BBoxFileError(ValueError):
    """A bbox file (or given boxes) cannot be used."""


def normalize_bboxes(bboxes) -> np.ndarray:
    """Rows ``[x1, y1, x2, y2(, score=1)]`` (None: none) as ``(N, 5)`` float32, else ValueError."""
    if bboxes is None or len(bboxes) == 0:
        return np.zeros((0, 5), np.float32)
    rows = [bboxes] if np.isscalar(bboxes[0]) else list(bboxes)
    try:
        rows = [np.asarray(r, np.float32).reshape(-1) for r in rows]
        if any(len(r) not in (4, 5) for r in rows):
            raise ValueError('a row of another length')
    except (TypeError, ValueError) as e:
        raise ValueError(f'boxes must be [x1, y1, x2, y2(, score)] rows, got {bboxes!r}') from e
    return np.stack([np.append(r, 1)[:5] for r in rows])


def clip_bboxes(bboxes: np.ndarray, width: int, height: int) -> Tuple[np.ndarray, int]:
    """``(N, 5)`` boxes clipped to the image, without the non-finite / < 1 px: (kept, #dropped)."""
    boxes = np.asarray(bboxes, np.float32).reshape(-1, 5).copy()
    finite = np.isfinite(boxes[:, :4]).all(axis=1)
    boxes[~finite, :4] = 0
    boxes[:, :4] = bbox_clip_border(boxes[:, :4], (width, height))
    keep = finite & (boxes[:, 2:4] - boxes[:, 0:2] >= 1).all(axis=1)
    return boxes[keep], int((~keep).sum())


def _frame_index(value, where: str) -> int:
    """A non-negative integer (a string of digits as a dict key), else a ``BBoxFileError``."""
    if isinstance(value, str) and value.strip().isdigit() and 'key' in where:
        return int(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise BBoxFileError(f'{where}: {value!r} is not a frame index (a non-negative integer)')


def _record_boxes(rec, where: str):
    """``(where, frame, boxes)`` of one record of a list layout (None: not a person)."""
    if not isinstance(rec, dict):
        raise BBoxFileError(f'{where} is not an object: {rec!r}')
    if 'frame_id' not in rec and 'frame_index' not in rec:
        raise BBoxFileError(f'{where} has no "frame_id" (0-based frame index): {rec}')
    frame = rec.get('frame_id', rec.get('frame_index'))
    if 'instances' in rec:  # predictions of the inferencers / the demo
        boxes = [
            np.append(np.reshape(i['bbox'], -1)[:4], np.reshape(i.get('bbox_score', 1), -1)[:1])
            for i in rec['instances']
        ]
        return where, frame, boxes
    if 'bbox' not in rec:
        raise BBoxFileError(f'{where} has neither "instances" nor "bbox"')
    if int(rec.get('category_id', 1)) != 1:  # a COCO-style detection of another class
        return None
    return where, frame, bbox_xywh2xyxy(np.asarray([[*rec['bbox'][:4], rec.get('score', 1)]]))


def load_bbox_file(path: str) -> Dict[int, np.ndarray]:
    """0-based frame index -> ``(N, 5)`` boxes ``[x1, y1, x2, y2, score]`` of a JSON file in one of
    the layouts of docs/inference.md#bbox-files."""
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
    return {k: np.concatenate(v) for k, v in result.items()}


class PersonBoxes:
    """The clipped ``(N, 5)`` person boxes of each frame from ONE provider: given boxes (a frame
    without entry has nobody), else ``detect``, else the whole image (docs/inference.md).

    Args:
        detect (Callable, optional): ``(frame, index) -> (N, 5)`` boxes.
        bboxes (dict | list, optional): ``{frame_index: boxes}`` or a list indexed by frame.
        bbox_file (str, optional): A file for :func:`load_bbox_file`.
        whole_image_fallback (bool): Frames without box get the whole image. Defaults to False.
        num_frames (int): Frames in the input (0: unknown, checked at the end).
    """

    def __init__(
        self,
        detect: Optional[Callable[[np.ndarray, int], np.ndarray]] = None,
        bboxes: Union[None, Mapping[int, Sequence], Sequence[Sequence]] = None,
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
        self.detect, self.whole_image_fallback = detect, whole_image_fallback
        self.num_dropped, self._matched = 0, False
        if self.given and num_frames > 0 and min(self.given) >= num_frames:
            self.check_matched(num_frames)

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The boxes of frame ``index`` (an ``H x W x 3`` image)."""
        h, w = frame.shape[:2]
        whole = np.array([[0, 0, w, h, 1]], np.float32)
        if self.given is not None:
            self._matched |= index in self.given
            boxes = normalize_bboxes(self.given.get(index))
        else:
            boxes = self.detect(frame, index) if self.detect is not None else whole
        boxes, dropped = clip_bboxes(boxes, w, h)
        if dropped and not self.num_dropped:
            MMLogger.get_current_instance().warning(
                f'Frame {index}: {dropped} person box(es) outside the {w}x{h} image, empty or not '
                'finite dropped (partly outside: clipped); counted in `num_dropped`.'
            )
        self.num_dropped += dropped
        return whole if len(boxes) == 0 and self.whole_image_fallback else boxes

    def check_matched(self, num_frames: int) -> None:
        """Raise if given boxes matched no frame of the ``num_frames`` (> 0) of the input."""
        if self.given and not self._matched and num_frames > 0:
            keys = sorted(self.given)
            raise BBoxFileError(
                f'{self.source}: its frame indices ({keys[0]}..{keys[-1]}) match none of the '
                f'{num_frames} input frames (0..{num_frames - 1}: 0-based positions in the input).'
            )


class HOGPersonDetector:
    """OpenCV's HOG people detector (offline, weak: docs/inference.md) called like mmdet's
    ``DetInferencer``; scores are ``1 - exp(-m)`` of the SVM margin ``m``.

    Args:
        upscale (float, optional): Resize factor; None: ``max(1, min_long_side / long side)``.
        min_long_side (int): See ``upscale``. Defaults to 768.
    """

    def __init__(self, upscale: Optional[float] = None, min_long_side: int = 768) -> None:
        self.upscale, self.min_long_side = upscale, min_long_side
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, img: np.ndarray) -> np.ndarray:
        """``(N, 5)`` float32 boxes ``[x1, y1, x2, y2, score]`` of the people in a BGR image."""
        h, w = img.shape[:2]
        factor = self.upscale or max(1.0, self.min_long_side / max(h, w))
        work = img if factor == 1.0 else cv2.resize(img, (round(w * factor), round(h * factor)))
        if work.shape[0] < self._hog.winSize[1] or work.shape[1] < self._hog.winSize[0]:
            return np.zeros((0, 5), np.float32)  # nobody fits (and OpenCV may crash on it)
        rects, margins = self._hog.detectMultiScale(work, winStride=(8, 8), padding=(8, 8))
        x, y, bw, bh = np.asarray(rects, np.float32).reshape(-1, 4).T / factor
        sx, sy = 0.15, 0.05  # the share of the window's width/height cut on each side (margin)
        score = 1.0 - np.exp(-np.maximum(np.asarray(margins, np.float32).reshape(-1), 0.0))
        boxes = np.stack([x + sx * bw, y + sy * bh, x + (1 - sx) * bw, y + (1 - sy) * bh, score], 1)
        boxes[:, :4] = bbox_clip_border(boxes[:, :4], (w, h))
        return boxes.astype(np.float32).reshape(-1, 5)

    def __call__(self, inputs: Union[np.ndarray, str], **kwargs) -> dict:
        """``DetInferencer``-like: ``predictions``, one sample with ``pred_instances``."""
        boxes = self.detect(mmcv.imread(inputs))
        labels = np.zeros(len(boxes), np.int64)  # 0: person
        instances = InstanceData(bboxes=boxes[:, :4], scores=boxes[:, 4], labels=labels)
        return dict(predictions=[BaseDataElement(pred_instances=instances)])
