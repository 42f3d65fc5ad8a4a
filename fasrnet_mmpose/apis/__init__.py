# Copyright (c) OpenMMLab. All rights reserved.
"""Inference APIs; importing registers :class:`FaSRnetInferencer` in mmpose's ``INFERENCERS`` (as
``'FaSRnetInferencer'`` and ``'fasrnet'``)."""

from .inferencers import FaSRnetInferencer
from .inferencers.utils.bboxes import HOGPersonDetector, PersonBoxes, load_bbox_file
from .inferencers.utils.frame_source import FrameSource, iter_frame_windows, open_frame_source
from .inferencers.utils.model_index import find_model_entry, get_model_index_root, list_models
from .inferencers.utils.outputs import PredictionsWriter, VideoSink

__all__ = [
    'FaSRnetInferencer',
    'FrameSource',
    'HOGPersonDetector',
    'PersonBoxes',
    'PredictionsWriter',
    'VideoSink',
    'find_model_entry',
    'get_model_index_root',
    'iter_frame_windows',
    'list_models',
    'load_bbox_file',
    'open_frame_source',
]
