# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/plot_log.py`` on the output of a real short training run with validation."""

import json
import os
import os.path as osp
import sys

import pytest
from _train_helpers import read_scalars, run_dirs, run_tool, synthetic_data, train_cmd, train_config
from conftest import PROJECT_ROOT, load_tool

PLOT_LOG = osp.join(PROJECT_ROOT, 'tools', 'plot_log.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    """2 epochs of the tiny FaSRnet with PoseTrack mAP validation after each epoch."""
    tmp = tmp_path_factory.mktemp('plot')
    cfg = train_config(
        str(tmp / 'cfg.py'),
        **synthetic_data(tmp, nframes=8, labelled=(0, 3, 7)),
        max_epochs=2,
        batch_size=3,
        optimizer=dict(type='Adam', lr=1e-3),
        param_scheduler=[dict(type='MultiStepLR', milestones=[1], gamma=0.5)],
    )
    work = str(tmp / 'work')
    run_tool(train_cmd(cfg, work))
    return work


def test_run_logged_losses_lr_and_posetrack_ap(work_dir):
    (run_dir,) = run_dirs(work_dir)
    train, val = read_scalars(run_dir)
    assert {'loss', 'loss_kpt', 'mse_frm', 'mse_srm', 'lr'} <= set(train[0])
    assert [r['step'] for r in val] == [1, 2]
    assert all('posetrack/AP' in r for r in val)


def test_plot_log_cli_writes_a_png(work_dir, tmp_path):
    out = str(tmp_path / 'curves.png')
    proc = run_tool([sys.executable, PLOT_LOG, work_dir, '--out', out], timeout=120)
    assert f'saved {out}' in proc.stdout
    assert 'best_metric=' in proc.stdout and 'last_lr=' in proc.stdout
    with open(out, 'rb') as f:
        head = f.read(24)
    assert head[:8] == PNG_MAGIC
    width, height = int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')
    assert (width, height) == (900, 1000)
    assert os.path.getsize(out) > 20_000  # three panels with curves, not an empty canvas


def test_plot_log_default_output_and_series(work_dir):
    plot_log = load_tool('plot_log')
    out = plot_log.plot_log(work_dir)
    assert out == osp.join(work_dir, 'training_curves.png') and osp.exists(out)
    train, val = plot_log.load_scalars(plot_log.find_scalars_json(work_dir))
    assert plot_log.loss_keys(train) == ['loss', 'loss_kpt', 'mse_frm', 'mse_srm']
    assert plot_log.lr_keys(train) == ['lr']
    keys = plot_log.metric_keys(val, 'posetrack/AP')
    assert keys[0] == 'posetrack/AP' and 'posetrack/Head AP' in keys
    assert 'posetrack/Total AP' not in keys  # duplicate of posetrack/AP
    summary = plot_log.summarize(work_dir)
    assert summary['last_iter'] == 2 * 2  # 6 samples / batch 3 = 2 iterations x 2 epochs
    assert summary['last_lr'] == pytest.approx(5e-4)
    assert summary['best_step'] in (1, 2)
    # validation placed at the iteration it follows: end of epoch 1 (iter 2) or 2 (iter 4)
    assert summary['best_iter'] == 2 * summary['best_step']


def test_find_scalars_json_uses_the_latest_run_and_skips_broken_lines(tmp_path):
    plot_log = load_tool('plot_log')
    for stamp, loss in (('20240101_000000', 1.0), ('20240102_000000', 2.0)):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        lines = [
            json.dumps(dict(lr=0.1, loss=loss, iter=1, step=1)),
            json.dumps({'posetrack/AP': 50.0, 'step': 1}),
            '{"lr": 0.1, "loss": 3.0, "it',
        ]  # a run killed while writing
        (vis / 'scalars.json').write_text('\n'.join(lines))
    (tmp_path / 'not_a_run').mkdir()
    found = plot_log.find_scalars_json(str(tmp_path))
    assert found == str(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json')
    train, val = plot_log.load_scalars(found)
    assert [r['loss'] for r in train] == [2.0] and [r['posetrack/AP'] for r in val] == [50.0]
    # single points still draw
    out = plot_log.plot_log(found, str(tmp_path / 'p.png'))
    assert osp.exists(out)
    with pytest.raises(FileNotFoundError, match='scalars'):
        plot_log.find_scalars_json(str(tmp_path / 'not_a_run'))


def test_iteration_based_validation_is_placed_at_its_iteration(tmp_path):
    plot_log = load_tool('plot_log')
    lines = [
        dict(lr=0.1, loss=1.0, iter=20, step=20),
        {'posetrack/AP': 10.0, 'step': 25},
        dict(lr=0.1, loss=0.5, iter=40, step=40),
        {'posetrack/AP': 30.0, 'step': 50},
    ]
    scalars = tmp_path / 'scalars.json'
    scalars.write_text('\n'.join(json.dumps(r) for r in lines))
    out = plot_log.plot_log(str(scalars), str(tmp_path / 'p.png'))
    assert osp.exists(out)
    summary = plot_log.summarize(str(scalars))
    assert summary['best_metric'] == 30.0 and summary['best_step'] == summary['best_iter'] == 50
