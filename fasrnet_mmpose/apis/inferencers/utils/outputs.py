# Copyright (c) OpenMMLab. All rights reserved.
"""Outputs written while a run goes: the rendered video and the predictions JSON."""

import json
import logging
import os
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

__all__ = ['VideoSink', 'PredictionsWriter', 'letterbox']


def letterbox(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Scale ``img`` to fit ``size = (w, h)`` keeping its aspect ratio; pad black, centred."""
    h, w = img.shape[:2]
    if (w, h) == tuple(size):
        return img
    s = min(size[0] / w, size[1] / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    out = np.zeros((size[1], size[0], 3), np.uint8)
    x0, y0 = (size[0] - nw) // 2, (size[1] - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


class VideoSink:
    """An MP4 written frame by frame, exactly one video frame per :meth:`write`.

    H.264 (``libx264``, ``yuv420p``: browsers and notebooks play it) through the
    FFmpeg binary bundled by ``imageio-ffmpeg``; without that package OpenCV's
    ``mp4v`` (a warning). The size is the first frame's (rounded up to even for
    H.264); frames of another size are letterboxed to it (:func:`letterbox`).

    Args:
        path (str): Output ``.mp4`` file (its folder is created).
        fps (float): Frame rate.
    """

    def __init__(self, path: str, fps: float) -> None:
        self.path, self.fps = path, float(fps)
        self.codec: Optional[str] = None
        self.size: Optional[Tuple[int, int]] = None
        self.num_frames = 0
        self._writer = None

    def _open(self, w: int, h: int) -> None:
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        try:
            import imageio_ffmpeg
        except ImportError:
            imageio_ffmpeg = None
        if imageio_ffmpeg is not None:
            self.size = (w + w % 2, h + h % 2)
            self._writer = imageio_ffmpeg.write_frames(
                self.path,
                self.size,
                pix_fmt_in='bgr24',
                fps=self.fps,
                codec='libx264',
                macro_block_size=1,
                ffmpeg_log_level='error',
                output_params=['-movflags', '+faststart'],
            )
            self._writer.send(None)
            self.codec = 'h264'
            return
        print_log(
            'imageio-ffmpeg is not installed: writing an mp4v video, which browsers do not play '
            '(pip install imageio-ffmpeg for H.264).',
            logger='current',
            level=logging.WARNING,
        )
        self.size = (w, h)
        self._writer = cv2.VideoWriter(
            self.path, cv2.VideoWriter_fourcc(*'mp4v'), self.fps, self.size
        )
        if not self._writer.isOpened():
            raise RuntimeError(f'OpenCV cannot write {self.path} (mp4v codec missing?)')
        self.codec = 'mp4v'

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR ``H x W x 3`` frame."""
        if self._writer is None:
            self._open(frame.shape[1], frame.shape[0])
        frame = np.ascontiguousarray(letterbox(frame, self.size))
        if self.codec == 'h264':
            self._writer.send(frame)
        else:
            self._writer.write(frame)
        self.num_frames += 1

    def release(self) -> None:
        """Finish the file (idempotent)."""
        if self._writer is not None:
            self._writer.close() if self.codec == 'h264' else self._writer.release()
            self._writer = None


def _to_builtin(obj):
    """JSON fallback for numpy scalars and arrays."""
    return obj.tolist()


class PredictionsWriter:
    """``{"frames": [...], "meta": {...}}`` (or ``[...]``), complete JSON after every frame.

    :meth:`add` appends a frame and rewrites only the ``], "meta": {...}}`` tail,
    then flushes: a run that stops (error, Ctrl-C) leaves a valid file with every
    finished frame and ``meta`` saying how far it got (``complete``, ``error``).

    Args:
        path (str): Output ``.json`` file (its folder is created).
        meta (dict, optional): The initial ``meta``; ``None``: a plain list of
            frames (the layout of mmpose's video predictions).
    """

    def __init__(self, path: str, meta: Optional[dict] = None) -> None:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        self.path, self.num_frames = path, 0
        self.meta = None if meta is None else dict(meta, complete=False)
        self._file = open(path, 'w', encoding='utf-8')
        self._file.write('[' if meta is None else '{"frames": [')
        self._end = self._file.tell()
        self._write_tail()

    def _write_tail(self) -> None:
        self._file.seek(self._end)
        meta = json.dumps(self.meta, default=_to_builtin)
        self._file.write(']\n' if self.meta is None else '], "meta": ' + meta + '}\n')
        self._file.truncate()
        self._file.flush()

    def add(self, record: dict, **meta) -> None:
        """Append one frame record (JSON-serialisable) and update ``meta``."""
        self._file.seek(self._end)
        self._file.write(
            (',\n' if self.num_frames else '\n') + json.dumps(record, default=_to_builtin)
        )
        self._end = self._file.tell()
        self.num_frames += 1
        if self.meta is not None:
            self.meta.update(meta)
        self._write_tail()

    def close(self, **meta) -> None:
        """Write the final ``meta`` (e.g. ``complete=True`` or ``error=...``) and close."""
        if not self._file.closed:
            if self.meta is not None:
                self.meta.update(meta)
            self._write_tail()
            self._file.close()
