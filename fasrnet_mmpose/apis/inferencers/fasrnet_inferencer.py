# Copyright (c) OpenMMLab. All rights reserved.
"""Temporal (multi-frame) top-down inferencer for FaSRnet."""

import logging
import os.path as osp
import warnings
from dataclasses import replace
from functools import partial
from types import GeneratorType
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.infer.infer import ModelType
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample, split_instances
from mmpose.utils.tensor_utils import to_numpy

from ...structures.temporal_window import DEFAULT_FRAME_OFFSETS
from ...tracking import PoseTracker
from ...utils import CheckpointDownloadError, check_weights
from .utils import (
    HOG_DETECTOR_NAMES,
    FrameSource,
    FrameWindow,
    GivenBoxes,
    HOGPersonDetector,
    PersonBoxes,
    PredictionsWriter,
    VideoSink,
    check_frame_offsets,
    find_model_entry,
    frame_name,
    iter_frame_windows,
    open_frame_source,
)

InputType = Union[str, np.ndarray]
InputsType = Union[InputType, Sequence[InputType], FrameSource]

RANDOM_INIT_BANNER = (
    '\n' + '!' * 79 + '\n'
    '!!  NO WEIGHTS LOADED: the FaSRnet model is RANDOMLY INITIALISED.\n'
    '!!  Its keypoints are MEANINGLESS (this only exercises the pipeline).\n'
    '!!  Pass trained weights (a local path, file:// or http(s):// URL), e.g. a\n'
    '!!  converted official checkpoint: see docs/model_zoo.md.\n' + '!' * 79
)


def track_colour(track_id: int) -> Tuple[int, int, int]:
    """A distinct, stable RGB colour per track id (golden-ratio hue steps)."""
    hsv = np.uint8([[[int(track_id * 0.618034 * 180) % 180, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def draw_tracks(img: np.ndarray, instances: InstanceData, draw_bbox: bool = True) -> None:
    """Draw ``id N`` (and the box) of every tracked instance in its colour on an RGB image."""
    boxes = np.asarray(instances.bboxes).reshape(-1, 4).round().astype(int)
    for (x1, y1, x2, y2), track_id in zip(boxes, instances.track_ids):
        colour = track_colour(int(track_id))
        if draw_bbox:
            cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(img, f'id {track_id}', (x1 + 2, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, colour, 2, cv2.LINE_AA)  # fmt: skip


@INFERENCERS.register_module(name='fasrnet')
@INFERENCERS.register_module()
class FaSRnetInferencer(Pose2DInferencer):
    """Video (temporal window) inferencer for FaSRnet-style models (docs/inference.md).

    For every frame ``t`` of a video, an image folder, a list of frames or a
    camera (each frame decoded once, in order): the person boxes of frame
    ``t`` (:class:`PersonBoxes`: detector, given boxes or whole image), the
    *same* box cropped from every frame of the window ``[t, t+o_1, ...]``
    (``frame_offsets``; offline clipped to the sequence, online never a
    future frame), **one** forward for all people of the frame, and
    ``Pose2DInferencer``'s visualisation and outputs. A frame without person
    gets an empty prediction and no forward.

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
        track (bool): Give every instance a ``track_id`` stable across the
            frames of a call (:class:`~fasrnet_mmpose.tracking.PoseTracker`,
            fed frame by frame in both modes; a call can pass ``track=False``).
            Defaults to True.
        track_options (dict, optional): ``PoseTracker`` arguments besides the
            dataset ``sigmas`` (``max_age``, ``oks_weight``, ...).
    """

    preprocess_kwargs: set = Pose2DInferencer.preprocess_kwargs | {
        'bbox_file', 'online', 'frame_offsets'
    }  # fmt: skip
    forward_kwargs: set = {'merge_results', 'pose_based_nms', 'track'}
    _TRACK_INPUTS = ('keypoints', 'keypoint_scores', 'bboxes')

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
        track: bool = True,
        track_options: Optional[dict] = None,
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
        self.boxes: Optional[PersonBoxes] = None  # the person-box provider of the last call
        sigmas = self.model.dataset_meta.get('sigmas')
        if track and sigmas is None:
            raise ValueError('track=True needs the OKS `sigmas` in the dataset meta of the model')
        self.tracker = PoseTracker(sigmas, **(track_options or {})) if track else None

    # ----------------------------------------------------------- model/init
    @staticmethod
    def _config_frame_offsets(cfg: Config) -> Tuple[int, ...]:
        """``frame_offsets`` of the test dataset, else the top-level one."""
        dataset = cfg.get('test_dataloader', {}).get('dataset', {})
        offsets = dataset.get('frame_offsets', None) or cfg.get('frame_offsets', None)
        return tuple(offsets) if offsets else DEFAULT_FRAME_OFFSETS

    def _load_model_from_metafile(self, model: str) -> Tuple[Config, Optional[str]]:
        """The config and listed weights (or None) of a name/alias of the plugin's model index."""
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

    def _init_collate(self, cfg: Config):
        """The test loader's ``collate_fn`` (a registered name; default ``pseudo_collate``).

        Looked up in mmengine's ``FUNCTIONS`` registry directly: mmengine's version first switches
        to the ``mmpose`` scope, which has no "function" registry, and logs a misleading
        ``Failed to search registry with scope "mmpose"`` WARNING on every run.
        """
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import FUNCTIONS

        name = cfg.get('test_dataloader', {}).get('collate_fn')
        return FUNCTIONS.get(name) if isinstance(name, str) else pseudo_collate

    def _init_detector(
        self,
        det_model: Optional[Union[ModelType, str, object]] = None,
        det_weights: Optional[str] = None,
        det_cat_ids: Optional[Union[int, Tuple]] = None,
        device: Optional[str] = None,
    ) -> None:
        """mmpose's detector choice, plus ``'hog'`` and ``DetInferencer``-like objects."""
        if isinstance(det_model, str) and det_model.lower() in HOG_DETECTOR_NAMES:
            det_model = HOGPersonDetector()
        if det_model is not None and det_cat_ids is None:
            det_cat_ids = 0  # COCO person (and HOG's only label) for a given detector
        if det_model is not None and not isinstance(det_model, (str, dict, Config)):
            if not callable(det_model):
                raise TypeError(f'det_model must be a string, a config or a callable detector, '
                                f'got {type(det_model)}')  # fmt: skip
            self.detector, self.det_cat_ids = det_model, tuple(np.atleast_1d(det_cat_ids).tolist())
            return
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

    # --------------------------------------------------------------- inputs
    def _inputs_to_list(self, inputs: InputsType) -> FrameSource:
        """Open the input (any :func:`open_frame_source` input) as a sequential source."""
        source = self._source = open_frame_source(inputs)
        self._video_input = source.is_video
        if source.is_video:
            self.video_info = dict(
                fps=source.fps, name=source.name, writer=None, predictions=[],
                width=getattr(source, 'width', 0), height=getattr(source, 'height', 0),
            )  # fmt: skip
        return source

    _get_webcam_inputs = _inputs_to_list  # a camera is one more frame source

    # ----------------------------------------------------------- preprocess
    def preprocess(
        self,
        inputs: Union[FrameSource, Iterable],
        batch_size: int = 1,
        bboxes: GivenBoxes = None,
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
            batch_size (int): Unused: a batch is the people of one frame.
            bboxes, bbox_file: Given person boxes (see :class:`PersonBoxes`).
            bbox_thr (float): Detector score threshold. Defaults to 0.3.
            nms_thr (float): Detector NMS IoU threshold. Defaults to 0.3.
            online (bool, optional): Overrides the inferencer's ``online``.
            frame_offsets (Sequence[int], optional): Overrides its offsets.

        Yields:
            tuple[dict, list[np.ndarray]]: The collated batch and ``[frame t]``.
        """
        if not isinstance(inputs, (FrameSource, str, np.ndarray, list, tuple)):
            inputs = ((f, frame_name(i)) for i, f in enumerate(inputs))  # any iterable of frames
        frames = inputs if isinstance(inputs, GeneratorType) else open_frame_source(inputs)
        offsets = check_frame_offsets(frame_offsets or self.frame_offsets)
        online = self.online if online is None else bool(online)
        detect = None if self.detector is None else partial(self._detect, bbox_thr, nms_thr)
        num_frames = len(frames) if isinstance(frames, FrameSource) else 0
        self.boxes = PersonBoxes(detect, bboxes, bbox_file, self.whole_image_fallback, num_frames)
        if self.tracker is not None:
            self.tracker.reset()
        count, numbers = 0, getattr(frames, 'frame_numbers', None)  # source frame numbers
        for count, window in enumerate(iter_frame_windows(frames, offsets, online), 1):
            if numbers is not None and numbers[-1] != len(numbers) - 1:  # after a decode gap
                window = self._true_distances(window, np.asarray(numbers))
            boxes = self.boxes(window.frame, numbers[window.index] if numbers else window.index)
            data_infos = self.preprocess_single(window, window.index, boxes)
            batch = self.collate_fn(data_infos) if data_infos else self._empty_batch(window)
            yield batch, [window.frame]
        self.boxes.check_matched(count)

    @property
    def num_dropped_boxes(self) -> int:
        """Person boxes dropped in the last call for lying outside the image."""
        return self.boxes.num_dropped if self.boxes is not None else 0

    def _detect(self, bbox_thr: float, nms_thr: float, frame: np.ndarray, index: int) -> np.ndarray:
        """``(N, 5)`` person boxes of one frame by mmpose's own detection step.

        ``Pose2DInferencer.preprocess_single`` (detector call, class filter,
        score threshold, NMS) runs with the pipeline replaced by ``dict``, so
        it returns the box of each person; its whole-image box for a frame
        without detection is turned back into "nobody" (``PersonBoxes``
        applies ``whole_image_fallback``).
        """
        pipeline, self.pipeline = self.pipeline, dict
        try:
            infos = Pose2DInferencer.preprocess_single(self, frame, index, bbox_thr, nms_thr)
        finally:
            self.pipeline = pipeline
        boxes = np.array([[*i['bbox'][0], *i['bbox_score']] for i in infos], np.float32)
        h, w = frame.shape[:2]
        if len(boxes) == 1 and (boxes[0] == [0, 0, w, h, 1]).all():
            return boxes[:0]
        return boxes.reshape(-1, 5)

    @staticmethod
    def _true_distances(window: FrameWindow, numbers: np.ndarray) -> FrameWindow:
        """Margins from the source frame numbers (frames that failed to decode lie between)."""
        used = window.offsets[1:]  # (T-1,) positions relative to t; 0 = frame t stands in
        dist = np.abs(numbers[window.index + used] - numbers[window.index])
        return replace(window, margin=np.where(used != 0, dist, window.margin).astype(np.int64))

    def preprocess_single(self, input: FrameWindow, index: int, boxes: np.ndarray) -> List[dict]:
        """Pipeline outputs of every person of frame ``t``: the same box in every window frame.

        Args:
            input (FrameWindow): Frame ``t`` and its neighbours.
            index (int): ``t``.
            boxes (np.ndarray): ``(N, 5)`` person boxes of frame ``t``.

        Returns:
            list[dict]: One pipeline output per person (may be empty).
        """
        data_info = dict(
            img=list(input.frames),
            img_path=input.name,
            frame_index=index,
            margin=input.margin,
            **self.model.dataset_meta,
        )
        return [self.pipeline(dict(data_info, bbox=b[None, :4], bbox_score=b[4:5])) for b in boxes]

    def _empty_batch(self, window: FrameWindow) -> dict:
        """A batch without any person (no forward is run for it)."""
        h, w = window.frame.shape[:2]
        k = int(self.model.dataset_meta.get('num_keypoints', 17))
        sample = PoseDataSample(
            metainfo=dict(
                img_path=window.name, ori_shape=(h, w), img_shape=(h, w), frame_index=window.index
            )
        )
        sample.pred_instances = InstanceData(
            keypoints=np.zeros((0, k, 2), np.float32),
            keypoint_scores=np.zeros((0, k), np.float32),
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
        track: bool = True,
    ) -> List[PoseDataSample]:
        """One ``model.test_step`` for all people of the frame, then the tracker.

        A frame without people returns one data sample with empty
        ``pred_instances`` and runs no forward. ``track=False`` skips the
        tracker; see ``Pose2DInferencer.forward`` for the other arguments.
        """
        if isinstance(inputs, dict) and 'empty_sample' in inputs:
            preds = [inputs['empty_sample']]
        else:
            preds = super().forward(inputs, merge_results, bbox_thr, pose_based_nms)
        if track and self.tracker is not None:
            for pred in preds:  # one merged sample per frame
                inst = pred.pred_instances  # fields may be tensors or arrays
                kpts, scores, boxes = (to_numpy(inst.get(k)) for k in self._TRACK_INPUTS)
                inst.track_ids = self.tracker.update(kpts, scores, boxes.reshape(-1, 4))
        return preds

    # ---------------------------------------------------------------- output
    def __call__(self, inputs: InputsType, *args, **kwargs):
        """mmpose's ``__call__``; the video outputs are finished even when a frame fails."""
        try:
            yield from super().__call__(inputs, *args, **kwargs)
        finally:
            if self._video_input and self.video_info.get('pred_writer') is not None:
                self.video_info['pred_writer'].close()
            if self._video_input and self.video_info['writer'] is not None:
                self.video_info['writer'].release()

    def postprocess(
        self,
        preds: List[PoseDataSample],
        visualization: List[np.ndarray],
        return_datasample: Optional[bool] = None,
        return_datasamples: bool = False,
        pred_out_dir: str = '',
    ) -> dict:
        """mmpose's postprocess; each instance dict gets a flat ``bbox`` and its ``track_id``.

        The predictions of a video (``pred_out_dir``) are written as the run goes
        (:class:`PredictionsWriter`: mmpose's list layout, valid JSON after every frame).
        """
        video_dir = pred_out_dir if self._video_input else ''
        result = super().postprocess(
            preds, visualization, return_datasample, return_datasamples,
            '' if video_dir else pred_out_dir,
        )  # fmt: skip
        for i, pred in enumerate(preds):
            instances = result['predictions'][i]
            if not isinstance(instances, list):  # return_datasamples=True
                instances = split_instances(pred.pred_instances)
            ids = pred.pred_instances.get('track_ids', [None] * len(instances))
            for inst, track_id in zip(instances, ids):
                inst['bbox'] = np.asarray(inst['bbox']).reshape(-1).tolist()
                if track_id is not None:
                    inst['track_id'] = int(track_id)
            if video_dir:
                info = self.video_info
                if info.get('pred_writer') is None:
                    name = osp.splitext(info['name'])[0] + '.json'
                    info['pred_writer'] = PredictionsWriter(osp.join(video_dir, name))
                frame_id = self._source.frame_numbers[info['pred_writer'].num_frames]
                info['pred_writer'].add(dict(frame_id=frame_id, instances=instances))
        return result

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        """mmpose's, except that the predictions were already written frame by frame."""
        super()._finalize_video_processing('')
        if self.video_info.get('pred_writer') is not None:
            self.video_info['pred_writer'].close()

    def visualize(self, inputs: list, preds: List[PoseDataSample], return_vis: bool = False,
                  show: bool = False, draw_bbox: bool = False, vis_out_dir: str = '',
                  **kwargs) -> List[np.ndarray]:  # fmt: skip
        """mmpose's visualisation; tracked people get one colour and an id label per track."""
        tracked = any('track_ids' in p.pred_instances for p in preds)
        if not tracked or not (return_vis or show or vis_out_dir):
            return super().visualize(inputs, preds, return_vis, show, draw_bbox,
                                     vis_out_dir=vis_out_dir, **kwargs)  # fmt: skip
        images = super().visualize(inputs, preds, return_vis=True, draw_bbox=False, **kwargs)
        for img, pred in zip(images, preds):
            draw_tracks(img, pred.pred_instances, draw_bbox)
            name = osp.basename(pred.metainfo['img_path'])
            if show:
                self.visualizer.show(img, win_name=name, wait_time=1e-5)
            if vis_out_dir:
                self.save_visualization(img, vis_out_dir, img_name=name)
        return images if return_vis else []

    def save_visualization(self, visualization: np.ndarray, vis_out_dir: str, img_name=None):
        """mmpose's, but a video is written by :class:`VideoSink` (H.264, every frame kept)."""
        if not self._video_input:
            return super().save_visualization(visualization, vis_out_dir, img_name)
        info = self.video_info
        if info['writer'] is None:
            is_file = bool(osp.splitext(vis_out_dir)[1])
            info['output_file'] = vis_out_dir if is_file else osp.join(vis_out_dir, info['name'])
            info['writer'] = VideoSink(info['output_file'], info['fps'])
        info['writer'].write(mmcv.rgb2bgr(visualization))
