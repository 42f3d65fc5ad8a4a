# Copyright (c) OpenMMLab. All rights reserved.
"""A mistyped ``gt_folder`` / ``outfile_prefix`` stops train and test before the first iteration.

mmengine's ``Runner.train()`` builds the val loop (and its evaluator, i.e. the metric) and
``Runner.test()`` the test loop before any iteration runs: the metric checks its paths when it is
built, so the error comes before the first training/testing iteration, not after the loop.
"""

import os.path as osp

import pytest
from _train_helpers import synthetic_data, train_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner


class _IterationStarted(RuntimeError):
    pass


class _FailOnFirstIteration(Hook):
    """Raises when the first train/val/test iteration starts."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        raise _IterationStarted('a training iteration ran')

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        raise _IterationStarted('a validation iteration ran')

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        raise _IterationStarted('a test iteration ran')


def _runner(tmp_path, name, **evaluator):
    data = synthetic_data(tmp_path, nframes=8, labelled=(0, 3))
    path = train_config(str(tmp_path / f'{name}.py'), **data)
    cfg = Config.fromfile(path)
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].update(evaluator)
    cfg.work_dir = str(tmp_path / f'work_{name}')
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_FailOnFirstIteration(), priority='HIGHEST')
    return runner


@pytest.mark.parametrize('mode', ['train', 'test'])
def test_mistyped_gt_folder(tmp_path, mode):
    typo = str(tmp_path / 'annotations' / 'vall')
    runner = _runner(tmp_path, mode, gt_folder=typo)
    with pytest.raises(FileNotFoundError) as e:
        getattr(runner, mode)()
    message = str(e.value)
    assert 'gt_folder' in message and typo in message and '\n' not in message


@pytest.mark.parametrize('mode', ['train', 'test'])
def test_mistyped_output_folder(tmp_path, mode):
    typo = osp.join(str(tmp_path), 'wrok_dirs', 'preds')  # parent folder does not exist
    runner = _runner(tmp_path, mode, outfile_prefix=typo)
    with pytest.raises(FileNotFoundError) as e:
        getattr(runner, mode)()
    message = str(e.value)
    assert 'outfile_prefix' in message and typo in message and '\n' not in message


def test_valid_paths_reach_the_first_iteration(tmp_path):
    """Control: with correct paths the runs do reach their first iteration."""
    runner = _runner(tmp_path, 'ok', outfile_prefix=str(tmp_path / 'preds'))
    with pytest.raises(_IterationStarted, match='training'):
        runner.train()
    runner = _runner(tmp_path, 'ok_test', outfile_prefix=str(tmp_path / 'preds'))
    with pytest.raises(_IterationStarted, match='test'):
        runner.test()
