# Copyright (c) OpenMMLab. All rights reserved.
"""Frame sources (frames decoded once, in order) and their temporal windows (docs/inference.md)."""

import itertools
import os.path as osp
import re
from types import SimpleNamespace
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import MMLogger
from mmengine.utils import scandir
from mmpose.apis.inferencers.base_mmpose_inferencer import BaseMMPoseInferencer

from ....structures.temporal_window import DEFAULT_FRAME_OFFSETS, FALLBACK_MISSING, TemporalWindow

_IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.jp2')
MAX_FAILED_READS = 25  # consecutive failed decodes that end a video


def frame_name(index: int) -> str:
    """Name of video frame ``index``, as mmpose's ``Pose2DInferencer`` (``'000007.jpg'``)."""
    return f'{index}.jpg'.rjust(10, '0')


class FrameSource:
    """Iterable once: ``(BGR frame, img_path)`` from a subclass's ``_frames()`` ``(number, frame,
    name)``; ``frame_numbers`` (source numbers so far), ``frame_count`` (announced; 0: unknown)."""

    is_video = True  # a stream (FrameListSource: not)

    def __init__(self, name: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f'max_frames must be >= 1, got {max_frames}')
        self.name, self.fps, self.max_frames = name, float(fps), max_frames
        self.num_decoded = self.frame_count = 0
        self.frame_numbers: List[int] = []
        self._consumed = self.exhausted = False

    def __iter__(self) -> Iterator[Tuple[np.ndarray, str]]:
        if self._consumed:
            raise RuntimeError(f'{self.name}: a frame source can be iterated only once.')
        self._consumed, frames = True, self._frames()
        try:  # islice asks for no frame past max_frames: nothing is decoded in vain
            for number, frame, name in itertools.islice(frames, self.max_frames):
                self.frame_numbers.append(number)
                yield frame, name
            self.exhausted = len(self.frame_numbers) != self.max_frames
        finally:
            frames.close()  # releases a capture device / file handle

    def __len__(self) -> int:
        """Number of frames (an estimate for video files; 0 when unknown)."""
        return min(self.frame_count, self.max_frames or self.frame_count)

    def decode_report(self) -> dict:
        """``frames_in_header``, ``frames_read``, ``frames_failed`` and ``failed_frame_numbers``
        (up to the header's count if read to the end, else to the last frame read)."""
        expected = self.frame_count if self.exhausted else (self.frame_numbers or [-1])[-1] + 1
        missing = sorted(set(range(expected)) - set(self.frame_numbers))
        report = dict(frames_in_header=self.frame_count, frames_read=len(self.frame_numbers))
        return dict(report, frames_failed=len(missing), failed_frame_numbers=missing)


class VideoFileSource(FrameSource):
    """A video file read in order (``mmcv.VideoReader``'s capture, no seek); undecodable frames
    (up to :data:`MAX_FAILED_READS` in a row) are skipped, frames numbered by timestamp."""

    def __init__(self, path: str, max_frames: Optional[int] = None) -> None:
        reader = mmcv.VideoReader(path)
        super().__init__(osp.basename(path), reader.fps if reader.fps > 0 else 25.0, max_frames)
        self.width, self.height, self._cap = reader.width, reader.height, reader.vcap
        self.frame_count = max(0, reader.frame_cnt)
        ok, self._first = self._cap.read() if reader.opened else (False, None)
        if not ok:
            self._cap.release()
            raise ValueError(
                f'Cannot open or decode video {path}: OpenCV (FFmpeg backend) cannot read it '
                '(not a video, empty, truncated, unsupported codec or corrupted file).'
            )
        self.num_decoded = 1

    def _number(self, previous: int) -> int:
        """Source number of the frame just read (from its timestamp)."""
        msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        return max(int(round(msec * self.fps / 1000)) if msec >= 0 else 0, previous + 1)

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        number, frame, failed = self._number(-1), self._first, 0
        self._first = None  # now held by this generator only
        try:
            while failed < MAX_FAILED_READS:
                if frame is not None:
                    yield number, frame, frame_name(number)
                ok, frame = self._cap.read()
                if ok:
                    failed, number = 0, self._number(number)
                    self.num_decoded += 1
                elif max(self._cap.get(cv2.CAP_PROP_POS_FRAMES), number + 1) >= self.frame_count:
                    break  # the end (else an undecodable frame in the middle)
                else:
                    failed += 1
        finally:
            self._cap.release()


class CameraSource(FrameSource):
    """A camera (``'webcam'`` / ``'webcam:<id>'``), read by mmpose's ``_get_webcam_inputs``."""

    def __init__(self, spec: str = 'webcam', max_frames: Optional[int] = None) -> None:
        holder = SimpleNamespace()  # receives mmpose's ``video_info``
        self._reader = BaseMMPoseInferencer._get_webcam_inputs(holder, spec)
        if not hasattr(holder, 'video_info'):
            raise ValueError(f'Cannot open camera {spec.partition(":")[2] or 0}.')
        super().__init__(holder.video_info['name'], holder.video_info['fps'] or 25.0, max_frames)

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        for index, frame in enumerate(self._reader):
            self.num_decoded += 1
            yield index, frame, frame_name(index)


class FrameListSource(FrameSource):
    """BGR arrays and/or image paths in temporal order (a path is decoded when reached)."""

    is_video = False

    def __init__(self, items: Sequence, fps=25.0, max_frames=None, name='frames.mp4') -> None:
        self.items = items = list(items)
        if not items:
            raise ValueError('No input frames: the list of images is empty.')
        bad = [i for i, x in enumerate(items) if not isinstance(x, str) and np.shape(x)[2:] != (3,)]
        if bad:
            raise ValueError(f'Frame {bad[0]} must be an image path or an HxWx3 BGR image.')
        super().__init__(name, fps, max_frames)
        self.frame_count = len(self.items)

    def _frames(self) -> Iterator[Tuple[int, np.ndarray, str]]:
        for index, item in enumerate(self.items):
            if isinstance(item, np.ndarray):
                yield index, item, frame_name(index)
                continue
            if not osp.isfile(item):
                raise FileNotFoundError(f'Image {item} does not exist.')
            img = cv2.imread(item, cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'Cannot decode image {item} (not an image or corrupted).')
            self.num_decoded += 1
            yield index, img, item


def _natural_key(name: str) -> list:
    """Sort key of file names: digit runs as numbers (``2.jpg`` before ``10.jpg``)."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r'(\d+)', name)]


class ImageFolderSource(FrameListSource):
    """The image files of a folder (not its sub-folders) in natural order (``2`` before ``10``)."""

    def __init__(self, folder: str, fps: float = 25.0, max_frames: Optional[int] = None) -> None:
        files = sorted(scandir(folder, _IMAGE_EXTS, case_sensitive=False), key=_natural_key)
        paths = [osp.join(folder, f) for f in files]
        if not paths:
            raise ValueError(
                f'Image folder {folder} contains no image files ({", ".join(_IMAGE_EXTS)}).'
            )
        super().__init__(paths, fps, max_frames, osp.basename(osp.normpath(folder)) + '.mp4')


def open_frame_source(inputs, max_frames: Optional[int] = None, fps: float = 25.0) -> FrameSource:
    """A :class:`FrameSource` (as is), ``'webcam[:id]'``, a folder, an image, a video, an array or
    a list of arrays/paths as a :class:`FrameSource`; ``fps``: of image sequences."""
    if isinstance(inputs, FrameSource):
        inputs.max_frames = max_frames or inputs.max_frames
        return inputs
    if isinstance(inputs, str):
        if re.fullmatch(r'webcam(:\d+)?', inputs.lower()):
            return CameraSource(inputs.lower(), max_frames=max_frames)
        if osp.isdir(inputs):
            return ImageFolderSource(inputs, fps=fps, max_frames=max_frames)
        if not osp.exists(inputs):
            raise FileNotFoundError(
                f'Input {inputs} does not exist (a video, image, image folder or webcam[:id]).'
            )
        if osp.splitext(inputs)[1].lower() not in _IMAGE_EXTS:
            return VideoFileSource(inputs, max_frames=max_frames)
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]  # an image, an array
    return FrameListSource(inputs, fps=fps, max_frames=max_frames)


class FrameWindow(NamedTuple):
    """Frame ``t`` (``index``, ``name``), the ``T`` frames of its window and the ``offsets``
    ``(T,)`` and ``margin`` ``(T-1,)`` of its :class:`TemporalWindow` sample."""

    index: int
    name: str
    frames: List[np.ndarray]  # frames[0]: frame t
    offsets: np.ndarray
    margin: np.ndarray


def iter_frame_windows(
    frames: Iterable[Tuple[np.ndarray, str]],
    frame_offsets: Sequence[int] = DEFAULT_FRAME_OFFSETS,
    online: bool = False,
) -> Iterator[FrameWindow]:
    """Yield the window of every frame ``t`` of ``(frame, name)`` pairs, read once, as soon as
    frame ``t + max(o)`` is read (``online``: at once, frame ``t`` stands in for the future)."""
    window = TemporalWindow(frame_offsets)
    past, future = window.reach[0], 0 if online else window.reach[1]
    source, buffer, warned, read = iter(frames), {}, False, 0  # buffer: index -> (frame, name)
    for t in itertools.count():
        while read <= t + future and (item := next(source, None)) is not None:
            buffer[read], read = item, read + 1
        if t >= read:
            return
        buffer.pop(t - past - 1, None)  # the one frame that left the window
        centre, name = buffer[t]

        def usable(offset: int) -> bool:  # a neighbour of another size is not used
            return buffer[t + offset][0].shape == centre.shape

        sample = window.sample(t, 0 if online else read - 1 - t, is_available=usable)
        used = [buffer[t + int(o)][0] for o in sample.offsets]
        if not warned and (sample.fallback == FALLBACK_MISSING).any():
            warned = True
            MMLogger.get_current_instance().warning(
                f'Frame {t}: a neighbour of another size is replaced by frame {t} (warned once).'
            )
        yield FrameWindow(t, name, used, sample.offsets, sample.margin)
