# Copyright (c) OpenMMLab. All rights reserved.
"""Inference APIs; importing registers :class:`FaSRnetInferencer` in mmpose's ``INFERENCERS``."""

from .inferencers import FaSRnetInferencer
from .inferencers.utils.bboxes import HOGPersonDetector, load_bbox_file
from .inferencers.utils.frame_source import iter_frame_windows, open_frame_source
from .inferencers.utils.model_index import find_model_entry, list_models
from .inferencers.utils.outputs import PredictionsWriter, VideoSink

__all__ = [
    'FaSRnetInferencer',
    'HOGPersonDetector',
    'PredictionsWriter',
    'VideoSink',
    'find_model_entry',
    'iter_frame_windows',
    'list_models',
    'load_bbox_file',
    'open_frame_source',
]
