# Copyright (c) OpenMMLab. All rights reserved.
"""2-process CPU (gloo) training and testing through ``tools/dist_train.sh`` / ``dist_test.sh``
equal 1-process runs.

Both runs see the same global batches: 8 synthetic samples, ``DefaultSampler(shuffle=False)``
(rank ``r`` gets samples ``r, r+2, ...``), 2 samples per rank vs 4 in one process, no random
transform, the same seed (hence the same initial weights; DDP also broadcasts rank 0's).
The model is the tiny from-scratch FaSRnet (tiny HRNet + FaSRHead with the batch-independent
``dcn_offset_padding='same'``) with every BatchNorm in eval mode (``backbone_bn='eval'`` plus
``EvalBatchNormHook`` for the head's SRM): a sample's output does not depend on the other samples of
its batch, so the mean of the two ranks' losses is the 1-process loss of the same global batch and
DDP's gradient averaging gives the same update. SGD with momentum (unlike Adam) would expose a
gradient that is summed instead of averaged.

Compared: the per-iteration loss averaged over ranks (``GlobalLossHook`` writes it to mmengine's
``scalars.json`` as ``global_loss``; mmengine itself logs rank 0's local loss only) and the weights
of the checkpoints. Then the final checkpoint is tested with 2 processes (each rank predicts half
of the samples, ``PoseTrackMAPMetric`` gathers them) and with 1 process: same metrics, same
official-format prediction files.
"""

import json
import os.path as osp
import shutil
import sys

import pytest
import torch
from _train_helpers import (
    TOOLS_DIR,
    free_port,
    load_state_dict,
    read_scalars,
    run_dirs,
    run_tool,
    subprocess_env,
    synthetic_data,
    train_cmd,
    train_config,
)

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason='torch.distributed with the gloo backend is not available',
)

EPOCHS = 2
GLOBAL_BATCH = 4
LOSS_RTOL = 1e-4
WEIGHT_ATOL = 1e-5


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Train the same config once with 2 processes and once with 1 process."""
    tmp = tmp_path_factory.mktemp('dist')
    # 4 labelled frames x 2 persons = 8 samples = 2 global batches per epoch
    common = dict(
        synthetic_data(tmp, nframes=8, labelled=(0, 2, 5, 7)),
        max_epochs=EPOCHS,
        head='fasr',
        val_cfg=None,
        val_dataloader=None,
        val_evaluator=None,
        optimizer=dict(type='SGD', lr=0.5, momentum=0.9),
        extra_hooks=[dict(type='GlobalLossHook'), dict(type='EvalBatchNormHook')],
    )
    cfg_dist = train_config(str(tmp / 'cfg_dist.py'), batch_size=GLOBAL_BATCH // 2, **common)
    cfg_single = train_config(str(tmp / 'cfg_single.py'), batch_size=GLOBAL_BATCH, **common)

    dist_sh = osp.join(TOOLS_DIR, 'dist_train.sh')
    if shutil.which('bash') is None:
        pytest.skip('bash is needed to run tools/dist_train.sh')
    work_dist, work_single = str(tmp / 'work_dist'), str(tmp / 'work_single')
    env = subprocess_env(PYTHON=sys.executable, PORT=str(free_port()), MASTER_ADDR='127.0.0.1')
    run_tool(
        [
            'bash',
            dist_sh,
            cfg_dist,
            '2',
            '--work-dir',
            work_dist,
            '--cfg-options',
            'env_cfg.dist_cfg.backend=gloo',
        ],
        env=env,
        timeout=300,
    )
    run_tool(train_cmd(cfg_single, work_single), timeout=300)
    return dict(work_dist=work_dist, work_single=work_single, cfg=cfg_single, tmp=tmp)


def _losses(work_dir: str):
    (run_dir,) = run_dirs(work_dir)
    train, _ = read_scalars(run_dir)
    return train


def test_two_processes_ran_with_world_size_2(runs):
    work_dist, work_single = runs['work_dist'], runs['work_single']
    (run_dir,) = run_dirs(work_dist)
    log = open(osp.join(run_dir, osp.basename(run_dir) + '.log'), encoding='utf-8').read()
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert "'backend': 'gloo'" in log or 'backend=gloo' in log or "backend='gloo'" in log
    # same number of iterations: 8 samples / global batch 4 = 2 iterations per epoch in both runs
    assert [r['iter'] for r in _losses(work_dist)] == list(range(1, 2 * EPOCHS + 1))
    assert [r['iter'] for r in _losses(work_single)] == list(range(1, 2 * EPOCHS + 1))


def test_losses_match_single_process_run_of_the_same_global_batch(runs):
    work_dist, work_single = runs['work_dist'], runs['work_single']
    dist_records, single_records = _losses(work_dist), _losses(work_single)
    for d, s in zip(dist_records, single_records):
        # one process: the all-reduce is the identity
        assert s['global_loss'] == pytest.approx(s['loss'], rel=1e-6)
        assert d['global_loss'] == pytest.approx(s['loss'], rel=LOSS_RTOL), (d, s)
        assert d['lr'] == s['lr']
    # the comparison is not trivial: the ranks saw different samples (rank 0's local loss is
    # not the global one), and training changed the loss
    assert any(
        abs(d['loss'] - d['global_loss']) > 100 * LOSS_RTOL * d['global_loss'] for d in dist_records
    )
    first, last = single_records[0]['loss'], single_records[-1]['loss']
    assert abs(first - last) > 100 * LOSS_RTOL * first


def test_final_weights_match_single_process_run(runs):
    work_dist, work_single = runs['work_dist'], runs['work_single']
    for epoch in range(1, EPOCHS + 1):
        dist_sd = load_state_dict(osp.join(work_dist, f'epoch_{epoch}.pth'))
        single_sd = load_state_dict(osp.join(work_single, f'epoch_{epoch}.pth'))
        assert dist_sd.keys() == single_sd.keys()
        for key, value in single_sd.items():
            torch.testing.assert_close(
                dist_sd[key],
                value,
                atol=WEIGHT_ATOL,
                rtol=1e-4,
                msg=lambda m, key=key: f'{key} (epoch {epoch}): {m}',
            )
    # the updates are much larger than the tolerance (a wrong gradient reduction would show)
    sd1 = load_state_dict(osp.join(work_single, 'epoch_1.pth'))
    sd2 = load_state_dict(osp.join(work_single, f'epoch_{EPOCHS}.pth'))
    moved = max(
        (sd2[k].float() - sd1[k].float()).abs().max().item()
        for k in sd1
        if sd1[k].is_floating_point() and 'head.' in k
    )
    assert moved > 100 * WEIGHT_ATOL


def test_dist_test_equals_single_process_test(runs):
    """``dist_test.sh`` (2 ranks, results gathered by the metric) = ``tools/test.py``."""
    tmp, checkpoint = runs['tmp'], osp.join(runs['work_single'], f'epoch_{EPOCHS}.pth')
    out = {}
    for name in ('dist', 'single'):
        args = [
            checkpoint,
            '--work-dir',
            str(tmp / f'test_{name}'),
            '--out',
            str(tmp / f'metrics_{name}.json'),
            '--outfile-prefix',
            str(tmp / f'preds_{name}'),
        ]
        if name == 'dist':
            env = subprocess_env(
                PYTHON=sys.executable, PORT=str(free_port()), MASTER_ADDR='127.0.0.1'
            )
            run_tool(
                [
                    'bash',
                    osp.join(TOOLS_DIR, 'dist_test.sh'),
                    runs['cfg'],
                    args[0],
                    '2',
                    *args[1:],
                    '--cfg-options',
                    'env_cfg.dist_cfg.backend=gloo',
                ],
                env=env,
            )
        else:
            run_tool([sys.executable, osp.join(TOOLS_DIR, 'test.py'), runs['cfg'], *args])
        with open(tmp / f'metrics_{name}.json') as f:
            metrics = json.load(f)
        with open(tmp / f'preds_{name}' / '000001_test.json') as f:
            preds = json.load(f)
        out[name] = metrics, preds
    (m_dist, p_dist), (m_single, p_single) = out['dist'], out['single']
    assert m_dist.keys() == m_single.keys() and 'posetrack/AP' in m_dist
    for key, value in m_single.items():
        assert m_dist[key] == pytest.approx(value, abs=1e-6), key
    # every sample predicted once (8 persons), in the same places
    assert len(p_dist['annotations']) == len(p_single['annotations']) == 8
    # (compared as sets per frame: the order of persons within a frame is not part of the format)
    key = lambda a: (a['image_id'], [round(v) for v in a['keypoints']])  # noqa: E731
    for a, b in zip(
        sorted(p_dist['annotations'], key=key), sorted(p_single['annotations'], key=key)
    ):
        assert a['image_id'] == b['image_id']
        assert a['keypoints'] == pytest.approx(b['keypoints'], abs=1e-3)
        assert a['scores'] == pytest.approx(b['scores'], abs=1e-5)
