# Copyright (c) OpenMMLab. All rights reserved.
"""tools/browse_dataset.py: the T frames of each sample side by side (mmpose's crashes on them)."""

import os
import os.path as osp
import sys

import cv2
import mmpose
import numpy as np
import pytest
from _synthetic import make_video_dataset
from _train_helpers import TINY_INPUT, run_tool, train_config
from conftest import load_tool

browse = load_tool('browse_dataset')
MMPOSE_BROWSE = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools', 'misc', 'browse_dataset.py')
FRAME_HW = (60, 80)  # synthetic frames; frame i has blue channel 10 * i (see tests/_synthetic.py)


@pytest.fixture
def config(tmp_path):
    ann = make_video_dataset(str(tmp_path / 'data'), nframes=8, labelled=(0, 3, 7), size=FRAME_HW)
    return train_config(str(tmp_path / 'cfg.py'), ann, str(tmp_path / 'data'))


def _share_of_frame(panel: np.ndarray, index: int) -> float:
    """Share of the pixels of a BGR panel showing the background of synthetic frame ``index``."""
    b, g = panel[..., 0].astype(int), panel[..., 1].astype(int)
    return float(np.mean((np.abs(b - 10 * index) <= 4) & (np.abs(g - 100) <= 4)))


def test_transformed_mode_draws_every_frame_of_the_window(config, tmp_path):
    out = tmp_path / 'browse'
    assert browse.main([config, '--output-dir', str(out), '--not-show']) == 0
    files = sorted(os.listdir(out))
    # 3 labelled frames x 2 persons; frame index in the name
    assert files == [f'{i:05d}_{t:06d}.png' for i, t in enumerate((0, 0, 3, 3, 7, 7))]
    w, h = TINY_INPUT
    img = cv2.imread(str(out / files[2]))  # centre frame 3: window [3, 2, 4]
    assert img.shape == (browse.TITLE_HEIGHT + h, 3 * w, 3)  # T = 3 panels of the input size
    panels = [img[browse.TITLE_HEIGHT :, k * w : (k + 1) * w] for k in range(3)]
    for panel, frame in zip(panels, (3, 2, 4)):
        shares = {t: _share_of_frame(panel, t) for t in (2, 3, 4)}
        assert max(shares, key=shares.get) == frame and shares[frame] > 0.2, shares
    # the centre frame's keypoints are drawn on every panel (not only the background)
    assert all(_share_of_frame(p, f) < 0.98 for p, f in zip(panels, (3, 2, 4)))


def test_titles_name_role_file_and_margin():
    titles = browse.frame_titles(3, ['a/000003.jpg', 'a/000002.jpg', 'a/000003.jpg'], [1, 1])
    assert titles == [
        'current 000003.jpg',
        'previous 000002.jpg margin 1',
        'next 000003.jpg margin 1',
    ]


def test_original_mode_draws_the_frames_from_disk(config, tmp_path):
    out = tmp_path / 'browse'
    args = [config, '--output-dir', str(out), '--not-show', '--mode', 'original']
    assert browse.main(args + ['--max-item-per-dataset', '2']) == 0
    files = sorted(os.listdir(out))
    assert len(files) == 2
    img = cv2.imread(str(out / files[0]))  # frame 0: window [0, 0, 1] (boundary rule)
    h, w = FRAME_HW
    assert img.shape == (browse.TITLE_HEIGHT + h, 3 * w, 3)
    panels = [img[browse.TITLE_HEIGHT :, k * w : (k + 1) * w] for k in range(3)]
    for panel, frame in zip(panels, (0, 0, 1)):
        shares = {t: _share_of_frame(panel, t) for t in (0, 1)}
        assert max(shares, key=shares.get) == frame, shares


@pytest.mark.skipif(not osp.exists(MMPOSE_BROWSE), reason=f'{MMPOSE_BROWSE} is not shipped')
def test_mmpose_browse_dataset_fails_on_video_samples(config, tmp_path):
    """Why ours exists (docs/training.md): mmpose's transformed mode expects [3, H, W]."""
    proc = run_tool(
        [sys.executable, MMPOSE_BROWSE, config, '--output-dir', str(tmp_path / 'o'), '--not-show'],
        check=False,
    )
    assert proc.returncode != 0 and 'permute' in proc.stderr
