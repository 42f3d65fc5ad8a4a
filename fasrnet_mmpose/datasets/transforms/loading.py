# Copyright (c) OpenMMLab. All rights reserved.
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadFrameWindow(BaseTransform):
    """Load every frame of a sample's temporal window as a list of images.

    Frames come from, in this order of preference:

    1. ``results['img']`` already given: a list of ``T`` arrays is kept as is; a single array
       (e.g. from mmpose's stock ``Pose2DInferencer``) is repeated ``num_frames`` times (the
       degenerate window: the model sees the same frame at t-1, t, t+1);
    2. ``results['frame_paths']`` (from :class:`PoseTrackVideoDataset`): read each path;
    3. ``results['img_path']`` (a single path): read it and repeat it ``num_frames`` times.

    All frames of a window must have the same size (they are cropped with one affine).
    If no ``margin`` is given, a window of repeated frames gets margin 1 for every neighbour.

    Required Keys:
        - img (optional) / frame_paths (optional) / img_path (optional)

    Modified Keys:
        - img (list[np.ndarray], T frames, centre first)

    Added Keys:
        - img_shape, ori_shape, margin (if absent), num_frames

    Args:
        num_frames (int): ``T`` used when a single image has to be repeated. Defaults to 3.
        to_float32 (bool): convert to float32. Defaults to False.
        color_type (str): ``mmcv.imfrombytes`` flag. Defaults to ``'color'``.
        imdecode_backend (str): decoding backend. Defaults to ``'cv2'``.
        backend_args (dict, optional): file backend arguments (see ``mmengine.fileio``).
    """

    def __init__(
        self,
        num_frames: int = 3,
        to_float32: bool = False,
        color_type: str = 'color',
        imdecode_backend: str = 'cv2',
        backend_args: Optional[dict] = None,
    ) -> None:
        if num_frames < 1:
            raise ValueError(f'LoadFrameWindow: num_frames must be >= 1, got {num_frames}')
        self.num_frames = num_frames
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args.copy() if backend_args else None

    def _read(self, path: str) -> np.ndarray:
        """Read one frame; a clear error names the file."""
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'LoadFrameWindow: frame {path} not found') from e
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None:
            raise ValueError(f'LoadFrameWindow: cannot decode frame {path}')
        return img

    def _window(self, results: dict) -> List[np.ndarray]:
        img = results.get('img')
        if isinstance(img, np.ndarray):
            return [img] * self.num_frames
        if isinstance(img, (list, tuple)) and img:
            if not all(isinstance(x, np.ndarray) for x in img):
                raise TypeError(
                    'LoadFrameWindow: results["img"] must be an array or a list of arrays'
                )
            return list(img)
        paths: Optional[Sequence[str]] = results.get('frame_paths')
        if paths:
            # the centre frame is often repeated at sequence boundaries: read each file once
            cache = {}
            for p in paths:
                if p not in cache:
                    cache[p] = self._read(p)
            return [cache[p] for p in paths]
        path = results.get('img_path')
        if isinstance(path, str):
            return [self._read(path)] * self.num_frames
        raise KeyError('LoadFrameWindow: needs "img", "frame_paths" or "img_path" in the results')

    def transform(self, results: dict) -> dict:
        """Load the window. See the class docstring for keys."""
        frames = self._window(results)
        if self.to_float32:
            frames = [f.astype(np.float32) for f in frames]
        shape = frames[0].shape[:2]
        for i, frame in enumerate(frames[1:], start=1):
            if frame.shape[:2] != shape:
                where = results.get('frame_paths', [None] * len(frames))[i]
                raise ValueError(
                    f'LoadFrameWindow: frame {i} ({where}) has size {frame.shape[:2]} '
                    f'but the centre frame has {shape}; all frames of a window must '
                    'have the same size'
                )
        results['img'] = frames
        results['img_shape'] = shape
        results['ori_shape'] = shape
        results['num_frames'] = len(frames)
        if 'margin' not in results:
            results['margin'] = np.ones(len(frames) - 1, dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_frames={self.num_frames}, '
            f'to_float32={self.to_float32}, color_type={self.color_type!r}, '
            f'imdecode_backend={self.imdecode_backend!r}, backend_args={self.backend_args})'
        )
