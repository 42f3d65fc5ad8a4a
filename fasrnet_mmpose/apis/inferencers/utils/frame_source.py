# Copyright (c) OpenMMLab. All rights reserved.
"""Sequential frame sources: every frame decoded exactly once, in order (docs/inference.md).

Unlike mmpose's ``_inputs_to_list`` (``mmcv.VideoReader``: neighbours would be seeks and
re-decodes; lexicographic folder order; stops silently at an undecodable frame), a source
yields ``(frame, name)`` pairs strictly in order: a BGR ``uint8`` frame and the ``img_path``
for the pipeline (the file path, or ``'000007.jpg'`` for video frames, as mmpose names
them). ``frame_numbers[i]`` is the source frame number of the ``i``-th yielded frame.
"""

import mimetypes
import os
import os.path as osp
import re
from abc import ABC, abstractmethod
from types import SimpleNamespace
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmpose.apis.inferencers.base_mmpose_inferencer import BaseMMPoseInferencer

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
_IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.jp2')
#: consecutive failed decodes after which a video is taken to end
MAX_FAILED_READS = 25


def frame_name(index: int) -> str:
    """Name of video frame ``index``, as mmpose's ``Pose2DInferencer`` (``'000007.jpg'``)."""
    return f'{index}.jpg'.rjust(10, '0')


def is_image_file(path: str) -> bool:
    """Whether ``path`` looks like an image file (by its extension)."""
    mime = mimetypes.guess_type(path)[0]
    return osp.splitext(path)[1].lower() in _IMAGE_EXTS or bool(mime and mime.startswith('image'))


def _read_image(path: str) -> np.ndarray:
    """Decode one image file (BGR); a clear error names an unreadable file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image {path} does not exist.')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'Cannot decode image {path} (not an image or corrupted).')
    return img


class FrameSource(ABC):
    """Base class of the sequential frame sources (iterable once).

    Attributes:
        is_video (bool): A video file or a camera (mmpose's video outputs).
        name (str): File name used for outputs (e.g. ``'clip.mp4'``).
        fps (float): Frames per second (a default for image sequences).
        max_frames (int, optional): Stop after this many frames.
        num_decoded (int): Frames decoded so far (not counting given arrays).
        frame_count (int): Frames announced (video header, files); 0: unknown.
        frame_numbers (list[int]): Source frame number of each yielded frame.
    """

    is_video: bool = False

    def __init__(self, name: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f'max_frames must be >= 1, got {max_frames}')
        self.name, self.fps, self.max_frames = name, float(fps), max_frames
        self.num_decoded = 0
        self.frame_count = 0
        self.frame_numbers: List[int] = []
        self._consumed = False
        self.exhausted = False  # read to its end (not stopped by max_frames or an error)

    @abstractmethod
    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        """Yield ``(source frame number, frame, name)`` in order."""

    def __iter__(self) -> Iterator[Frame]:
        if self._consumed:
            raise RuntimeError(
                f'{type(self).__name__} ({self.name}) can be iterated only once '
                '(frames are decoded on the fly); open a new source.'
            )
        self._consumed = True
        frames = self._frames()
        try:  # check the limit *before* asking for a frame: nothing is decoded in vain
            while self.max_frames is None or len(self.frame_numbers) < self.max_frames:
                number, frame, name = next(frames, (None, None, None))
                if frame is None:
                    self.exhausted = True
                    break
                self.frame_numbers.append(number)
                yield frame, name
        finally:
            frames.close()  # releases a capture device / file handle

    def __len__(self) -> int:
        """Number of frames (an estimate for video files; 0 when unknown)."""
        n = self.frame_count
        return n if self.max_frames is None else min(n, self.max_frames)

    def decode_report(self) -> dict:
        """Frames announced vs decoded, and the source numbers of those missing.

        Returns:
            dict: ``frames_in_header`` (0: unknown), ``frames_read``,
            ``frames_failed`` (frames not decoded: all announced ones when
            the source was read to its end, else those before the last frame
            read) and ``failed_frame_numbers``.
        """
        expected = self.frame_count if self.exhausted else 0
        if not self.exhausted and self.frame_numbers:
            expected = self.frame_numbers[-1] + 1
        missing = sorted(set(range(expected)) - set(self.frame_numbers))
        return dict(
            frames_in_header=self.frame_count,
            frames_read=len(self.frame_numbers),
            frames_failed=len(missing),
            failed_frame_numbers=missing,
        )


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded in order with ``cv2.VideoCapture`` (opened at once).

    An undecodable frame does not end the video (up to :data:`MAX_FAILED_READS`
    failures in a row); frames are numbered from their timestamps, so the
    numbers stay aligned with the source after a gap (:meth:`decode_report`).

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
        fps = cap.get(cv2.CAP_PROP_FPS)
        super().__init__(osp.basename(path), fps if fps and fps > 0 else 25.0, max_frames)
        self.path, self._cap = path, cap
        self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            cap.release()
            raise ValueError(
                f'Cannot open or decode video {path}: OpenCV (FFmpeg backend) cannot read it '
                '(not a video, empty, truncated, unsupported codec or corrupted file).'
            )
        self.num_decoded = 1
        self._first: Optional[np.ndarray] = first

    def _number(self, previous: int) -> int:
        """Source number of the frame just read (from its timestamp)."""
        msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        number = int(round(msec * self.fps / 1000)) if msec >= 0 else previous + 1
        return max(number, previous + 1)

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        try:
            number, frame, failed = self._number(-1), self._first, 0
            self._first = None
            yield number, frame, frame_name(number)
            while failed < MAX_FAILED_READS:
                ok, frame = self._cap.read()
                if not ok:  # the end, or an undecodable frame in the middle
                    position = self._cap.get(cv2.CAP_PROP_POS_FRAMES)
                    if position >= self.frame_count or number + 1 >= self.frame_count:
                        break
                    failed += 1
                    continue
                failed = 0
                self.num_decoded += 1
                number = self._number(number)
                yield number, frame, frame_name(number)
        finally:
            self._cap.release()


class CameraSource(FrameSource):
    """A camera (``'webcam'`` / ``'webcam:<id>'``), read by mmpose's ``_get_webcam_inputs``.

    Args:
        spec (str): ``'webcam'`` or ``'webcam:<id>'``. Defaults to ``'webcam'``.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        ValueError: If the camera cannot be opened.
    """

    is_video = True

    def __init__(self, spec: str = 'webcam', max_frames: Optional[int] = None) -> None:
        holder = SimpleNamespace()  # receives mmpose's ``video_info``
        reader = BaseMMPoseInferencer._get_webcam_inputs(holder, spec)
        if not hasattr(holder, 'video_info'):
            raise ValueError(f'Cannot open camera {spec.partition(":")[2] or 0}.')
        info = holder.video_info
        super().__init__(info['name'], info['fps'] or 25.0, max_frames)
        self.width, self.height = int(info['width']), int(info['height'])
        self._reader = reader

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        for index, frame in enumerate(self._reader):
            self.num_decoded += 1
            yield index, frame, frame_name(index)


class FrameListSource(FrameSource):
    """A list of frames given as BGR arrays and/or image paths (decoded when reached).

    Args:
        items (Sequence[str | np.ndarray]): The frames, in temporal order.
        fps (float): Frame rate for rendering. Defaults to 25.
        max_frames (int, optional): Stop after this many frames.
        name (str): Output file name. Defaults to ``'frames.mp4'``.

    Raises:
        ValueError: If ``items`` is empty or holds something else.
    """

    def __init__(
        self,
        items: Sequence[Union[str, np.ndarray]],
        fps: float = 25.0,
        max_frames: Optional[int] = None,
        name: str = 'frames.mp4',
    ) -> None:
        items = list(items)
        if not items:
            raise ValueError('No input frames: the list of images is empty.')
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray) and (item.ndim != 3 or item.shape[2] != 3):
                raise ValueError(f'Frame {i} must be an HxWx3 BGR image, got shape {item.shape}.')
            if not isinstance(item, (str, np.ndarray)):
                raise ValueError(f'Frame {i} must be an image path or an array, got {type(item)}.')
        super().__init__(name, fps, max_frames)
        self.items = items
        self.frame_count = len(items)

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        for index, item in enumerate(self.items):
            if isinstance(item, str):
                img = _read_image(item)
                self.num_decoded += 1
                yield index, img, item
            else:
                yield index, item, frame_name(index)


class ImageFolderSource(FrameListSource):
    """The image files of a folder, in natural order (``frame_2`` before ``frame_10``).

    Args:
        folder (str): Directory with the frames; non-image files are ignored,
            sub-folders are not searched.
        fps (float): Frame rate used when rendering a video. Defaults to 25.
        max_frames (int, optional): Stop after this many frames.

    Raises:
        FileNotFoundError: If ``folder`` is not a directory.
        ValueError: If it contains no image file.
    """

    def __init__(self, folder: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'Image folder {folder} does not exist.')
        natural = lambda s: [int(p) if p.isdigit() else p.lower() for p in re.split(r'(\d+)', s)]  # noqa: E731
        files = sorted((f for f in os.listdir(folder) if is_image_file(f)), key=natural)
        paths = [osp.join(folder, f) for f in files if osp.isfile(osp.join(folder, f))]
        if not paths:
            raise ValueError(
                f'Image folder {folder} contains no image files '
                f'(looked for {", ".join(_IMAGE_EXTS)}).'
            )
        super().__init__(paths, fps, max_frames, osp.basename(osp.normpath(folder)) + '.mp4')
        self.paths = paths


def open_frame_source(
    inputs: Union[str, np.ndarray, Sequence, FrameSource],
    max_frames: Optional[int] = None,
    fps: float = 25.0,
) -> FrameSource:
    """Open any supported input as a :class:`FrameSource`.

    Args:
        inputs: A :class:`FrameSource` (as is), ``'webcam[:id]'``, a folder (its
            images in natural order), an image, any other file (a video), an
            array or a list of arrays/paths.
        max_frames (int, optional): Stop after this many frames.
        fps (float): Frame rate of image sequences (videos and cameras use
            their own). Defaults to 25.

    Returns:
        FrameSource: The source.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: For unreadable videos, empty folders or empty lists.
        TypeError: For other input types.
    """
    if isinstance(inputs, FrameSource):
        inputs.max_frames = max_frames or inputs.max_frames
        return inputs
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, str):
        if re.fullmatch(r'webcam(:\d+)?', inputs.lower()):
            return CameraSource(inputs.lower(), max_frames=max_frames)
        if osp.isdir(inputs):
            return ImageFolderSource(inputs, fps=fps, max_frames=max_frames)
        if not osp.exists(inputs):
            raise FileNotFoundError(
                f'Input {inputs} does not exist (expected a video file, an image, a folder of '
                'images or "webcam[:id]").'
            )
        if not is_image_file(inputs):
            return VideoFileSource(inputs, max_frames=max_frames)
        inputs = [inputs]
    if isinstance(inputs, (list, tuple)):
        return FrameListSource(inputs, fps=fps, max_frames=max_frames)
    raise TypeError(
        f'Unsupported input type {type(inputs)}: expected a path, an array, a list of them or a '
        'FrameSource.'
    )
