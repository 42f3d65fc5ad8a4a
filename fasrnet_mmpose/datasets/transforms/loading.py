# Copyright (c) OpenMMLab. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmpose.registry import TRANSFORMS

from ...structures.temporal_window import NUM_FRAMES, window_margins


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
    A window of frames (1. with a list, 2.) needs its ``margin`` (from the dataset or the
    inferencer's frame window); a repeated single image gets the boundary-rule margins of the
    temporal window (every neighbour is the current frame: margin 1), see
    :mod:`fasrnet_mmpose.structures.temporal_window`.

    Required Keys:
        - img (optional) / frame_paths (optional) / img_path (optional)
        - margin (for a window of frames)

    Modified Keys:
        - img (list[np.ndarray], T frames in the order [current, previous, next])

    Added Keys:
        - img_shape, ori_shape, margin (repeated single image)

    Args:
        num_frames (int): ``T`` used when a single image has to be repeated. Defaults to the
            model's ``NUM_FRAMES`` (3).
        to_float32 (bool): convert to float32. Defaults to False.
        color_type (str): ``mmcv.imfrombytes`` flag. Defaults to ``'color'``.
        imdecode_backend (str): decoding backend. Defaults to ``'cv2'``.
        backend_args (dict, optional): file backend arguments (see ``mmengine.fileio``).
    """

    def __init__(
        self,
        num_frames: int = NUM_FRAMES,
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

    def _window(self, results: dict) -> Tuple[List[np.ndarray], bool]:
        """The frames, and whether they are one image repeated."""
        img = results.get('img')
        if isinstance(img, np.ndarray):
            return [img] * self.num_frames, True
        if isinstance(img, (list, tuple)) and img:
            if not all(isinstance(x, np.ndarray) for x in img):
                raise TypeError(
                    'LoadFrameWindow: results["img"] must be an array or a list of arrays'
                )
            return list(img), False
        paths: Optional[Sequence[str]] = results.get('frame_paths')
        if paths:
            # the centre frame is often repeated at sequence boundaries: read each file once
            cache = {}
            for p in paths:
                if p not in cache:
                    cache[p] = self._read(p)
            return [cache[p] for p in paths], False
        path = results.get('img_path')
        if isinstance(path, str):
            return [self._read(path)] * self.num_frames, True
        raise KeyError('LoadFrameWindow: needs "img", "frame_paths" or "img_path" in the results')

    def transform(self, results: dict) -> dict:
        """Load the window. See the class docstring for keys."""
        frames, repeated = self._window(results)
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
        if repeated:
            results['margin'] = window_margins(np.zeros(len(frames) - 1, dtype=np.int64))
        elif 'margin' not in results:
            where = (results.get('frame_paths') or [results.get('img_path')])[0]
            raise KeyError(
                f'LoadFrameWindow: the window of {where} has no "margin" (frame distance of each '
                'neighbour); PoseTrackVideoDataset and the inferencer set it, see '
                'docs/temporal_window.md'
            )
        elif len(results['margin']) != len(frames) - 1:
            raise ValueError(
                f'LoadFrameWindow: {len(frames)} frames need {len(frames) - 1} margins, got '
                f'{list(results["margin"])}'
            )
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_frames={self.num_frames}, '
            f'to_float32={self.to_float32}, color_type={self.color_type!r}, '
            f'imdecode_backend={self.imdecode_backend!r}, backend_args={self.backend_args})'
        )
