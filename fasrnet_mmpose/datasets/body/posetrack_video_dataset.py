# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTrack17/18 video dataset that samples a temporal frame window on every access.

One data sample is one person instance on one labelled (centre) frame ``t``. On every
``get_data_info(idx)`` call the dataset chooses the auxiliary frames around ``t`` with the one
window definition, :class:`fasrnet_mmpose.structures.TemporalWindow` (frame order, sampling,
boundary rule, margins, missing-frame fallback; see docs/temporal_window.md), and resolves their
file paths. The centre frame's box crops every frame (official
FaSRnet/DCPose convention).

Frame conventions (official FaSRnet/DCPose data):

============  =================================  ==========================
version       frame file names                   first frame index
============  =================================  ==========================
``'pt17'``    8 digits, ``00000001.jpg``         1 (1-indexed)
``'pt18'``    6 digits, ``000000.jpg``           0 (0-indexed)
============  =================================  ==========================
"""

import json
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import mmpose
import numpy as np
from mmengine import fileio
from mmengine.logging import print_log
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

from ...structures.temporal_window import (
    DEFAULT_FRAME_OFFSETS,
    TemporalWindow,
)

# per-version frame naming: (zero-padded length of the file stem, index of the first frame)
FRAME_NAMING = {'pt17': (8, 1), 'pt18': (6, 0)}
# PoseTrack keypoint definition (names, flip pairs, sigmas) as shipped in mmpose's .mim folder
_METAINFO_FILE = 'configs/_base_/datasets/posetrack18.py'
_MMPOSE_METAINFO = osp.join(osp.dirname(mmpose.__file__), '.mim', _METAINFO_FILE)
REQUIRED_IMAGE_FIELDS = ('id', 'file_name', 'vid_id', 'nframes', 'frame_id')


class AnnotationError(ValueError):
    """A malformed annotation or detection record (the message names file and record)."""


@DATASETS.register_module()
class PoseTrackVideoDataset(BaseCocoStyleDataset):
    """PoseTrack17/18 top-down video dataset with per-access frame-window sampling.

    Each sample's data info contains, besides the usual top-down keys (``bbox``, ``bbox_score``,
    ``keypoints``, ``keypoints_visible``, ``img_id``, ``id``, ...):

    - ``img_path`` (str): the centre frame (kept a single path so that mmpose's visualisation
      hooks work);
    - ``frame_paths`` (list[str]): ``T`` paths in the window order ``[current, previous, next]``
      (centre frame first, then one per neighbour in the order of ``frame_offsets``);
    - ``margin`` (np.ndarray[int64], (T-1,)): frame distance of each neighbour, ``|offset|``,
      with the official boundary rule: a neighbour that does not exist (sequence boundary) is the
      centre frame with margin **1**, not 0. A neighbour that is missing on disk also becomes the
      centre frame but keeps its sampled margin (official behaviour);
    - ``neighbour_fallback`` (np.ndarray[int8], (T-1,)): per neighbour ``FALLBACK_NONE`` (0),
      ``FALLBACK_BOUNDARY`` (1) or ``FALLBACK_MISSING`` (2, not on disk: the centre frame
      stands in). Pack it (``PackPoseInputs`` ``meta_keys``) so that ``MissingFramesHook``
      reports the share of missing neighbour frames once per epoch / test;
    - ``vid_id``, ``frame_id``, ``frame_index`` (parsed ``t``), ``nframes``.

    Frame sampling (all offsets are relative to the centre frame ``t``):

    - ``frame_sampler='fixed'``: the neighbours are exactly ``t + o`` for every ``o`` in
      ``frame_offsets[1:]``, clipped to the sequence (a clipped offset gives the nearest frame).
    - ``frame_sampler='random'``: each neighbour ``o`` is drawn **on every access** as
      ``sign(o) * U{1..|o|}``, limited to the frames that exist on that side (none → centre frame).
      The official FaSRnet ``DISTANCE: D`` (``RANDOM_AUX_FRAME: True``) is
      ``frame_offsets=[0, -(D-1), D-1]``; with the official ``D=2`` both modes are identical:
      ``[t, t-1, t+1]``.

    Every centre frame must be on disk (checked when the dataset is built, with
    ``check_frames_exist``): a missing one is an error naming the file.

    Args:
        ann_file (str): COCO-style PoseTrack annotation file (``images`` with ``id``, ``file_name``,
            ``vid_id``, ``nframes``, ``frame_id``; ``annotations`` with 17 keypoints).
        bbox_file (str, optional): Detection results (COCO detection list with ``bbox`` xywh,
            ``score``, ``category_id`` and ``image_id`` or ``image_name``). Test mode only. Box
            scores below ``filter_cfg['bbox_score_thr']`` are dropped. A relative path that does
            not exist as given is taken relative to ``data_root`` (like ``ann_file``). Defaults to
            None (GT boxes).
        version (str): ``'pt17'`` or ``'pt18'``: frame file naming (see module doc).
            Defaults to ``'pt18'``.
        frame_offsets (Sequence[int]): ``[0, previous..., next...]`` (order
            ``[current, previous, next]``; ``[0, 1, -1]`` is an error). Defaults to the official
            ``(0, -1, 1)`` = ``[t, t-1, t+1]``.
        frame_sampler (str): ``'fixed'`` or ``'random'``. Defaults to ``'fixed'``.
        ph_fill_len (int, optional): zero-padded length of frame file stems. Defaults to the
            version's (8 for PT17, 6 for PT18).
        check_frames_exist (bool): check that the centre frames exist (error when the dataset
            is built) and that neighbour files exist, falling back to the centre frame if not
            (flagged in ``neighbour_fallback``, counted in this process's
            :attr:`num_missing_frames`, the first file logged). Defaults to True.
        **kwargs: the arguments of :class:`mmpose.datasets.BaseCocoStyleDataset` (``data_root``,
            ``data_prefix``, ``filter_cfg``, ``pipeline``, ``test_mode``, ...).
    """

    METAINFO: dict = dict(
        from_file=_MMPOSE_METAINFO if osp.exists(_MMPOSE_METAINFO) else _METAINFO_FILE
    )

    def __init__(
        self,
        ann_file: str = '',
        bbox_file: Optional[str] = None,
        version: str = 'pt18',
        frame_offsets: Sequence[int] = DEFAULT_FRAME_OFFSETS,
        frame_sampler: str = 'fixed',
        ph_fill_len: Optional[int] = None,
        check_frames_exist: bool = True,
        **kwargs,
    ) -> None:
        if version not in FRAME_NAMING:
            raise ValueError(
                f'{self.__class__.__name__}: version must be one of '
                f'{sorted(FRAME_NAMING)}, got {version!r}'
            )
        try:
            self.window = TemporalWindow(frame_offsets, frame_sampler)
        except ValueError as e:
            raise ValueError(f'{self.__class__.__name__}: {e}') from None
        if kwargs.get('data_mode', 'topdown') != 'topdown':
            raise ValueError(f'{self.__class__.__name__} only supports data_mode="topdown"')
        self.version = version
        default_fill, self.first_frame_index = FRAME_NAMING[version]
        self.ph_fill_len = ph_fill_len or default_fill
        self.check_frames_exist = check_frames_exist
        self.num_missing_frames = 0
        super().__init__(ann_file=ann_file, bbox_file=bbox_file, **kwargs)

    def _join_prefix(self) -> None:
        """Join ``data_root`` to ``ann_file``, the img prefix and (unlike mmpose) ``bbox_file``."""
        super()._join_prefix()
        if (
            self.bbox_file
            and self.data_root
            and '://' not in self.bbox_file
            and not osp.isabs(self.bbox_file)
            and not osp.exists(self.bbox_file)
        ):
            self.bbox_file = osp.join(self.data_root, self.bbox_file)

    # ------------------------------------------------------------------ loading (once, at init)
    def load_data_list(self) -> List[dict]:
        """Load the instances: GT boxes from ``ann_file`` or detections from ``bbox_file``."""
        images, annotations = self._read_annotation_file()
        if self.bbox_file:
            data_list = self._load_detection_results_video(images)
        else:
            data_list = []
            for idx, ann in enumerate(annotations):
                info = self._parse_gt_instance(ann, idx, images)
                if info is not None:
                    data_list.append(info)
        if self.check_frames_exist:
            self._check_centre_frames(data_list)
        return data_list

    def _check_centre_frames(self, data_list: List[dict]) -> None:
        """Every sample's centre frame must be on disk: an error names the first missing one."""
        paths = list(dict.fromkeys(info['img_path'] for info in data_list))
        missing = [p for p in paths if not fileio.exists(p)]
        if missing:
            source = self.bbox_file or self.ann_file
            raise FileNotFoundError(
                f'{self.__class__.__name__}: centre frame {missing[0]} (from {source}) not '
                f'found ({len(missing)} of {len(paths)} centre frames missing); check data_root '
                f'/ data_prefix and version={self.version!r} (frame file names)'
            )

    def _read_annotation_file(self) -> Tuple[Dict[Any, dict], List[dict]]:
        """Read and validate ``ann_file``.

        Returns:
            tuple: ``(images, annotations)``: image records by id (with ``img_path``,
            ``frame_index``) and the raw annotation list.
        """
        src = self.ann_file
        if not fileio.exists(src):
            raise FileNotFoundError(f'{self.__class__.__name__}: annotation file {src} not found')
        with fileio.get_local_path(src) as local:
            with open(local, encoding='utf-8') as f:
                try:
                    content = json.load(f)
                except json.JSONDecodeError as e:
                    raise AnnotationError(f'{src}: not valid JSON ({e})') from e
        for key in ('images', 'annotations'):
            if not isinstance(content.get(key), list):
                raise AnnotationError(f'{src}: expected a COCO-style dict with a "{key}" list')
        images = {}
        for i, img in enumerate(content['images']):
            missing = [k for k in REQUIRED_IMAGE_FIELDS if k not in img]
            if missing:
                raise AnnotationError(
                    f'{src}: images[{i}] (id={img.get("id")}, file_name={img.get("file_name")}) '
                    f'lacks required field(s) {missing}'
                )
            img = dict(img)
            img['img_path'] = osp.join(self.data_prefix['img'], img['file_name'])
            img['frame_index'] = self._parse_frame_index(img['file_name'], src, f'images[{i}]')
            nframes = img['nframes']
            if not isinstance(nframes, (int, np.integer)) or nframes < 1:
                raise AnnotationError(
                    f'{src}: images[{i}] ({img["file_name"]}): nframes must be a '
                    f'positive integer, got {nframes!r}'
                )
            images[img['id']] = img
        return images, content['annotations']

    def _parse_frame_index(self, file_name: str, src: str, record: str) -> int:
        """Frame number ``t`` from a frame file name (``.../000012.jpg`` → 12)."""
        stem = osp.splitext(osp.basename(file_name))[0]
        if not stem.isdigit():
            raise AnnotationError(
                f'{src}: {record}: cannot parse a frame number from file name '
                f'{file_name!r} (expected digits, e.g. 000012.jpg)'
            )
        return int(stem)

    def _parse_gt_instance(self, ann: dict, idx: int, images: Dict[Any, dict]) -> Optional[dict]:
        """One annotation record → a data info dict (None if it is not a usable instance)."""
        src = self.ann_file
        record = f'annotations[{idx}] (id={ann.get("id")})'
        if 'image_id' not in ann or ann['image_id'] not in images:
            raise AnnotationError(
                f'{src}: {record} refers to image_id {ann.get("image_id")!r}, '
                'which is not in "images"'
            )
        img = images[ann['image_id']]
        if ann.get('category_id', 1) != 1:
            return None
        num_kpts = self.metainfo['num_keypoints']
        kpts = ann.get('keypoints')
        if kpts is None or len(kpts) != 3 * num_kpts:
            raise AnnotationError(
                f'{src}: {record}: "keypoints" must have {3 * num_kpts} values '
                f'({num_kpts} joints x (x, y, v)), got {None if kpts is None else len(kpts)}'
            )
        if 'bbox' not in ann or len(ann['bbox']) != 4:
            raise AnnotationError(f'{src}: {record}: "bbox" must be [x, y, w, h]')
        kpts = np.asarray(kpts, dtype=np.float32).reshape(1, num_kpts, 3)
        bbox = self._clean_bbox(ann['bbox'], img)
        # official: keep boxes of positive area with at least one labelled coordinate
        if bbox is None or not np.any(kpts[..., :2]):
            return None
        info = self._frame_info(img)
        info.update(
            bbox=bbox,
            bbox_score=np.ones(1, dtype=np.float32),
            keypoints=kpts[..., :2],
            keypoints_visible=np.minimum(1, kpts[..., 2]),
            num_keypoints=int(ann.get('num_keypoints', int(np.count_nonzero(kpts[..., 2])))),
            iscrowd=int(ann.get('iscrowd', 0)),
            category_id=1,
            id=ann.get('id', idx),
            track_id=ann.get('track_id', -1),
        )
        return info

    @staticmethod
    def _clean_bbox(xywh: Sequence[float], img: dict) -> Optional[np.ndarray]:
        """Official box cleaning → (1, 4) xyxy, or None for an empty box.

        Clip the top-left corner to the image, then ``x2 = min(W-1, x1 + max(0, w-1))`` (same
        for y).
        Images without ``width``/``height`` are not clipped on the far side.
        """
        x, y, w, h = (float(v) for v in xywh)
        width, height = img.get('width', np.inf), img.get('height', np.inf)
        x1, y1 = max(0.0, x), max(0.0, y)
        x2 = min(width - 1, x1 + max(0.0, w - 1))
        y2 = min(height - 1, y1 + max(0.0, h - 1))
        if x2 <= x1 or y2 <= y1:
            return None
        return np.array([[x1, y1, x2, y2]], dtype=np.float32)

    def _frame_info(self, img: dict) -> dict:
        """Per-frame fields shared by all instances of an image."""
        return dict(
            img_id=img['id'],
            img_path=img['img_path'],
            vid_id=img['vid_id'],
            frame_id=img['frame_id'],
            frame_index=img['frame_index'],
            nframes=int(img['nframes']),
            ori_shape=(img['height'], img['width']) if 'height' in img and 'width' in img else None,
        )

    def _load_detection_results_video(self, images: Dict[Any, dict]) -> List[dict]:
        """Detection boxes (test mode) → data infos with dummy keypoints and the box score."""
        src = self.bbox_file
        if not fileio.exists(src):
            raise FileNotFoundError(f'{self.__class__.__name__}: bbox_file {src} not found')
        with fileio.get_local_path(src) as local:
            with open(local, encoding='utf-8') as f:
                dets = json.load(f)
        if not isinstance(dets, list):
            raise AnnotationError(f'{src}: expected a list of detection dicts, got {type(dets)}')
        by_name = {img['file_name']: img for img in images.values()}
        num_kpts = self.metainfo['num_keypoints']
        data_list = []
        for i, det in enumerate(dets):
            record = f'detection [{i}]'
            if det.get('category_id', 1) != 1:
                continue
            for key in ('bbox', 'score'):
                if key not in det:
                    raise AnnotationError(f'{src}: {record} lacks "{key}"')
            if len(det['bbox']) != 4:
                raise AnnotationError(f'{src}: {record}: "bbox" must be [x, y, w, h]')
            img = images.get(det.get('image_id'))
            if img is None and det.get('image_name') is not None:
                img = by_name.get(det['image_name']) or self._image_from_detection(det, src, record)
            if img is None:
                raise AnnotationError(
                    f'{src}: {record}: image_id {det.get("image_id")!r} is not in {self.ann_file} '
                    'and the record has no "image_name" (+ "nframes") to locate the frame'
                )
            bbox = self._clean_bbox(det['bbox'], img)
            if bbox is None:
                continue
            info = self._frame_info(img)
            info.update(
                bbox=bbox,
                bbox_score=np.array([det['score']], dtype=np.float32),
                keypoints=np.zeros((1, num_kpts, 2), dtype=np.float32),
                keypoints_visible=np.ones((1, num_kpts), dtype=np.float32),
                category_id=1,
                id=i,
            )
            data_list.append(info)
        return data_list

    def _image_from_detection(self, det: dict, src: str, record: str) -> dict:
        """Image record for a detection on an unlabelled frame (``image_name`` + ``nframes``)."""
        if 'nframes' not in det:
            raise AnnotationError(
                f'{src}: {record}: frame {det["image_name"]!r} is not in '
                f'{self.ann_file} and the record has no "nframes"'
            )
        name = det['image_name']
        return dict(
            id=det.get('image_id', name),
            file_name=name,
            img_path=osp.join(self.data_prefix['img'], name),
            vid_id=det.get('vid_id', osp.basename(osp.dirname(name))),
            frame_id=det.get('frame_id', det.get('image_id', name)),
            frame_index=self._parse_frame_index(name, src, record),
            nframes=int(det['nframes']),
        )

    # ------------------------------------------------------------------ per-access window sampling
    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx`` with a freshly sampled frame window (see class doc)."""
        data_info = super().get_data_info(idx)
        if data_info.get('ori_shape') is None:
            data_info.pop('ori_shape', None)
        data_info.update(self.sample_frame_window(data_info))
        return data_info

    def sample_frame_window(self, data_info: dict) -> dict:
        """Choose the neighbour frames of one sample (see :class:`TemporalWindow`).

        Args:
            data_info (dict): needs ``img_path``, ``frame_index``, ``nframes``.

        Returns:
            dict: ``frame_paths`` (list[str], T), ``margin`` (np.ndarray int64 (T-1,)),
            ``neighbour_fallback`` (np.ndarray int8 (T-1,)).
        """
        t = data_info['frame_index']
        first = self.first_frame_index
        last = first + data_info['nframes'] - 1
        centre = data_info['img_path']
        frame_dir, ext = osp.dirname(centre), osp.splitext(centre)[1]

        def path_of(offset: int) -> str:
            if offset == 0:
                return centre
            return osp.join(frame_dir, str(t + offset).zfill(self.ph_fill_len) + ext)

        def on_disk(offset: int) -> bool:
            path = path_of(offset)
            if fileio.exists(path):
                return True
            self._report_missing(path, centre)
            return False

        window = self.window.sample(
            t - first, last - t, is_available=on_disk if self.check_frames_exist else None
        )
        return dict(
            frame_paths=[path_of(int(o)) for o in window.offsets],
            margin=window.margin,
            neighbour_fallback=window.fallback,
        )

    def _report_missing(self, path: str, centre: str) -> None:
        """Count a missing neighbour frame in this process; log the first one of this dataset."""
        self.num_missing_frames += 1
        if self.num_missing_frames == 1:
            print_log(
                f'{self.__class__.__name__}: neighbour frame {path} does not exist; the centre '
                f'frame {centre} stands in (official fallback). MissingFramesHook reports the '
                'share of missing neighbour frames once per epoch / test.',
                logger='current',
                level=logging.WARNING,
            )


__all__ = ['PoseTrackVideoDataset', 'AnnotationError']
