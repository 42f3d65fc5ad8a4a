# Copyright (c) OpenMMLab. All rights reserved.
"""Kill a training run after its epoch-1 checkpoint, ``tools/train.py --resume``, and check it
continues exactly like an uninterrupted run.

Deterministic setup: synthetic data, no random transform, seeded shuffling (``DefaultSampler``
reseeds per epoch, so the resumed epoch 2 sees the uninterrupted run's order), one intra-op thread,
tiny from-scratch FaSRnet, Adam with a MultiStepLR drop at epoch 1 (the resumed run must not
restart the schedule at the base LR).
"""

import os.path as osp

import pytest
import torch
from _train_helpers import (
    load_state_dict,
    read_scalars,
    run_dirs,
    run_tool,
    synthetic_data,
    train_cmd,
    train_config,
)

EPOCHS = 2
BASE_LR = 1e-3
# epoch 1 at 1e-3, epoch 2 at 1e-4
SCHEDULE = [dict(type='MultiStepLR', milestones=[1], gamma=0.1, by_epoch=True)]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('resume')
    # 3 labelled frames x 2 persons = 6 samples, batch 2: 3 iterations per epoch
    common = dict(
        synthetic_data(tmp, nframes=8, labelled=(0, 3, 7), gt=False),
        max_epochs=EPOCHS,
        head='fasr',
        shuffle=True,
        optimizer=dict(type='Adam', lr=BASE_LR),
        param_scheduler=SCHEDULE,
    )
    start_state = dict(type='DumpTrainStartStateHook')
    cfg = train_config(str(tmp / 'cfg.py'), extra_hooks=[start_state], **common)
    cfg_kill = train_config(
        str(tmp / 'cfg_kill.py'),
        extra_hooks=[start_state, dict(type='KillAfterEpochHook', epoch=1)],
        **common,
    )

    full, resumed = str(tmp / 'full'), str(tmp / 'resumed')
    run_tool(train_cmd(cfg, full))
    killed = run_tool(train_cmd(cfg_kill, resumed), check=False)
    return dict(full=full, resumed=resumed, killed=killed, cfg=cfg)


def test_run_was_killed_after_the_epoch_1_checkpoint(runs):
    killed, resumed = runs['killed'], runs['resumed']
    assert killed.returncode == -9, (killed.returncode, (killed.stdout + killed.stderr)[-3000:])
    assert osp.exists(osp.join(resumed, 'epoch_1.pth'))
    assert not osp.exists(osp.join(resumed, 'epoch_2.pth'))
    with open(osp.join(resumed, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_1.pth')


@pytest.fixture(scope='module')
def resumed_run(runs):
    """``tools/train.py CONFIG --work-dir SAME --resume`` (auto: the work dir's last checkpoint)."""
    resumed = runs['resumed']
    epoch_1 = torch.load(osp.join(resumed, 'epoch_1.pth'), map_location='cpu', weights_only=False)
    proc = run_tool(train_cmd(runs['cfg'], resumed, '--resume'))
    return dict(runs, epoch_1=epoch_1, log=proc.stdout + proc.stderr)


def test_resume_continues_from_epoch_1(resumed_run):
    resumed = resumed_run['resumed']
    assert 'resumed epoch: 1' in resumed_run['log']
    assert osp.exists(osp.join(resumed, 'epoch_2.pth'))
    start = torch.load(
        osp.join(resumed, 'train_start_state.pth'), map_location='cpu', weights_only=False
    )
    iters_per_epoch = resumed_run['epoch_1']['meta']['iter']
    assert iters_per_epoch == 3
    assert (start['epoch'], start['iter']) == (1, iters_per_epoch)
    # the resumed run's log holds epoch 2 only
    interrupted_dir, resumed_dir = run_dirs(resumed)
    train, _ = read_scalars(resumed_dir)
    assert [r['epoch'] for r in train] == [2] * iters_per_epoch
    assert [r['iter'] for r in train] == list(range(iters_per_epoch + 1, 2 * iters_per_epoch + 1))
    assert {r['epoch'] for r in read_scalars(interrupted_dir)[0]} == {1}


def test_resumed_lr_schedule_equals_uninterrupted_run(resumed_run):
    full_train, _ = read_scalars(run_dirs(resumed_run['full'])[0])
    _, resumed_dir = run_dirs(resumed_run['resumed'])
    resumed_train, _ = read_scalars(resumed_dir)
    full_epoch_2 = [r for r in full_train if r['epoch'] == 2]
    assert [r['lr'] for r in resumed_train] == [r['lr'] for r in full_epoch_2]
    assert resumed_train[0]['lr'] == pytest.approx(BASE_LR * 0.1)
    # and the LR the loop starts from (after load_or_resume) is already the epoch-2 one
    start = torch.load(
        osp.join(resumed_run['resumed'], 'train_start_state.pth'),
        map_location='cpu',
        weights_only=False,
    )
    assert start['lr']['lr'] == [pytest.approx(BASE_LR * 0.1)]


def test_resumed_optimizer_state_equals_checkpoint(resumed_run):
    saved = resumed_run['epoch_1']['optimizer']
    start = torch.load(
        osp.join(resumed_run['resumed'], 'train_start_state.pth'),
        map_location='cpu',
        weights_only=False,
    )
    loaded = start['optimizer']
    assert saved['state'].keys() == loaded['state'].keys()
    assert len(saved['state']) > 0
    for idx, state in saved['state'].items():
        for name in ('exp_avg', 'exp_avg_sq', 'step'):
            torch.testing.assert_close(loaded['state'][idx][name], state[name], rtol=0, atol=0)
    # Adam's moments are really non-trivial (3 steps of training)
    assert any(s['exp_avg'].abs().max() > 0 for s in saved['state'].values())
    assert [g['lr'] for g in loaded['param_groups']] == [pytest.approx(BASE_LR * 0.1)]


def test_resumed_final_weights_equal_uninterrupted_run(resumed_run):
    full_train, _ = read_scalars(run_dirs(resumed_run['full'])[0])
    resumed_train, _ = read_scalars(run_dirs(resumed_run['resumed'])[1])
    full_epoch_2 = [r for r in full_train if r['epoch'] == 2]
    for r, f in zip(resumed_train, full_epoch_2):
        assert r['loss'] == pytest.approx(f['loss'], rel=1e-5)

    full = load_state_dict(osp.join(resumed_run['full'], f'epoch_{EPOCHS}.pth'))
    resumed = load_state_dict(osp.join(resumed_run['resumed'], f'epoch_{EPOCHS}.pth'))
    assert full.keys() == resumed.keys()
    for key, value in full.items():
        torch.testing.assert_close(
            resumed[key], value, atol=1e-6, rtol=1e-5, msg=lambda m, key=key: f'{key}: {m}'
        )
    # epoch 2 changed the weights (the comparison is not trivially true)
    epoch_1 = resumed_run['epoch_1']['state_dict']
    assert any(not torch.equal(epoch_1[k], full[k]) for k in full if k.startswith('head.'))
