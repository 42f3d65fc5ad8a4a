# Copyright (c) OpenMMLab. All rights reserved.
"""Outputs written while a run goes: the rendered video and the predictions JSON."""

import json
import os.path as osp
from operator import methodcaller
from typing import Optional, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist

_tolist = methodcaller('tolist')  # JSON fallback for numpy arrays and scalars
#: ``imageio_ffmpeg.write_frames`` settings: browser-playable H.264 of BGR frames
H264 = dict(codec='libx264', pix_fmt_in='bgr24', macro_block_size=1, ffmpeg_log_level='error')
H264.update(output_params=['-movflags', '+faststart'])


def letterbox(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Scale ``img`` to fit ``size = (w, h)`` keeping its aspect ratio; pad black, centred."""
    h, w = img.shape[:2]
    if (w, h) == tuple(size):
        return img
    s = min(size[0] / w, size[1] / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    x0, y0 = (size[0] - nw) // 2, (size[1] - nh) // 2
    img = mmcv.imresize(img, (nw, nh), interpolation='area')
    return mmcv.impad(img, padding=(x0, y0, size[0] - nw - x0, size[1] - nh - y0))


class VideoSink:
    """An MP4 written frame by frame: H.264 (``imageio-ffmpeg``; else OpenCV's ``mp4v``, warned)
    at the first frame's size (even for H.264), other sizes letterboxed to it.

    Args:
        path (str): Output ``.mp4`` file (its folder is created).
        fps (float): Frame rate.
    """

    def __init__(self, path: str, fps: float) -> None:
        self.path, self.fps = path, float(fps)
        self.codec = self.size = self._writer = None  # set by the first frame

    def _open(self, w: int, h: int) -> None:
        mkdir_or_exist(osp.dirname(osp.abspath(self.path)))
        try:
            import imageio_ffmpeg
        except ImportError:
            MMLogger.get_current_instance().warning(
                'imageio-ffmpeg is not installed: writing an mp4v video, which browsers do not '
                'play (pip install imageio-ffmpeg for H.264).'
            )
            self.codec, self.size, fourcc = 'mp4v', (w, h), cv2.VideoWriter_fourcc(*'mp4v')
            self._writer = cv2.VideoWriter(self.path, fourcc, self.fps, self.size)
            if not self._writer.isOpened():
                raise RuntimeError(f'OpenCV cannot write {self.path} (mp4v codec missing?)')
            self._send, self._close = self._writer.write, self._writer.release
            return
        self.codec, self.size = 'h264', (w + w % 2, h + h % 2)
        self._writer = imageio_ffmpeg.write_frames(self.path, self.size, fps=self.fps, **H264)
        self._writer.send(None)
        self._send, self._close = self._writer.send, self._writer.close

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR ``H x W x 3`` frame."""
        if self._writer is None:
            self._open(frame.shape[1], frame.shape[0])
        self._send(np.ascontiguousarray(letterbox(frame, self.size)))

    def release(self) -> None:
        """Finish the file (idempotent)."""
        if self._writer is not None:
            self._close()
            self._writer = None


class PredictionsWriter:
    """``{"frames": [...], "meta": {...}}`` (``meta=None``: mmpose's ``[...]``), valid JSON after
    every :meth:`add` (only the tail is rewritten, then flushed; docs/inference.md).

    Args:
        path (str): Output ``.json`` file (its folder is created).
        meta (dict, optional): The initial ``meta``.
    """

    def __init__(self, path: str, meta: Optional[dict] = None) -> None:
        mkdir_or_exist(osp.dirname(osp.abspath(path)))
        self.path, self.num_frames = path, 0
        self.meta = None if meta is None else dict(meta, complete=False)
        self._file = open(path, 'w', encoding='utf-8')
        self._file.write('[' if meta is None else '{"frames": [')
        self._end = self._file.tell()
        self._write_tail()

    def _write_tail(self, **meta) -> None:
        if self.meta is not None:
            self.meta.update(meta)
        self._file.seek(self._end)
        meta_text = json.dumps(self.meta, default=_tolist)
        self._file.write(']\n' if self.meta is None else '], "meta": ' + meta_text + '}\n')
        self._file.truncate()
        self._file.flush()

    def add(self, record: dict, **meta) -> None:
        """Append one frame record (JSON-serialisable; arrays allowed) and update ``meta``."""
        self._file.seek(self._end)
        self._file.write((',\n' if self.num_frames else '\n') + json.dumps(record, default=_tolist))
        self._end, self.num_frames = self._file.tell(), self.num_frames + 1
        self._write_tail(**meta)

    def close(self, **meta) -> None:
        """Write the final ``meta`` (e.g. ``complete=True`` or ``error=...``) and close."""
        if not self._file.closed:
            self._write_tail(**meta)
            self._file.close()
