# Copyright (c) OpenMMLab. All rights reserved.
"""Browse a video pose dataset: every frame of each sample's temporal window, side by side.

mmpose's ``tools/misc/browse_dataset.py`` (same options) shows one image per sample; in its default
``transformed`` mode it calls ``inputs.permute(1, 2, 0)`` on our ``[T, 3, H, W]`` inputs and
fails (``RuntimeError: permute(sparse_coo): number of dimensions in the tensor input does not
match the length of the desired ordering of dimensions``). This tool draws, for each sample, the
``T`` frames of the window (``[current, previous, next]``, docs/temporal_window.md) in one row,
each with the centre frame's keypoints (the targets; after the pipeline's affine in
``transformed`` mode, in image coordinates with the box in ``original`` mode) and a title with the
frame's role, file and margin (frame distance of the neighbour actually used). ``--output-dir``
writes one PNG per sample.

Example::

    python tools/browse_dataset.py CONFIG --output-dir browse --not-show \\
        [--phase train|val|test] [--mode transformed|original] [--max-item-per-dataset 50]
"""

import argparse
import os
import os.path as osp
from typing import List, Sequence

import mmcv
import mmengine
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.registry import DATASETS, VISUALIZERS
from mmpose.structures import PoseDataSample

import fasrnet_mmpose  # noqa: F401  (registers the plugin)
from fasrnet_mmpose.structures.temporal_window import FRAME_ORDER

#: height of the title bar above each frame (pixels)
TITLE_HEIGHT = 24


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Browse a video pose dataset: the T frames of each sample side by side with '
        "the centre frame's keypoints and the margins (mmpose's browse_dataset.py options)."
    )
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', help='write one PNG per sample into this directory')
    parser.add_argument('--not-show', action='store_true', help='do not open a window')
    parser.add_argument(
        '--max-item-per-dataset', type=int, default=50, help='samples to draw (default 50)'
    )
    parser.add_argument(
        '--phase', default='train', choices=['train', 'val', 'test'], help='dataset to browse'
    )
    parser.add_argument(
        '--show-interval', type=float, default=2, help='seconds each window is shown'
    )
    parser.add_argument(
        '--mode',
        default='transformed',
        choices=['original', 'transformed'],
        help='"transformed": the model inputs after the pipeline (crops of the window); '
        '"original": the frames as read from disk',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings (xxx=yyy)',
    )
    return parser.parse_args(argv)


def frame_titles(num_frames: int, frame_paths: Sequence[str], margins) -> List[str]:
    """Panel titles: role in the window (``current``, ``previous``, ``next``), file and margin.

    Args:
        num_frames (int): ``T``.
        frame_paths (Sequence[str]): the ``T`` frame files (may be empty).
        margins: the ``T-1`` neighbour margins, or None.

    Returns:
        list[str]: ``T`` titles.
    """
    roles = (
        FRAME_ORDER if num_frames == len(FRAME_ORDER) else [f'frame {i}' for i in range(num_frames)]
    )
    margins = [] if margins is None else [int(m) for m in np.asarray(margins).reshape(-1)]
    titles = []
    for i, role in enumerate(roles):
        title = role
        if i < len(frame_paths):
            title += f' {osp.basename(frame_paths[i])}'
        if i > 0 and i - 1 < len(margins):
            title += f' margin {margins[i - 1]}'
        titles.append(title)
    return titles


def _with_title(img: np.ndarray, title: str) -> np.ndarray:
    """``img`` (RGB) below a white bar holding ``title``."""
    import cv2

    bar = np.full((TITLE_HEIGHT, img.shape[1], 3), 255, np.uint8)
    scale = 0.4
    cv2.putText(bar, title, (2, TITLE_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1)
    return np.concatenate([bar, img], axis=0)


def draw_window(
    visualizer, frames: Sequence[np.ndarray], data_sample: PoseDataSample, titles, draw_bbox: bool
) -> np.ndarray:
    """One row: each frame (RGB) with the sample's keypoints and its title.

    Args:
        visualizer: mmpose's ``PoseLocalVisualizer`` (dataset meta set).
        frames (Sequence[np.ndarray]): ``T`` RGB images of the same size.
        data_sample (PoseDataSample): ``gt_instances`` of the centre frame.
        titles (Sequence[str]): ``T`` titles.
        draw_bbox (bool): also draw the person box.

    Returns:
        np.ndarray: ``[TITLE_HEIGHT + H, T * W, 3]`` RGB.
    """
    panels = []
    for frame, title in zip(frames, titles):
        drawn = visualizer.add_datasample(
            title,
            frame,
            data_sample,
            draw_gt=True,
            draw_pred=False,
            draw_bbox=draw_bbox,
            draw_heatmap=False,
            show=False,
        )
        panels.append(_with_title(drawn, title))
    return np.concatenate(panels, axis=1)


def _transformed(item: dict):
    """Frames (RGB), data sample, titles and centre image path of a packed sample."""
    inputs = item['inputs'].numpy()  # [T,3,H,W] BGR uint8 (a single image: [3,H,W])
    if inputs.ndim == 3:
        inputs = inputs[None]
    frames = [mmcv.bgr2rgb(np.ascontiguousarray(f.transpose(1, 2, 0))) for f in inputs]
    data_sample = item['data_samples']
    meta = data_sample.metainfo
    paths = meta.get('frame_paths') or [meta.get('img_path', '')]
    titles = frame_titles(len(frames), paths, meta.get('margin'))
    return frames, data_sample, titles, meta.get('img_path', '')


def _original(item: dict, backend_args: dict):
    """Frames (RGB) read from disk, data sample, titles and centre image path of a data info."""
    paths = item.get('frame_paths') or [item['img_path']]
    frames = [
        mmcv.imfrombytes(mmengine.fileio.get(p, backend_args=backend_args), channel_order='rgb')
        for p in paths
    ]
    gt = InstanceData()
    gt.keypoints = item['keypoints']
    visible = item['keypoints_visible']
    gt.keypoints_visible = visible[..., 0] if visible.ndim == 3 else visible
    gt.bboxes = item['bbox']
    data_sample = PoseDataSample()
    data_sample.gt_instances = gt
    titles = frame_titles(len(frames), paths, item.get('margin'))
    return frames, data_sample, titles, item['img_path']


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    backend_args = cfg.get('backend_args', dict(backend='local'))
    init_default_scope(cfg.get('default_scope', 'mmpose'))

    dataset_cfg = cfg[f'{args.phase}_dataloader'].dataset
    if args.mode == 'original':
        # LoadFrameWindow is not run: the data info already lists the window's frame_paths
        dataset_cfg.pipeline = []
    else:
        dataset_cfg.pipeline[-1].pack_transformed = True  # transformed keypoints for drawing
    dataset = DATASETS.build(dataset_cfg)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.set_dataset_meta(dataset.metainfo)

    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    total = min(len(dataset), args.max_item_per_dataset)
    progress_bar = mmengine.ProgressBar(total)
    for idx in range(total):
        item = dataset[idx]
        if args.mode == 'original':
            frames, data_sample, titles, img_path = _original(item, backend_args)
        else:
            frames, data_sample, titles, img_path = _transformed(item)
        row = draw_window(visualizer, frames, data_sample, titles, args.mode == 'original')
        name = f'{idx:05d}_{osp.splitext(osp.basename(img_path))[0]}'
        if not args.not_show:
            visualizer.show(row, win_name=name, wait_time=args.show_interval)
        if args.output_dir:
            mmcv.imwrite(mmcv.rgb2bgr(row), osp.join(args.output_dir, f'{name}.png'))
        progress_bar.update()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
