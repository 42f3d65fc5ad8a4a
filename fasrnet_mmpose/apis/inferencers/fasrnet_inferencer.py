# Copyright (c) OpenMMLab. All rights reserved.
"""Temporal (multi-frame) top-down inferencer for FaSRnet."""

import logging
import warnings
from typing import Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.infer.infer import ModelType
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.evaluation.functional import nms
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample

from ...utils import CheckpointDownloadError, check_weights
from .utils import (
    HOG_DETECTOR_NAMES,
    FrameSource,
    FrameWindow,
    HOGPersonDetector,
    check_frame_offsets,
    clip_bboxes,
    find_model_entry,
    frame_name,
    iter_frame_windows,
    load_bbox_file,
    normalize_bboxes,
    open_frame_source,
)

InputType = Union[str, np.ndarray]
InputsType = Union[InputType, Sequence[InputType], FrameSource]
BBoxesType = Union[None, Mapping[int, Sequence], Sequence[Sequence]]

RANDOM_INIT_BANNER = (
    '\n' + '!' * 79 + '\n'
    '!!  NO WEIGHTS LOADED: the FaSRnet model is RANDOMLY INITIALISED.\n'
    '!!  Its keypoints are MEANINGLESS (this only exercises the pipeline).\n'
    '!!  Pass trained weights (a local path, file:// or http(s):// URL), e.g. a\n'
    '!!  converted official checkpoint: see docs/model_zoo.md.\n' + '!' * 79
)


@INFERENCERS.register_module(name='fasrnet')
@INFERENCERS.register_module()
class FaSRnetInferencer(Pose2DInferencer):
    """Video (temporal window) inferencer for FaSRnet-style models.

    For every frame ``t`` of a video file, an image folder, a list of frames
    or a camera, it

    1. finds the people on frame ``t``: an mmdet detector (as mmpose's
       ``Pose2DInferencer``; default: mmpose's RTMDet person model, which is
       downloaded), OpenCV's HOG people detector (``det_model='hog'``, no
       download), the boxes given with ``bboxes``/``bbox_file`` or the whole
       image (``det_model='whole_image'``);
    2. crops the *same* box from the frames of its window
       ``[t, t+o_1, ...]`` (``frame_offsets``, default the config's
       ``[0, -1, 1]``): offline, offsets are clipped to the sequence; online,
       no future frame is used (``+1`` becomes ``t`` itself with margin 1,
       the sequence-end rule of training). Frames are decoded **once**, in
       order; neighbours come from a ring buffer (offline, results lag by
       ``max(o)`` frames);
    3. runs **one** forward for all people of the frame (batch = persons);
    4. visualises and returns the results exactly like
       ``Pose2DInferencer`` (video output and a predictions JSON with
       ``out_dir``/``vis_out_dir``/``pred_out_dir``).

    A frame on which nobody is found gets an empty prediction and no forward
    (``whole_image_fallback=True`` gives mmpose's behaviour instead: one
    whole-image box). Boxes are clipped to the image; boxes entirely outside
    it are dropped (logged).

    Args:
        model (str | dict | Config): Config path, config, or a model name /
            alias of the plugin's model index (``configs/fasrnet/
            metafile.yml``), e.g. ``'fasrnet_hrnet-w48_posetrack17'``.
        weights (str, optional): Checkpoint: local path, ``file://`` or
            ``http(s)://`` URL (hash-checked cache). ``None`` (and no weights
            in the model index) builds a **randomly initialised** model, with
            a loud warning.
        device (str, optional): Device. Defaults to CUDA when available.
        scope (str): Registry scope. Defaults to ``'mmpose'``.
        det_model (str | object, optional): ``None`` (mmpose's default
            person detector), an mmdet config path / model name, ``'hog'``
            (OpenCV HOG, offline), ``'whole_image'``, or a detector object
            called like mmdet's ``DetInferencer`` (e.g.
            :class:`HOGPersonDetector`).
        det_weights (str, optional): Detector checkpoint.
        det_cat_ids (int | tuple, optional): Detector person class ids.
            Defaults to ``(0, )`` (COCO person) for a given detector.
        show_progress (bool): Show a progress bar. Defaults to False.
        online (bool): Use past frames only (causal, no latency). Defaults to
            False (offline: ``t-1`` and ``t+1``).
        frame_offsets (Sequence[int], optional): ``[0, o_1, ...]``, current
            frame first. Defaults to the config's test ``frame_offsets`` (or
            top-level ``frame_offsets``, else ``[0, -1, 1]``).
        whole_image_fallback (bool): On a frame without any person box, run
            the model on one whole-image box (``Pose2DInferencer``'s
            behaviour) instead of returning no instance. Defaults to False.
        allow_partial_weights (bool): Run with a checkpoint that leaves
            backbone/head parameters unloaded (``weights_loaded`` is then
            False, like random init) instead of refusing it. Defaults to False.
    """

    preprocess_kwargs: set = {
        'bbox_thr',
        'nms_thr',
        'bboxes',
        'bbox_file',
        'online',
        'frame_offsets',
    }
    forward_kwargs: set = {'merge_results', 'pose_based_nms'}

    def __init__(
        self,
        model: Union[ModelType, str],
        weights: Optional[str] = None,
        device: Optional[str] = None,
        scope: Optional[str] = 'mmpose',
        det_model: Optional[Union[ModelType, str, object]] = None,
        det_weights: Optional[str] = None,
        det_cat_ids: Optional[Union[int, Tuple]] = None,
        show_progress: bool = False,
        online: bool = False,
        frame_offsets: Optional[Sequence[int]] = None,
        whole_image_fallback: bool = False,
        allow_partial_weights: bool = False,
    ) -> None:
        self.weights_loaded = False
        self.allow_partial_weights, self._weights_name = allow_partial_weights, weights
        super().__init__(
            model=model,
            weights=weights,
            device=device,
            scope=scope,
            det_model=det_model,
            det_weights=det_weights,
            det_cat_ids=det_cat_ids,
            show_progress=show_progress,
        )
        if self.cfg.get('data_mode') != 'topdown':
            raise ValueError(
                'FaSRnetInferencer supports top-down models only (config data_mode '
                f'= {self.cfg.get("data_mode")!r}).'
            )
        pipeline_cfg = self.cfg.test_dataloader.dataset.pipeline
        if not pipeline_cfg or pipeline_cfg[0].get('type') != 'LoadFrameWindow':
            raise ValueError(
                'FaSRnetInferencer needs a multi-frame test pipeline starting with '
                f'LoadFrameWindow, got {pipeline_cfg[0].get("type") if pipeline_cfg else None}. '
                "Use mmpose's Pose2DInferencer for single-frame models."
            )
        if frame_offsets is None:
            frame_offsets = self._config_frame_offsets(self.cfg)
        self.frame_offsets = check_frame_offsets(frame_offsets)
        self.online = bool(online)
        self.whole_image_fallback = whole_image_fallback
        self.num_dropped_boxes = 0

    # ----------------------------------------------------------- model/init
    @staticmethod
    def _config_frame_offsets(cfg: Config) -> Tuple[int, ...]:
        """``frame_offsets`` of the test dataset, else the top-level one."""
        dataset = cfg.get('test_dataloader', {}).get('dataset', {})
        offsets = dataset.get('frame_offsets', None) or cfg.get('frame_offsets', None)
        return tuple(offsets) if offsets else (0, -1, 1)

    def _load_model_from_metafile(self, model: str) -> Tuple[Config, Optional[str]]:
        """Resolve a plugin model name/alias from the plugin's model index.

        Args:
            model (str): ``Name`` or ``Alias`` in ``configs/fasrnet/
                metafile.yml`` (case-insensitive).

        Returns:
            tuple[Config, str | None]: The config and the listed weights
            (``None``: the entry lists no weights).
        """
        config_path, weights, _ = find_model_entry(model)
        return Config.fromfile(config_path), weights

    def _load_weights_to_model(
        self, model: torch.nn.Module, checkpoint: Optional[dict], cfg: Optional[ConfigDict]
    ) -> None:
        """Load the checkpoint (see mmpose), refusing partial weights; warn loudly without one."""
        complete = checkpoint is not None
        if complete:
            name = self._weights_name or 'model-index weights'
            complete = check_weights(model, checkpoint, name, self.allow_partial_weights).complete
        super()._load_weights_to_model(model, checkpoint, cfg)
        self.weights_loaded = complete
        if checkpoint is None:
            print_log(RANDOM_INIT_BANNER, logger='current', level=logging.WARNING)
            warnings.warn(
                'FaSRnetInferencer: no weights loaded, the model is randomly '
                'initialised and its predictions are meaningless.',
                UserWarning,
            )

    def _init_detector(
        self,
        det_model: Optional[Union[ModelType, str, object]] = None,
        det_weights: Optional[str] = None,
        det_cat_ids: Optional[Union[int, Tuple]] = None,
        device: Optional[str] = None,
    ) -> None:
        """mmpose's detector choice, plus ``'hog'`` and detector objects."""
        if isinstance(det_model, str) and det_model.lower() in HOG_DETECTOR_NAMES:
            self.detector = HOGPersonDetector()
            det_cat_ids = 0 if det_cat_ids is None else det_cat_ids
        elif det_model is not None and not isinstance(det_model, (str, dict, Config)):
            if not callable(det_model):
                raise TypeError(
                    f'det_model must be a string, a config or a callable detector, '
                    f'got {type(det_model)}'
                )
            self.detector = det_model
            det_cat_ids = 0 if det_cat_ids is None else det_cat_ids
        else:
            if det_model is not None and det_cat_ids is None:
                det_cat_ids = 0  # COCO person for a user-given mmdet model
            try:
                super()._init_detector(det_model, det_weights, det_cat_ids, device)
            except CheckpointDownloadError as e:
                if det_model is not None:
                    raise
                raise CheckpointDownloadError(
                    f"{e}\nThis is mmpose's default person detector (det_model=None). Without "
                    "network access use det_model='hog' (OpenCV's people detector, no download), "
                    "det_model='whole_image', given boxes (bboxes=/bbox_file=), or a local mmdet "
                    'config with det_weights.'
                ) from e
            return
        self.det_cat_ids = (
            tuple(det_cat_ids) if isinstance(det_cat_ids, (list, tuple)) else (det_cat_ids,)
        )

    # --------------------------------------------------------------- inputs
    def _set_video_info(self, source: FrameSource) -> None:
        self._video_input = source.is_video
        if source.is_video:
            self.video_info = dict(
                fps=source.fps,
                name=source.name,
                writer=None,
                width=getattr(source, 'width', 0),
                height=getattr(source, 'height', 0),
                predictions=[],
            )

    def _inputs_to_list(self, inputs: InputsType) -> FrameSource:
        """Open the input as a sequential :class:`FrameSource`.

        Args:
            inputs: A video file, an image folder (natural order), an image
                file, an array, a list of arrays/paths (one sequence) or a
                :class:`FrameSource`.

        Returns:
            FrameSource: Frames decoded lazily, once each.
        """
        source = open_frame_source(inputs)
        self._set_video_info(source)
        return source

    def _get_webcam_inputs(self, inputs: str) -> FrameSource:
        """A camera (``'webcam'`` / ``'webcam:<id>'``) as a frame source."""
        source = open_frame_source(inputs)
        self._set_video_info(source)
        return source

    # ----------------------------------------------------------- preprocess
    @staticmethod
    def _boxes_lookup(bboxes: BBoxesType, bbox_file: Optional[str]):
        """Per-frame given boxes as a function ``index -> boxes | None``."""
        if bbox_file is not None:
            if bboxes is not None and len(bboxes) > 0:
                raise ValueError('Give either bboxes or bbox_file, not both.')
            bboxes = load_bbox_file(bbox_file)
        if bboxes is None or (not isinstance(bboxes, Mapping) and len(bboxes) == 0):
            return None
        if isinstance(bboxes, Mapping):
            table = {int(k): v for k, v in bboxes.items()}
            return lambda index: table.get(index, [])
        seq = list(bboxes)
        return lambda index: seq[index] if index < len(seq) else []

    def preprocess(
        self,
        inputs: Union[FrameSource, Iterable],
        batch_size: int = 1,
        bboxes: BBoxesType = None,
        bbox_file: Optional[str] = None,
        bbox_thr: float = 0.3,
        nms_thr: float = 0.3,
        online: Optional[bool] = None,
        frame_offsets: Optional[Sequence[int]] = None,
        **kwargs,
    ) -> Iterator[Tuple[dict, List[np.ndarray]]]:
        """Yield one collated batch (all people of frame ``t``) per frame.

        Args:
            inputs (FrameSource | Iterable): From :meth:`_inputs_to_list`
                (or any iterable of BGR frames).
            batch_size (int): Unused: a batch is always the people of one
                frame.
            bboxes (dict | list, optional): Given person boxes per frame
                (``{frame_index: boxes}`` or a list indexed by frame), each
                ``[[x1, y1, x2, y2(, score)], ...]``; replaces the detector.
                A frame without entry has no person.
            bbox_file (str, optional): JSON file with boxes per frame, see
                :func:`~fasrnet_mmpose.apis.inferencers.utils.load_bbox_file`.
            bbox_thr (float): Detector score threshold. Defaults to 0.3.
            nms_thr (float): Detector NMS IoU threshold. Defaults to 0.3.
            online (bool, optional): Overrides the inferencer's ``online``.
            frame_offsets (Sequence[int], optional): Overrides the
                inferencer's ``frame_offsets``.

        Yields:
            tuple[dict, list[np.ndarray]]: The collated batch and ``[frame t]``.
        """
        if isinstance(inputs, FrameSource):
            frames = inputs
        elif isinstance(inputs, (str, np.ndarray, list, tuple)):
            frames = open_frame_source(inputs)
        else:  # any iterable of BGR frames
            frames = ((f, frame_name(i)) for i, f in enumerate(inputs))
        offsets = check_frame_offsets(
            self.frame_offsets if frame_offsets is None else frame_offsets
        )
        online = self.online if online is None else bool(online)
        given = self._boxes_lookup(bboxes, bbox_file)
        self.num_dropped_boxes = 0
        for window in iter_frame_windows(frames, offsets, online):
            data_infos = self.preprocess_single(
                window,
                index=window.index,
                bbox_thr=bbox_thr,
                nms_thr=nms_thr,
                bboxes=None if given is None else given(window.index),
            )
            batch = self.collate_fn(data_infos) if data_infos else self._empty_batch(window)
            yield batch, [window.frame]

    def _detect(self, frame: np.ndarray, bbox_thr: float, nms_thr: float) -> np.ndarray:
        """Person boxes ``(N, 5)`` of one frame from ``self.detector``."""
        det_results = self.detector(frame, return_datasamples=True)['predictions']
        pred_instance = det_results[0].pred_instances.cpu().numpy()
        boxes = np.concatenate(
            (
                np.asarray(pred_instance.bboxes, np.float32).reshape(-1, 4),
                np.asarray(pred_instance.scores, np.float32).reshape(-1, 1),
            ),
            axis=1,
        )
        labels = np.asarray(pred_instance.labels).reshape(-1)
        label_mask = np.zeros(len(boxes), dtype=bool)
        for cat_id in self.det_cat_ids:
            label_mask |= labels == cat_id
        boxes = boxes[label_mask & (boxes[:, 4] > bbox_thr)]
        if len(boxes):
            boxes = boxes[nms(boxes, nms_thr)]
        return boxes

    def preprocess_single(
        self,
        input: FrameWindow,
        index: int,
        bbox_thr: float = 0.3,
        nms_thr: float = 0.3,
        bboxes: Optional[Union[Sequence, np.ndarray]] = None,
    ) -> List[dict]:
        """Pipeline outputs for every person of frame ``t`` (one window).

        Args:
            input (FrameWindow): Frame ``t`` and its neighbours.
            index (int): ``t``.
            bbox_thr (float): Detector score threshold. Defaults to 0.3.
            nms_thr (float): Detector NMS IoU threshold. Defaults to 0.3.
            bboxes (Sequence | np.ndarray, optional): Given boxes of this
                frame (used as they are: no threshold, no NMS). ``None``: use
                the detector, or the whole image without a detector.

        Returns:
            list[dict]: One pipeline output per person (may be empty).
        """
        window = input
        frame = window.frame
        h, w = frame.shape[:2]
        whole = np.array([[0, 0, w, h, 1]], dtype=np.float32)
        if bboxes is not None:
            boxes = normalize_bboxes(bboxes)
        elif self.detector is not None:
            boxes = self._detect(frame, bbox_thr, nms_thr)
        else:
            boxes = whole
        boxes, dropped = clip_bboxes(boxes, w, h)
        if dropped:
            if self.num_dropped_boxes == 0:
                print_log(
                    f'Frame {index}: {dropped} person box(es) outside the {w}x{h} image (or '
                    'empty / not finite) dropped; boxes partly outside are clipped. Further '
                    'drops are counted in `inferencer.num_dropped_boxes`.',
                    logger='current',
                    level=logging.WARNING,
                )
            self.num_dropped_boxes += dropped
        if len(boxes) == 0 and self.whole_image_fallback:
            boxes = whole

        data_info = dict(
            img=list(window.frames),
            img_path=window.name,
            frame_index=index,
            frame_offsets=window.offsets,
            margin=window.margin,
        )
        data_info.update(self.model.dataset_meta)
        data_infos = []
        for box in boxes:
            inst = data_info.copy()
            inst['bbox'] = box[None, :4]
            inst['bbox_score'] = box[4:5]
            data_infos.append(self.pipeline(inst))
        return data_infos

    def _empty_batch(self, window: FrameWindow) -> dict:
        """A batch without any person (no forward is run for it)."""
        h, w = window.frame.shape[:2]
        num_keypoints = int(self.model.dataset_meta.get('num_keypoints', 17))
        sample = PoseDataSample(
            metainfo=dict(
                img_path=window.name, ori_shape=(h, w), img_shape=(h, w), frame_index=window.index
            )
        )
        sample.pred_instances = InstanceData(
            keypoints=np.zeros((0, num_keypoints, 2), np.float32),
            keypoint_scores=np.zeros((0, num_keypoints), np.float32),
            bboxes=np.zeros((0, 4), np.float32),
            bbox_scores=np.zeros((0,), np.float32),
        )
        return dict(inputs=[], data_samples=[], empty_sample=sample)

    # -------------------------------------------------------------- forward
    @torch.no_grad()
    def forward(
        self,
        inputs: Union[dict, tuple],
        merge_results: bool = True,
        bbox_thr: float = -1,
        pose_based_nms: bool = False,
    ) -> List[PoseDataSample]:
        """One ``model.test_step`` for all people of the frame.

        A frame without people returns one data sample with empty
        ``pred_instances`` and runs no forward. See
        ``Pose2DInferencer.forward`` for the arguments.
        """
        if isinstance(inputs, dict) and 'empty_sample' in inputs:
            return [inputs['empty_sample']]
        return super().forward(
            inputs, merge_results=merge_results, bbox_thr=bbox_thr, pose_based_nms=pose_based_nms
        )
