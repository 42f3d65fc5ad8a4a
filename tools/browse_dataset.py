# Copyright (c) OpenMMLab. All rights reserved.
"""The ``T`` frames of each sample side by side, with the centre frame's keypoints and titles;
mmpose's browse_dataset.py (same options) fails on ``[T, 3, H, W]`` inputs (docs/training.md)."""

import argparse
import os.path as osp
from typing import List, Sequence

import cv2
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
    parser = argparse.ArgumentParser(description='The T frames of each sample side by side')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', help='write one PNG per sample into this directory')
    parser.add_argument('--not-show', action='store_true', help='do not open a window')
    parser.add_argument('--max-item-per-dataset', type=int, default=50, help='samples to draw')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--show-interval', type=float, default=2, help='seconds per window')
    modes, mode_help = ['original', 'transformed'], 'the frames on disk / the model input crops'
    parser.add_argument('--mode', default='transformed', choices=modes, help=mode_help)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='xxx=yyy overrides')
    return parser.parse_args(argv)


def frame_titles(t: int, frame_paths: Sequence[str], margins) -> List[str]:
    """``t`` panel titles: role, file name (if in ``frame_paths``), margin (of ``t-1`` or None)."""
    roles = FRAME_ORDER if t == len(FRAME_ORDER) else [f'frame {i}' for i in range(t)]
    margins = [] if margins is None else [int(m) for m in np.asarray(margins).reshape(-1)]
    titles = []
    for i, role in enumerate(roles):
        parts = [role, *(osp.basename(p) for p in frame_paths[i : i + 1])]
        titles.append(' '.join(parts + [f'margin {m}' for m in margins[i - 1 : i] if i > 0]))
    return titles


def draw_window(visualizer, frames, data_sample: PoseDataSample, titles, draw_bbox: bool):
    """One ``[TITLE_HEIGHT + H, T * W, 3]`` RGB row: each frame with the ground truth, titled."""
    panels = []
    for frame, title in zip(frames, titles):
        drawn = visualizer.add_datasample(
            title, frame, data_sample, draw_pred=False, draw_bbox=draw_bbox, show=False
        )
        bar = np.full((TITLE_HEIGHT, drawn.shape[1], 3), 255, np.uint8)
        cv2.putText(bar, title, (2, TITLE_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        panels.append(np.concatenate([bar, drawn]))
    return np.concatenate(panels, axis=1)


def load_window(item: dict, original: bool, backend_args: dict):
    """Frames (RGB), data sample, titles, image path of a data info (``original``) or sample."""
    if original:
        paths = item.get('frame_paths') or [item['img_path']]
        frames = [mmcv.imread(p, channel_order='rgb', backend_args=backend_args) for p in paths]
        gt = InstanceData(keypoints=item['keypoints'], bboxes=item['bbox'])
        gt.keypoints_visible = np.atleast_3d(item['keypoints_visible'])[..., 0]  # [N, K]
        titles = frame_titles(len(frames), paths, item.get('margin'))
        return frames, PoseDataSample(gt_instances=gt), titles, item['img_path']
    inputs = item['inputs'].numpy()  # [T, 3, H, W] BGR uint8 (a single image: [3, H, W])
    inputs = inputs.reshape(-1, *inputs.shape[-3:]).transpose(0, 2, 3, 1)
    frames = [mmcv.bgr2rgb(np.ascontiguousarray(f)) for f in inputs]
    meta = item['data_samples'].metainfo
    img_path = meta.get('img_path', '')
    titles = frame_titles(len(frames), meta.get('frame_paths') or [img_path], meta.get('margin'))
    return frames, item['data_samples'], titles, img_path


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options or {})
    backend_args = cfg.get('backend_args', dict(backend='local'))
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataset_cfg, original = cfg[f'{args.phase}_dataloader'].dataset, args.mode == 'original'
    if original:
        dataset_cfg.pipeline = []  # the data info already lists the window's frame_paths
    else:
        dataset_cfg.pipeline[-1].pack_transformed = True  # transformed keypoints for drawing
    dataset = DATASETS.build(dataset_cfg)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.set_dataset_meta(dataset.metainfo)
    total = min(len(dataset), args.max_item_per_dataset)
    for idx in mmengine.track_iter_progress(range(total)):
        frames, data_sample, titles, img_path = load_window(dataset[idx], original, backend_args)
        row = draw_window(visualizer, frames, data_sample, titles, original)
        name = f'{idx:05d}_{osp.splitext(osp.basename(img_path))[0]}'
        if not args.not_show:
            visualizer.show(row, win_name=name, wait_time=args.show_interval)
        if args.output_dir:
            mmcv.imwrite(mmcv.rgb2bgr(row), osp.join(args.output_dir, f'{name}.png'))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
