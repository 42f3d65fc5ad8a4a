# Copyright (c) OpenMMLab. All rights reserved.
"""Inference APIs. Importing registers :class:`FaSRnetInferencer` in mmpose's
``INFERENCERS`` as ``'FaSRnetInferencer'`` and ``'fasrnet'``; the helpers live in
:mod:`fasrnet_mmpose.apis.inferencers.utils`."""

from .inferencers import FaSRnetInferencer
from .inferencers.utils import (
    FrameSource,
    FrameWindow,
    HOGPersonDetector,
    PersonBoxes,
    PredictionsWriter,
    VideoSink,
    find_model_entry,
    get_model_index_root,
    iter_frame_windows,
    list_models,
    load_bbox_file,
    open_frame_source,
)

__all__ = [
    'FaSRnetInferencer',
    'FrameSource',
    'FrameWindow',
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
