# Copyright (c) OpenMMLab. All rights reserved.
"""``mim train mmpose <config>`` and ``mim test mmpose <config> --checkpoint ...`` on a config that
inherits the shipped PoseTrack18 recipe (tiny backbone, synthetic data).

mim runs mmpose's own ``.mim/tools/train.py`` / ``test.py`` in a subprocess; the config's
``custom_imports = ['fasrnet_mmpose']`` must then find the installed plugin. The commands run
outside the checkout and without ``PYTHONPATH``, as a user of the installed package would.
"""

import os
import os.path as osp
import shutil
import sys

import pytest
from _tiny_models import TINY_HRNET
from _train_helpers import (
    PROJECT_ROOT,
    TINY_CODEC,
    pipelines,
    run_tool,
    subprocess_env,
    synthetic_data,
    write_config,
)

PT18_CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack18-384x288.py'
)
MIM = shutil.which('mim', path=osp.dirname(sys.executable)) or shutil.which('mim')

pytestmark = pytest.mark.skipif(MIM is None, reason='openmim (`mim`) is not installed')


def _env() -> dict:
    env = subprocess_env()
    env.pop('PYTHONPATH')  # the plugin must come from the installation
    # mim runs `python` from PATH: the interpreter of this venv
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    return env


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('mim')
    synthetic = synthetic_data(tmp, nframes=8, labelled=(0, 3))
    gt = synthetic['gt_folder']
    train_pipeline, test_pipeline = pipelines()
    data = dict(data_root=synthetic['data_root'] + '/', ann_file=synthetic['ann_file'])
    cfg = write_config(
        str(tmp / 'fasrnet_tiny_posetrack18.py'),
        base=PT18_CONFIG,
        test_imports=False,
        # the recipe with a tiny backbone (still frozen), no downloads, 64x48 input
        model=dict(
            backbone=dict(TINY_HRNET, _delete_=True),
            head=dict(in_channels=8, init_cfg=None, decoder=TINY_CODEC),
        ),
        train_cfg=dict(max_epochs=1),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(data, pipeline=train_pipeline),
        ),
        val_dataloader=dict(
            batch_size=2,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(data, bbox_file=None, pipeline=test_pipeline),
        ),
        # `test_dataloader = val_dataloader` in the recipe copied the recipe's one: override both
        test_dataloader=dict(
            batch_size=2,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(data, bbox_file=None, pipeline=test_pipeline),
        ),
        val_evaluator=dict(gt_folder=gt),
        test_evaluator=dict(gt_folder=gt),
    )
    return dict(tmp=tmp, cfg=cfg)


def test_mim_train_and_test_mmpose_with_plugin_config(setup):
    tmp, cfg = setup['tmp'], setup['cfg']
    work = str(tmp / 'work')
    proc = run_tool(
        [MIM, 'train', 'mmpose', cfg, '--work-dir', work], env=_env(), timeout=300, cwd=str(tmp)
    )
    log = proc.stdout + proc.stderr
    assert 'Training finished successfully' in log, log[-3000:]
    assert 'FaSRHead' in log and 'loss_kpt' in log and 'mse_srm' in log
    # the recipe's validation with the PoseTrack mAP ran after the epoch
    assert 'posetrack/AP' in log
    assert osp.exists(osp.join(work, 'epoch_1.pth'))

    proc = run_tool(
        [
            MIM,
            'test',
            'mmpose',
            cfg,
            '--checkpoint',
            osp.join(work, 'epoch_1.pth'),
            '--work-dir',
            str(tmp / 'test_work'),
        ],
        env=_env(),
        timeout=300,
        cwd=str(tmp),
    )
    log = proc.stdout + proc.stderr
    assert 'Testing finished successfully' in log, log[-3000:]
    assert 'posetrack/AP' in log
