# Copyright (c) OpenMMLab. All rights reserved.
"""Temporal (multi-frame) top-down inferencer for FaSRnet (docs/inference.md)."""

import logging
import os.path as osp
import warnings
from functools import partial
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import FUNCTIONS
from mmengine.structures import InstanceData
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample, split_instances
from mmpose.utils.tensor_utils import to_numpy

from ...structures.temporal_window import DEFAULT_FRAME_OFFSETS, check_frame_offsets
from ...tracking import PoseTracker
from ...utils import CheckpointDownloadError, check_weights
from .utils.bboxes import HOGPersonDetector, PersonBoxes
from .utils.frame_source import FrameSource, FrameWindow, iter_frame_windows, open_frame_source
from .utils.model_index import find_model_entry
from .utils.outputs import PredictionsWriter, VideoSink

RANDOM_INIT = (
    'FaSRnetInferencer: no weights loaded, the model is randomly initialised and its predictions '
    'are meaningless; pass trained weights, e.g. a converted checkpoint (docs/model_zoo.md).'
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
        org, font = (x1 + 2, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(img, f'id {track_id}', org, font, 0.5, colour, 2, cv2.LINE_AA)


@INFERENCERS.register_module(name='fasrnet')
@INFERENCERS.register_module()
class FaSRnetInferencer(Pose2DInferencer):
    """Video inferencer: frame ``t``'s person boxes cropped from every frame of its temporal window,
    one forward per frame; otherwise mmpose's ``Pose2DInferencer`` (docs/inference.md).

    Args:
        model (str | dict | Config): Config path, config, or name/alias of the model index.
        weights (str, optional): Checkpoint (path, ``file://``, ``http(s)://``); None: random.
        *args, **kwargs: ``Pose2DInferencer``'s (``device``, ``det_model``: also ``'hog'`` or a
            ``DetInferencer``-like callable, ``det_cat_ids``: default ``(0, )``, ...).
        online (bool): Past frames only (causal). Defaults to False.
        frame_offsets (Sequence[int], optional): ``[0, o_1, ...]``. Defaults to the config's.
        whole_image_fallback (bool): One whole-image box on frames without. Defaults to False.
        allow_partial_weights (bool): Accept backbone/head keys missing. Defaults to False.
        track (bool): A ``track_id`` per instance (:class:`PoseTracker`). Defaults to True.
        track_options (dict, optional): Further ``PoseTracker`` arguments.
    """

    preprocess_kwargs = Pose2DInferencer.preprocess_kwargs | {'bbox_file', 'online'}
    preprocess_kwargs |= {'frame_offsets'}
    forward_kwargs = {'merge_results', 'pose_based_nms', 'track'}

    def __init__(
        self,
        model: Union[str, dict, Config],
        weights: Optional[str] = None,
        *args,
        online: bool = False,
        frame_offsets: Optional[Sequence[int]] = None,
        whole_image_fallback: bool = False,
        allow_partial_weights: bool = False,
        track: bool = True,
        track_options: Optional[dict] = None,
        **kwargs,
    ) -> None:
        self.weights_loaded, self._weights, self._partial = False, weights, allow_partial_weights
        super().__init__(model, weights, *args, **kwargs)
        first = (self.cfg.test_dataloader.dataset.pipeline or [{}])[0].get('type')
        if self.cfg.get('data_mode') != 'topdown' or first != 'LoadFrameWindow':
            raise ValueError(
                'FaSRnetInferencer needs a top-down test pipeline starting with LoadFrameWindow, '
                f"got {first} (single-frame models: mmpose's Pose2DInferencer)."
            )
        offsets = frame_offsets or self.cfg.test_dataloader.dataset.get('frame_offsets')
        self.frame_offsets = check_frame_offsets(offsets or DEFAULT_FRAME_OFFSETS)
        self.online, self.whole_image_fallback = bool(online), whole_image_fallback
        self.boxes = PersonBoxes()  # the person-box provider of the last call (``num_dropped``)
        sigmas = self.model.dataset_meta.get('sigmas')  # PoseTracker refuses None
        self.tracker = PoseTracker(sigmas, **(track_options or {})) if track else None
        if next(self.model.parameters()).device.type == 'cpu':  # oneDNN's faster layout on CPU
            self.model.backbone.to(memory_format=torch.channels_last)

    def _load_model_from_metafile(self, model: str) -> Tuple[Config, Optional[str]]:
        """Config and listed weights of a name/alias of the plugin's model index."""
        config_path, weights, _ = find_model_entry(model)
        return Config.fromfile(config_path), weights

    def _load_weights_to_model(self, model, checkpoint: Optional[dict], cfg) -> None:
        """mmpose's, refusing partial weights (``check_weights``); loud without weights."""
        if checkpoint is not None:
            name = self._weights or 'model-index weights'
            report = check_weights(model, checkpoint, name, self._partial)
            self.weights_loaded = report.complete
        super()._load_weights_to_model(model, checkpoint, cfg)
        if checkpoint is None:
            print_log(f'{"!" * 79}\n!!  {RANDOM_INIT}\n{"!" * 79}', 'current', logging.WARNING)
            warnings.warn(RANDOM_INIT, UserWarning)

    def _init_collate(self, cfg: Config):
        """The test ``collate_fn`` from ``FUNCTIONS`` (mmengine's lookup warns in scope mmpose)."""
        name = cfg.get('test_dataloader', {}).get('collate_fn')
        return FUNCTIONS.get(name) if isinstance(name, str) else pseudo_collate

    def _init_detector(self, det_model=None, det_weights=None, det_cat_ids=None, device=None):
        """mmpose's detector choice, plus ``'hog'`` and ``DetInferencer``-like callables."""
        if isinstance(det_model, str) and det_model.lower() in ('hog', 'opencv_hog', 'opencv-hog'):
            det_model = HOGPersonDetector()
        if det_model is not None and det_cat_ids is None:
            det_cat_ids = 0  # COCO person (and HOG's only label)
        if callable(det_model):  # a DetInferencer-like object
            self.detector, self.det_cat_ids = det_model, tuple(np.atleast_1d(det_cat_ids).tolist())
            return
        try:
            super()._init_detector(det_model, det_weights, det_cat_ids, device)
        except CheckpointDownloadError as e:
            if det_model is not None:
                raise
            raise CheckpointDownloadError(
                f"{e}\nThat is mmpose's default person detector (det_model=None); offline, use "
                "det_model='hog' or 'whole_image', bboxes=/bbox_file= or a local mmdet config."
            ) from e

    def _inputs_to_list(self, inputs) -> FrameSource:
        """Open the input (anything :func:`open_frame_source` takes) as a sequential source."""
        source = self._source = open_frame_source(inputs)
        self._video_input = source.is_video
        if source.is_video:
            self.video_info = dict(fps=source.fps, name=source.name, writer=None, predictions=[])
        return source

    _get_webcam_inputs = _inputs_to_list  # a camera is one more frame source

    def preprocess(self, inputs, batch_size=1, bboxes=None, bbox_file=None, online=None, **kwargs):
        """Yield ``(collated batch of all people of frame t, [frame t])`` per frame; ``kwargs``:
        this call's ``frame_offsets`` and the detector's ``bbox_thr``, ``nms_thr``."""
        source = open_frame_source(inputs)
        offsets = check_frame_offsets(kwargs.pop('frame_offsets', None) or self.frame_offsets)
        online = self.online if online is None else bool(online)
        detect = None if self.detector is None else partial(self._detect, **kwargs)
        self.boxes = PersonBoxes(detect, bboxes, bbox_file, self.whole_image_fallback, len(source))
        if self.tracker is not None:
            self.tracker.reset()
        numbers = source.frame_numbers  # source frame numbers, growing as read
        for window in iter_frame_windows(source, offsets, online):
            t, used = window.index, window.offsets[1:]
            dist = np.abs([numbers[t + o] - numbers[t] for o in used])  # across decode gaps
            window.margin[used != 0] = dist[used != 0]
            boxes = self.boxes(window.frames[0], numbers[t])
            yield self.preprocess_single(window, boxes), window.frames[:1]
        self.boxes.check_matched(len(numbers))

    def _detect(self, frame: np.ndarray, index: int, **thresholds) -> np.ndarray:
        """``(N, 5)`` boxes of mmpose's detection step (``preprocess_single`` with no pipeline)."""
        pipeline, self.pipeline = self.pipeline, dict
        try:
            infos = Pose2DInferencer.preprocess_single(self, frame, index, **thresholds)
        finally:
            self.pipeline = pipeline
        boxes = np.array([[*i['bbox'][0], *i['bbox_score']] for i in infos], np.float32)
        h, w = frame.shape[:2]  # mmpose's whole-image box for "nobody" means none
        return boxes[:0] if np.array_equal(boxes, [[0, 0, w, h, 1]]) else boxes.reshape(-1, 5)

    def preprocess_single(self, window: FrameWindow, boxes: np.ndarray) -> dict:
        """The collated pipeline outputs of frame ``t``'s people (the same box in every frame)."""
        info = dict(img=window.frames, img_path=window.name, frame_index=window.index)
        info.update(margin=window.margin, **self.model.dataset_meta)
        infos = [self.pipeline(dict(info, bbox=b[None, :4], bbox_score=b[4:5])) for b in boxes]
        if infos:
            return self.collate_fn(infos)
        hw, k = window.frames[0].shape[:2], self.model.dataset_meta['num_keypoints']
        shapes = dict(keypoints=(0, k, 2), keypoint_scores=(0, k), bboxes=(0, 4), bbox_scores=(0,))
        empty = InstanceData(**{n: np.zeros(s, np.float32) for n, s in shapes.items()})
        meta = dict(img_path=window.name, frame_index=window.index, ori_shape=hw, img_shape=hw)
        sample = PoseDataSample(metainfo=meta, pred_instances=empty)
        return dict(inputs=[], data_samples=[], empty=sample)

    @torch.no_grad()
    def forward(self, inputs: dict, *args, track: bool = True, **kwargs) -> List[PoseDataSample]:
        """``Pose2DInferencer.forward`` (none for a frame without people), then the tracker."""
        preds = [inputs['empty']] if 'empty' in inputs else super().forward(inputs, *args, **kwargs)
        if track and self.tracker is not None:
            for inst in (pred.pred_instances for pred in preds):  # fields: tensors or arrays
                pose = (to_numpy(inst.get(k)) for k in ('keypoints', 'keypoint_scores', 'bboxes'))
                inst.track_ids = self.tracker.update(*pose)
        return preds

    def __call__(self, inputs, *args, **kwargs):
        """mmpose's ``__call__``; the video outputs are finished even when a frame fails."""
        try:
            yield from super().__call__(inputs, *args, **kwargs)
        finally:
            if self._video_input and self.video_info.get('pred_writer') is not None:
                self.video_info['pred_writer'].close()
            if self._video_input and self.video_info['writer'] is not None:
                self.video_info['writer'].release()

    def postprocess(self, preds, visualization, *args, pred_out_dir='', **kwargs) -> dict:
        """mmpose's; each instance gets a flat ``bbox`` and its ``track_id``; a video's predictions
        go to :class:`PredictionsWriter` (mmpose's layout, valid after every frame)."""
        video_dir = pred_out_dir if self._video_input else ''
        image_dir = '' if video_dir else pred_out_dir
        result = super().postprocess(preds, visualization, *args, pred_out_dir=image_dir, **kwargs)
        for pred, instances in zip(preds, result['predictions']):
            if not isinstance(instances, list):  # return_datasamples=True
                instances = split_instances(pred.pred_instances)
            for i, inst in enumerate(instances):
                inst['bbox'] = np.asarray(inst['bbox']).reshape(-1).tolist()
                if 'track_ids' in pred.pred_instances:
                    inst['track_id'] = int(pred.pred_instances.track_ids[i])
            if video_dir:
                if self.video_info.get('pred_writer') is None:
                    name = osp.splitext(self.video_info['name'])[0] + '.json'
                    self.video_info['pred_writer'] = PredictionsWriter(osp.join(video_dir, name))
                writer = self.video_info['pred_writer']
                frame_id = self._source.frame_numbers[writer.num_frames]
                writer.add(dict(frame_id=frame_id, instances=instances))
        return result

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        """mmpose's; the predictions were written frame by frame (closed by ``__call__``)."""
        super()._finalize_video_processing('')

    def visualize(
        self, inputs, preds, return_vis=False, show=False, draw_bbox=False, vis_out_dir='', **kwargs
    ) -> List[np.ndarray]:
        """mmpose's visualisation; each track gets one colour and an ``id N`` label."""
        if not (return_vis or show or vis_out_dir) or 'track_ids' not in preds[0].pred_instances:
            return super().visualize(
                inputs, preds, return_vis, show, draw_bbox, vis_out_dir=vis_out_dir, **kwargs
            )
        images = super().visualize(inputs, preds, return_vis=True, draw_bbox=False, **kwargs)
        for img, pred in zip(images, preds):
            draw_tracks(img, pred.pred_instances, draw_bbox)
            name = osp.basename(pred.metainfo['img_path'])
            if show:
                self.visualizer.show(img, win_name=name, wait_time=1e-5)
            if vis_out_dir:
                self.save_visualization(img, vis_out_dir, img_name=name)
        return images if return_vis else []

    def save_visualization(self, visualization, vis_out_dir, img_name=None):
        """mmpose's, but a video is written by :class:`VideoSink` (H.264, every frame kept)."""
        if not self._video_input:
            return super().save_visualization(visualization, vis_out_dir, img_name)
        info = self.video_info
        if info['writer'] is None:
            is_file = bool(osp.splitext(vis_out_dir)[1])
            info['output_file'] = vis_out_dir if is_file else osp.join(vis_out_dir, info['name'])
            info['writer'] = VideoSink(info['output_file'], info['fps'])
        info['writer'].write(cv2.cvtColor(visualization, cv2.COLOR_RGB2BGR))
