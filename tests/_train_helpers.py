# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers for the tests that run ``tools/train.py`` / ``tools/test.py`` in subprocesses.

The subprocesses import this module through ``custom_imports`` (``tests/`` is put on
``PYTHONPATH``), which registers the test-only hooks below in mmpose's ``HOOKS`` registry.
"""

import json
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from _tiny_models import TINY_CODEC, TINY_INPUT  # noqa: F401  (re-exported to the tests)
from mmengine.config import Config
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmpose.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm

PROJECT_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS_DIR = osp.join(PROJECT_ROOT, 'tests')
#: the tools under test (override with FASRNET_TOOLS_DIR, e.g. to try a patched copy)
TOOLS_DIR = os.environ.get('FASRNET_TOOLS_DIR', osp.join(PROJECT_ROOT, 'tools'))
BASE_RUNTIME = osp.join(PROJECT_ROOT, 'configs', '_base_', 'default_runtime.py')
TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')

#: the main config: the tests' pipelines pack the metainfo it packs (``meta_keys``)
MAIN_CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)
META_KEYS = tuple(Config.fromfile(MAIN_CONFIG).meta_keys)
#: the config with the batch-independent ("fixed") head flags
FIXED_CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet-fixed_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)


# --------------------------------------------------------------------------- test-only hooks
if 'GlobalLossHook' not in HOOKS.module_dict:

    @HOOKS.register_module()
    class GlobalLossHook(Hook):
        """Log the loss averaged over all ranks as ``global_loss``.

        mmengine logs (and writes to ``scalars.json``) only rank 0's *local* loss. With equal
        per-rank batches, the mean over ranks equals the loss of one process on the whole global
        batch, which is what the distributed test compares. Runs after ``RuntimeInfoHook``
        (VERY_HIGH) and before ``LoggerHook`` (BELOW_NORMAL).
        """

        priority = 'NORMAL'

        def after_train_iter(
            self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None
        ) -> None:
            if not outputs or 'loss' not in outputs:
                return
            loss = torch.as_tensor(outputs['loss']).detach().clone().double().reshape(1)
            if get_world_size() > 1:
                all_reduce(loss, op='mean')
            runner.message_hub.update_scalar('train/global_loss', float(loss.item()))

    @HOOKS.register_module()
    class EvalBatchNormHook(Hook):
        """Keep every BatchNorm of the model in eval mode during training.

        Batch statistics make a sample's output depend on the other samples of its (per-rank)
        batch, so a 2-process run cannot equal a 1-process run of the same global batch (SyncBN
        needs CUDA). The train loop calls ``model.train()`` after ``before_train_epoch``, hence
        ``before_train_iter``.
        """

        priority = 'LOW'

        def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
            for m in runner.model.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()

    @HOOKS.register_module()
    class KillAfterEpochHook(Hook):
        """Simulate a hard kill (SIGKILL) right after the checkpoint of ``epoch`` is saved.

        Priority LOWEST: runs after ``CheckpointHook`` (VERY_LOW) wrote ``epoch_<epoch>.pth``.
        """

        priority = 'LOWEST'

        def __init__(self, epoch: int) -> None:
            self.epoch = epoch

        def after_train_epoch(self, runner) -> None:
            if runner.epoch + 1 == self.epoch:
                os.kill(os.getpid(), signal.SIGKILL)

    @HOOKS.register_module()
    class DumpTrainStartStateHook(Hook):
        """Save the state the training loop starts from (after ``load_or_resume``).

        Writes ``<work_dir>/<file_name>`` with the optimizer wrapper state, the loop's epoch and
        iteration and the current learning rates.
        """

        priority = 'VERY_LOW'

        def __init__(self, file_name: str = 'train_start_state.pth') -> None:
            self.file_name = file_name

        def before_train(self, runner) -> None:
            torch.save(
                dict(
                    optimizer=runner.optim_wrapper.state_dict(),
                    epoch=runner.epoch,
                    iter=runner.iter,
                    lr=runner.optim_wrapper.get_lr(),
                ),
                osp.join(runner.work_dir, self.file_name),
            )


# --------------------------------------------------------------------------- configs
def tiny_model_cfg(head: str = 'fasr', codec: Optional[dict] = None, **kwargs) -> dict:
    """Tiny from-scratch video pose model.

    Args:
        head (str): ``'fasr'`` (FaSRHead, 8 channels, fixed flags, rough layer trainable) or
            ``'centre'`` (``TestCentreFrameHead``, a 1x1 conv on the centre frame).
        codec (dict, optional): Codec. Defaults to :data:`TINY_CODEC`.
        **kwargs: Overrides of the ``VideoTopdownPoseEstimator`` arguments.
    """
    from _tiny_models import PREPROCESSOR, TINY_HRNET, centre_head_cfg

    codec = codec or TINY_CODEC
    if head == 'fasr':
        # the head of the "fixed" config on the tiny HRNet's 8 channels, rough layer trainable
        head_cfg = Config.fromfile(FIXED_CONFIG).model.head.to_dict()
        head_cfg.update(in_channels=8, freeze_rough_layer=False, decoder=codec, init_cfg=None)
    elif head == 'centre':
        head_cfg = centre_head_cfg(codec)
    else:
        raise ValueError(f'unknown head {head!r}')
    cfg = dict(
        type='VideoTopdownPoseEstimator',
        freeze_backbone=False,
        backbone_bn='eval',
        data_preprocessor=PREPROCESSOR,
        backbone=TINY_HRNET,
        head=head_cfg,
        test_cfg=dict(flip_test=False, shift_heatmap=True),
    )
    cfg.update(kwargs)
    return cfg


def pipelines(codec: Optional[dict] = None) -> Tuple[list, list]:
    """Deterministic train pipeline (no random transform) and the test pipeline."""
    codec = codec or TINY_CODEC
    head = [
        dict(type='LoadFrameWindow', num_frames=3),
        dict(type='GetBBoxCenterScale', padding=1.25),
        dict(type='TopdownAffine', input_size=codec['input_size']),
    ]
    train = head + [
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs', meta_keys=META_KEYS),
    ]
    test = head + [dict(type='PackPoseInputs', meta_keys=META_KEYS)]
    return train, test


def write_config(path: str, base: str = BASE_RUNTIME, test_imports: bool = True, **entries) -> str:
    """Write an mmengine config file inheriting ``base``.

    Every keyword becomes a top-level config variable (``repr`` of plain Python values).

    Args:
        path (str): Config file to write.
        base (str): The ``_base_`` config. Defaults to ``configs/_base_/default_runtime.py``.
        test_imports (bool): ``custom_imports`` also loads ``_tiny_models`` and this module
            (test-only components; needs ``tests/`` on ``PYTHONPATH``). Otherwise only the
            plugin is imported. Defaults to True.
        **entries: Top-level config variables.

    Returns:
        str: ``path``.
    """
    imports = ['fasrnet_mmpose'] + (['_tiny_models', '_train_helpers'] if test_imports else [])
    lines = [
        '# Copyright (c) OpenMMLab. All rights reserved.',
        f'_base_ = [{base!r}]',
        f'custom_imports = dict(imports={imports!r}, allow_failed_imports=False)',
    ]
    lines += [f'{key} = {value!r}' for key, value in entries.items()]
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def train_config(
    path: str,
    ann_file: str,
    data_root: str,
    *,
    max_epochs: int = 2,
    batch_size: int = 2,
    head: str = 'fasr',
    shuffle: bool = False,
    optimizer: Optional[dict] = None,
    param_scheduler: Optional[list] = None,
    extra_hooks: Sequence[dict] = (),
    gt_folder: Optional[str] = None,
    **entries,
) -> str:
    """Epoch-based tiny training config on a synthetic PoseTrack dataset.

    Deterministic: no random transform, seeded, ``num_workers=0``, log every iteration with
    ``window_size=1`` (the logged value is the iteration's, not a running mean), a checkpoint
    every epoch. Validation (every epoch) only when ``gt_folder`` is given.

    Args:
        path (str): Config file to write.
        ann_file (str): COCO-style annotation file (from ``_synthetic.make_video_dataset``).
        data_root (str): Image root (``file_name`` is relative to it).
        max_epochs (int): Epochs. Defaults to 2.
        batch_size (int): Per-process batch size. Defaults to 2.
        head (str): See :func:`tiny_model_cfg`. Defaults to ``'fasr'``.
        shuffle (bool): Shuffle the training set (seeded per epoch). Defaults to False.
        optimizer (dict, optional): Defaults to ``SGD(lr=0.05, momentum=0.9)``.
        param_scheduler (list, optional): Defaults to None (constant LR).
        extra_hooks (Sequence[dict]): Appended to ``custom_hooks`` (after ``SyncBuffersHook``).
        gt_folder (str, optional): Per-video PT18 GT folder for ``PoseTrackMAPMetric``.
        **entries: Further top-level config variables (override the above).

    Returns:
        str: ``path``.
    """
    train_pipeline, test_pipeline = pipelines()
    dataset = dict(
        type='PoseTrackVideoDataset',
        version='pt18',
        ann_file=ann_file,
        data_root=data_root,
        data_prefix=dict(img=''),
    )
    cfg = dict(
        model=tiny_model_cfg(head),
        randomness=dict(seed=0),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        optim_wrapper=dict(optimizer=optimizer or dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=param_scheduler,
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1),
        ),
        custom_hooks=[dict(type='SyncBuffersHook')] + list(extra_hooks),
        log_processor=dict(type='LogProcessor', window_size=1, by_epoch=True),
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=shuffle),
            dataset=dict(dataset, pipeline=train_pipeline),
        ),
    )
    if gt_folder is None:
        cfg.update(
            dict.fromkeys(
                f'{split}_{part}'
                for split in ('val', 'test')
                for part in ('cfg', 'dataloader', 'evaluator')
            )
        )
    else:
        val_dataloader = dict(
            batch_size=batch_size,
            num_workers=0,
            drop_last=False,
            sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
            dataset=dict(dataset, test_mode=True, pipeline=test_pipeline),
        )
        evaluator = dict(type='PoseTrackMAPMetric', gt_folder=gt_folder, format='pt18')
        cfg.update(
            val_dataloader=val_dataloader,
            test_dataloader=val_dataloader,
            val_evaluator=evaluator,
            test_evaluator=evaluator,
        )
    cfg.update(entries)
    return write_config(path, **cfg)


def synthetic_data(tmp: str, nframes: int, labelled: Sequence[int], gt: bool = True) -> dict:
    """A synthetic PoseTrack18 video (``_synthetic.make_video_dataset``) and its GT folder.

    Args:
        tmp (str): Folder that receives ``data/`` and ``gt/``.
        nframes (int): Frames of the video.
        labelled (Sequence[int]): The labelled frames (2 persons each).
        gt (bool): Also write the per-video GT folder. Defaults to True.

    Returns:
        dict: :func:`train_config` keywords: ``data_root``, ``ann_file`` and (with ``gt``)
        ``gt_folder``.
    """
    from _synthetic import make_video_dataset

    root = osp.join(str(tmp), 'data')
    data = dict(data_root=root, ann_file=make_video_dataset(root, nframes, labelled=labelled))
    if gt:
        data['gt_folder'] = write_pt18_gt(data['ann_file'], osp.join(str(tmp), 'gt'))
    return data


def write_pt18_gt(ann_file: str, gt_folder: str, video: str = '000001_test') -> str:
    """Per-video PoseTrack18 GT file for a synthetic dataset (head box = 10x10 at the nose).

    Args:
        ann_file (str): Annotation file of ``_synthetic.make_video_dataset``.
        gt_folder (str): Output folder.
        video (str): Video folder name (the file is ``<gt_folder>/<video>.json``).

    Returns:
        str: ``gt_folder``.
    """
    from fasrnet_mmpose.evaluation.functional import PT18_KEYPOINTS

    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    anns = []
    for ann in data['annotations']:
        x, y = ann['keypoints'][0], ann['keypoints'][1]
        anns.append(dict(ann, bbox_head=[x - 5, y - 5, 10, 10]))
    gt = dict(
        images=[
            dict(id=im['id'], file_name=im['file_name'], is_labeled=True) for im in data['images']
        ],
        annotations=anns,
        categories=[dict(id=1, name='person', keypoints=list(PT18_KEYPOINTS))],
    )
    os.makedirs(gt_folder, exist_ok=True)
    with open(osp.join(gt_folder, f'{video}.json'), 'w', encoding='utf-8') as f:
        json.dump(gt, f)
    return gt_folder


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def subprocess_env(**extra: str) -> Dict[str, str]:
    """Environment of the tool subprocesses: ``tests/`` on PYTHONPATH, one intra-op thread.

    One thread per process keeps small CPU ops fast on a shared 2-core machine (2 OpenMP threads
    per process make small ops 100x slower when the cores are contended) and lets the 2-process
    run use one core per rank.
    """
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [TESTS_DIR, PROJECT_ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    )
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.update(extra)
    return env


def run_tool(
    args: List[str],
    timeout: float = 300,
    check: bool = True,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
) -> subprocess.CompletedProcess:
    """Run a command (e.g. ``[sys.executable, 'tools/train.py', ...]``).

    Args:
        args (list[str]): Command.
        timeout (float): Seconds. Defaults to 300.
        check (bool): Assert exit status 0 (the log tail is the assertion message).
        env (dict, optional): Defaults to :func:`subprocess_env`.
        cwd (str, optional): Working directory. Defaults to the project root.
    """
    proc = subprocess.run(
        args,
        cwd=cwd or PROJECT_ROOT,
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f'{" ".join(args)} failed ({proc.returncode}):\n' + log[-6000:]
    return proc


def train_cmd(config: str, work_dir: str, *extra: str) -> List[str]:
    """``python tools/train.py CONFIG --work-dir WORK_DIR ...``."""
    return [sys.executable, osp.join(TOOLS_DIR, 'train.py'), config, '--work-dir', work_dir, *extra]


# --------------------------------------------------------------------------- logs
def run_dirs(work_dir: str) -> List[str]:
    """Timestamp folders of a work dir, oldest first."""
    return sorted(osp.join(work_dir, d) for d in os.listdir(work_dir) if TIMESTAMP.match(d))


def read_scalars(run_dir: str) -> Tuple[List[dict], List[dict]]:
    """Training and validation records of ``<run_dir>/vis_data/scalars.json``.

    Returns:
        tuple[list[dict], list[dict]]: Records with ``lr`` (training) and the others.
    """
    train, val = [], []
    with open(osp.join(run_dir, 'vis_data', 'scalars.json'), encoding='utf-8') as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                (train if 'lr' in record else val).append(record)
    return train, val


def load_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """Model ``state_dict`` of an mmengine checkpoint (our own test output: full unpickling)."""
    return torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
