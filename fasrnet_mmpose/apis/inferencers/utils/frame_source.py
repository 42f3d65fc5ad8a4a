# Copyright (c) OpenMMLab. All rights reserved.
"""Sequential frame sources: every frame is decoded exactly once.

:class:`~fasrnet_mmpose.apis.FaSRnetInferencer` needs, for frame ``t``, the
frames ``t-1`` and ``t+1`` too. mmpose's ``collect_multi_frames`` reads them
from an ``mmcv.VideoReader`` by index (a seek and a decode per neighbour,
i.e. every frame decoded about 3 times). The sources here are read strictly
in order, once; the neighbours come from the small ring buffer of
:func:`~fasrnet_mmpose.apis.inferencers.utils.iter_frame_windows`.

A source yields ``(frame, name)`` pairs: ``frame`` is a BGR ``uint8`` array
and ``name`` the ``img_path`` given to the pipeline (the file path for image
files, ``'00000007.jpg'`` style names for video frames, like mmpose's
``Pose2DInferencer``). ``num_decoded`` counts the frames actually decoded.
"""

import mimetypes
import os
import os.path as osp
import re
from abc import ABCMeta, abstractmethod
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

__all__ = [
    'FrameSource',
    'VideoFileSource',
    'CameraSource',
    'ImageFolderSource',
    'FrameListSource',
    'open_frame_source',
    'is_image_file',
    'frame_name',
]

Frame = Tuple[np.ndarray, str]

# extensions decodable by OpenCV that ``mimetypes`` may not know
_IMAGE_EXTS = (
    '.jpg',
    '.jpeg',
    '.png',
    '.bmp',
    '.tif',
    '.tiff',
    '.webp',
    '.ppm',
    '.pgm',
    '.pbm',
    '.jp2',
)


def frame_name(index: int) -> str:
    """Name of video frame ``index`` (as mmpose's ``Pose2DInferencer``).

    Args:
        index (int): 0-based frame index.

    Returns:
        str: e.g. ``'000007.jpg'`` (the index zero-padded to 10 characters
        including the extension).
    """
    return f'{index}.jpg'.rjust(10, '0')


def is_image_file(path: str) -> bool:
    """Whether ``path`` looks like an image file (by its extension)."""
    if osp.splitext(path)[1].lower() in _IMAGE_EXTS:
        return True
    mime = mimetypes.guess_type(path)[0]
    return mime is not None and mime.startswith('image')


def _natural_key(name: str) -> list:
    """Sort key: ``frame2.jpg`` before ``frame10.jpg``."""
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r'(\d+)', name)]


def _read_image(path: str) -> np.ndarray:
    """Decode one image file (BGR); a clear error names an unreadable file."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'Cannot decode image {path} (not an image or corrupted).')
    return img


class FrameSource(metaclass=ABCMeta):
    """Base class of the sequential frame sources.

    Attributes:
        is_video (bool): A video file or a camera (results are gathered per
            video like mmpose's inferencers do); False for images.
        name (str): File name used for outputs (e.g. ``'clip.mp4'``).
        fps (float): Frames per second (a default for image sequences).
        max_frames (int, optional): Stop after this many frames.
        num_decoded (int): Frames decoded so far.
    """

    is_video: bool = False

    def __init__(self, name: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f'max_frames must be >= 1, got {max_frames}')
        self.name = name
        self.fps = float(fps)
        self.max_frames = max_frames
        self.num_decoded = 0
        self._consumed = False

    @abstractmethod
    def _frames(self) -> Iterator[Frame]:
        """Yield the frames of this source in order (implemented by each source type)."""

    def __iter__(self) -> Iterator[Frame]:
        if self._consumed:
            raise RuntimeError(
                f'{self.__class__.__name__} ({self.name}) can be iterated only once '
                '(frames are decoded on the fly); open a new source.'
            )
        self._consumed = True
        frames = self._frames()
        count = 0
        try:
            # check the limit *before* asking for a frame: nothing is decoded in vain
            while self.max_frames is None or count < self.max_frames:
                try:
                    item = next(frames)
                except StopIteration:
                    break
                count += 1
                yield item
        finally:
            frames.close()  # releases a capture device / file handle

    def __len__(self) -> int:
        """Number of frames (an estimate for video files; 0 when unknown)."""
        n = self._length()
        return n if self.max_frames is None else min(n, self.max_frames)

    def _length(self) -> int:
        return 0


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded in order with ``cv2.VideoCapture``.

    The file is opened and its first frame decoded in the constructor, so an
    unreadable file fails at once with a clear error.

    Args:
        path (str): Video file.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If OpenCV cannot open the file or decode any frame.
    """

    is_video = True

    def __init__(self, path: str, max_frames: Optional[int] = None) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Video file {path} does not exist.')
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            cap.release()
            raise ValueError(
                f'Cannot open video {path}: OpenCV (FFmpeg backend) cannot read it '
                '(not a video, unsupported codec or corrupted file).'
            )
        fps = cap.get(cv2.CAP_PROP_FPS)
        super().__init__(
            osp.basename(path), fps=fps if fps and fps > 0 else 25.0, max_frames=max_frames
        )
        self.path = path
        self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._cap = cap
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise ValueError(
                f'Cannot decode any frame of video {path} (empty, truncated or unsupported codec).'
            )
        self.num_decoded = 1
        self._first: Optional[np.ndarray] = first

    def _length(self) -> int:
        return self.frame_count

    def _frames(self) -> Iterator[Frame]:
        try:
            index = 0
            frame = self._first
            self._first = None
            while frame is not None:
                yield frame, frame_name(index)
                index += 1
                ok, frame = self._cap.read()
                if not ok:
                    break
                self.num_decoded += 1
        finally:
            self._cap.release()


class CameraSource(FrameSource):
    """Frames of a camera (``'webcam'`` or ``'webcam:<id>'``), read in order.

    Args:
        camera_id (int): OpenCV camera index. Defaults to 0.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        ValueError: If the camera cannot be opened.
    """

    is_video = True

    def __init__(self, camera_id: int = 0, max_frames: Optional[int] = None) -> None:
        cap = cv2.VideoCapture(camera_id)
        if not cap.isOpened():
            cap.release()
            raise ValueError(f'Cannot open camera {camera_id}.')
        fps = cap.get(cv2.CAP_PROP_FPS)
        super().__init__('webcam.mp4', fps=fps if fps and fps > 0 else 25.0, max_frames=max_frames)
        self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._cap = cap

    def _frames(self) -> Iterator[Frame]:
        try:
            index = 0
            while True:
                ok, frame = self._cap.read()
                if not ok:
                    break
                self.num_decoded += 1
                yield frame, frame_name(index)
                index += 1
        finally:
            self._cap.release()


class ImageFolderSource(FrameSource):
    """The image files of a folder, in natural order, as consecutive frames.

    Args:
        folder (str): Directory with the frames (``000000.jpg``, ...).
            Non-image files are ignored; sub-folders are not searched.
        fps (float): Frame rate used when the frames are rendered as a
            video. Defaults to 25.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        FileNotFoundError: If ``folder`` is not a directory.
        ValueError: If it contains no image file.
    """

    def __init__(self, folder: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'Image folder {folder} does not exist.')
        files = sorted(
            (f for f in os.listdir(folder) if osp.isfile(osp.join(folder, f)) and is_image_file(f)),
            key=_natural_key,
        )
        if not files:
            raise ValueError(
                f'Image folder {folder} contains no image files '
                f'(looked for {", ".join(_IMAGE_EXTS)}).'
            )
        super().__init__(
            osp.basename(osp.normpath(folder)) + '.mp4', fps=fps, max_frames=max_frames
        )
        self.paths = [osp.join(folder, f) for f in files]

    def _length(self) -> int:
        return len(self.paths)

    def _frames(self) -> Iterator[Frame]:
        for path in self.paths:
            img = _read_image(path)
            self.num_decoded += 1
            yield img, path


class FrameListSource(FrameSource):
    """A list of frames given as arrays (BGR) and/or image paths.

    Paths are decoded when they are reached (once); arrays are used as they
    are (``num_decoded`` counts only the paths).

    Args:
        items (Sequence[str | np.ndarray]): The frames, in temporal order.
        fps (float): Frame rate for rendering. Defaults to 25.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        ValueError: If ``items`` is empty or holds something else.
    """

    def __init__(
        self,
        items: Sequence[Union[str, np.ndarray]],
        fps: float = 25.0,
        max_frames: Optional[int] = None,
    ) -> None:
        items = list(items)
        if not items:
            raise ValueError('No input frames: the list of images is empty.')
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray):
                if item.ndim != 3 or item.shape[2] != 3:
                    raise ValueError(
                        f'Frame {i} must be an HxWx3 BGR image, got shape {item.shape}.'
                    )
            elif not isinstance(item, str):
                raise ValueError(f'Frame {i} must be an image path or an array, got {type(item)}.')
        super().__init__('frames.mp4', fps=fps, max_frames=max_frames)
        self.items: List[Union[str, np.ndarray]] = items

    def _length(self) -> int:
        return len(self.items)

    def _frames(self) -> Iterator[Frame]:
        for index, item in enumerate(self.items):
            if isinstance(item, str):
                if not osp.isfile(item):
                    raise FileNotFoundError(f'Image {item} does not exist.')
                img = _read_image(item)
                self.num_decoded += 1
                yield img, item
            else:
                yield item, frame_name(index)


def open_frame_source(
    inputs: Union[str, np.ndarray, Sequence, FrameSource],
    max_frames: Optional[int] = None,
    fps: float = 25.0,
) -> FrameSource:
    """Open any supported input as a :class:`FrameSource`.

    Args:
        inputs: One of

            - a :class:`FrameSource` (returned as is);
            - ``'webcam'`` / ``'webcam:<id>'``: a camera;
            - a directory: its images in natural order;
            - an image file: a one-frame sequence;
            - any other file: a video (decoded with OpenCV);
            - an array (one frame) or a list of arrays/paths (a sequence).
        max_frames (int, optional): Stop after this many frames.
        fps (float): Frame rate of image sequences (videos and cameras use
            their own). Defaults to 25.

    Returns:
        FrameSource: The source.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: For unreadable videos, empty folders or empty lists.
    """
    if isinstance(inputs, FrameSource):
        if max_frames is not None:
            inputs.max_frames = max_frames
        return inputs
    if isinstance(inputs, np.ndarray):
        return FrameListSource([inputs], fps=fps, max_frames=max_frames)
    if isinstance(inputs, str):
        if re.fullmatch(r'webcam(:\d+)?', inputs.lower()):
            camera_id = int(inputs.split(':')[1]) if ':' in inputs else 0
            return CameraSource(camera_id, max_frames=max_frames)
        if osp.isdir(inputs):
            return ImageFolderSource(inputs, fps=fps, max_frames=max_frames)
        if not osp.exists(inputs):
            raise FileNotFoundError(
                f'Input {inputs} does not exist (expected a video file, an '
                'image, a folder of images or "webcam[:id]").'
            )
        if is_image_file(inputs):
            return FrameListSource([inputs], fps=fps, max_frames=max_frames)
        return VideoFileSource(inputs, max_frames=max_frames)
    if isinstance(inputs, (list, tuple)):
        return FrameListSource(inputs, fps=fps, max_frames=max_frames)
    raise TypeError(
        f'Unsupported input type {type(inputs)}: expected a path, an array, a list '
        'of them or a FrameSource.'
    )
