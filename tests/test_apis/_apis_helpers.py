# Copyright (c) OpenMMLab. All rights reserved.
"""Tiny FaSRnet configs, checkpoints and synthetic videos for the inferencer tests."""

import atexit
import os
import os.path as osp
import shutil
import sys
import tempfile
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pytest
import torch

PROJECT_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CLIP = osp.join(PROJECT_ROOT, 'demo', 'resources', 'vtest_clip.mp4')

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _tiny_models import TINY_CODEC, TINY_HRNET, centre_head_cfg  # noqa: E402
from _train_helpers import MAIN_CONFIG, pipelines  # noqa: E402


def cli_args(*positional, **options) -> List[str]:
    """A tool's argument list: ``positional``, then ``--key-name value`` per option, in order.

    Underscores in a key become dashes; the value ``True`` gives the flag alone.
    """
    args = [str(p) for p in positional]
    for key, value in options.items():
        args.append('--' + key.replace('_', '-'))
        if value is not True:
            args.append(str(value))
    return args


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """Run the tiny models single-threaded (imported by the test modules).

    On a shared 2-core machine, 2 OpenMP threads competing with other processes make the tiny
    convolutions ~20x slower; the previous setting is restored afterwards.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def write_tiny_config(path: str, head: str = 'FaSRHead') -> str:
    """A FaSRnet config (main PT17 config as base) with a tiny HRNet, 64x48 crops.

    Args:
        path (str): Where to write the ``.py`` config.
        head (str): ``'FaSRHead'`` (3 frames, margins used) or
            ``'TestCentreFrameHead'`` (from tests/_tiny_models.py, centre frame only).
    """
    if head == 'FaSRHead':
        head_cfg = dict(in_channels=8, decoder=TINY_CODEC, init_cfg=None)
    else:
        head_cfg = centre_head_cfg(_delete_=True)
    pipeline = pipelines(TINY_CODEC)[1]
    text = '\n'.join(
        [
            f'_base_ = [{MAIN_CONFIG!r}]',
            f'model = dict(backbone=dict(_delete_=True, **{TINY_HRNET!r}), head={head_cfg!r})',
            f'val_dataloader = dict(batch_size=4, dataset=dict(pipeline={pipeline!r}))',
            'test_dataloader = val_dataloader',
            '',
        ]
    )
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def frame_image(
    index: int,
    size: Tuple[int, int] = (96, 128),
    people: Sequence[Tuple[int, int]] = ((20, 20), (70, 30)),
) -> np.ndarray:
    """A BGR frame whose mean colour encodes ``index``; white 'people' boxes move right."""
    h, w = size
    img = np.full((h, w, 3), (0, 0, 0), np.uint8)
    img[:, :, 0] = (index * 37) % 256
    img[:, :, 1] = (index * 11) % 256
    for x, y in people:
        x0 = x + index
        cv2.rectangle(img, (x0, y), (x0 + 16, y + 40), (255, 255, 255), -1)
    return img


def write_video(
    path: str, num_frames: int, size: Tuple[int, int] = (96, 128), fps: float = 10.0
) -> List[np.ndarray]:
    """Write an mp4v video; returns the frames as OpenCV decodes them back."""
    h, w = size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    assert writer.isOpened(), 'OpenCV cannot write mp4v videos here'
    for i in range(num_frames):
        writer.write(frame_image(i, size))
    writer.release()
    frames, _ = read_video(path)
    assert len(frames) == num_frames
    return frames


def read_video(path: str) -> Tuple[List[np.ndarray], float]:
    """All frames of a video as OpenCV decodes them, and its frame rate."""
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


def write_image_folder(
    folder: str, num_frames: int, size: Tuple[int, int] = (96, 128), ext: str = '.png'
) -> List[str]:
    """Frames ``frame_1.png ... frame_<n>.png`` (natural, not lexicographic order)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(num_frames):
        path = osp.join(folder, f'frame_{i + 1}{ext}')
        cv2.imwrite(path, frame_image(i, size))
        paths.append(path)
    return paths


def frame_id_of(frame: np.ndarray) -> Optional[int]:
    """Recover ``index`` from a frame made by :func:`frame_image` (mean colour, lossy codec)."""
    b = float(np.median(frame[:8, -8:, 0]))
    g = float(np.median(frame[:8, -8:, 1]))
    for i in range(256):
        if abs((i * 37) % 256 - b) < 6 and abs((i * 11) % 256 - g) < 6:
            return i
    return None


# ---------------------------------------------------------------- shared tiny assets
_ASSETS: Dict[str, str] = {}


def tiny_assets() -> Dict[str, str]:
    """Tiny configs and a checkpoint in a temporary directory (built once per session).

    Returns:
        dict: ``root``, ``config`` (tiny HRNet + FaSRHead),
        ``checkpoint`` (weights of ``config``, seed 0, with ``meta.dataset_meta``).
    """
    if not _ASSETS:
        from fasrnet_mmpose.apis import FaSRnetInferencer

        root = tempfile.mkdtemp(prefix='fasrnet_apis_')
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        config = write_tiny_config(osp.join(root, 'tiny_fasrnet.py'))
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            inferencer = FaSRnetInferencer(config, det_model='whole_image', device='cpu')
        checkpoint = osp.join(root, 'tiny_fasrnet.pth')
        torch.save(
            dict(
                state_dict=inferencer.model.state_dict(),
                meta=dict(dataset_meta=inferencer.model.dataset_meta),
            ),
            checkpoint,
        )
        _ASSETS.update(root=root, config=config, checkpoint=checkpoint)
    return dict(_ASSETS)
