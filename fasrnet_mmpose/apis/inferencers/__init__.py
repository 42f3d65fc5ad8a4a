# Copyright (c) OpenMMLab. All rights reserved.
from .fasrnet_inferencer import FaSRnetInferencer
from .utils import (
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
    'find_model_entry',
    'get_model_index_root',
    'iter_frame_windows',
    'list_models',
    'load_bbox_file',
    'open_frame_source',
    'PersonBoxes',
    'PredictionsWriter',
    'VideoSink',
]
