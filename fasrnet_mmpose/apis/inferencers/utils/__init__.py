# Copyright (c) OpenMMLab. All rights reserved.
from .bboxes import (
    BBoxFileError,
    GivenBoxes,
    PersonBoxes,
    clip_bboxes,
    load_bbox_file,
    normalize_bboxes,
)
from .frame_source import (
    CameraSource,
    FrameListSource,
    FrameSource,
    ImageFolderSource,
    VideoFileSource,
    frame_name,
    is_image_file,
    open_frame_source,
)
from .frame_window import FrameWindow, check_frame_offsets, iter_frame_windows
from .hog_detector import HOG_DETECTOR_NAMES, HOGPersonDetector
from .model_index import (
    ModelNotFoundError,
    find_model_entry,
    get_model_index_root,
    iter_model_entries,
    list_models,
)
from .outputs import PredictionsWriter, VideoSink, letterbox

__all__ = [
    'BBoxFileError',
    'GivenBoxes',
    'PersonBoxes',
    'clip_bboxes',
    'load_bbox_file',
    'normalize_bboxes',
    'CameraSource',
    'FrameListSource',
    'FrameSource',
    'ImageFolderSource',
    'VideoFileSource',
    'frame_name',
    'is_image_file',
    'open_frame_source',
    'FrameWindow',
    'check_frame_offsets',
    'iter_frame_windows',
    'HOG_DETECTOR_NAMES',
    'HOGPersonDetector',
    'ModelNotFoundError',
    'find_model_entry',
    'get_model_index_root',
    'iter_model_entries',
    'list_models',
    'PredictionsWriter',
    'VideoSink',
    'letterbox',
]
