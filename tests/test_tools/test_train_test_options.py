# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/test.py --dump/--badcase`` and the ``--smoke`` mode of ``tools/train.py``/``test.py``,
end to end on a small synthetic PoseTrack18 video (subprocesses, as a user runs them)."""

import json
import os
import os.path as osp
import pickle
import sys

import pytest
import torch
from _http_server import serving
from _synthetic import make_video_dataset
from _train_helpers import (
    PROJECT_ROOT,
    TOOLS_DIR,
    run_tool,
    subprocess_env,
    tiny_model_cfg,
    train_cmd,
    train_config,
    write_pt18_gt,
)
from mmpose.registry import MODELS

PT18 = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack18-384x288.py'
)
#: mmengine's warning about mmpose's missing "function" registry (must not be printed)
REGISTRY_WARNING = 'Failed to search registry'
NUM_SAMPLES = 6  # 3 labelled frames x 2 persons


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Synthetic video, its PT18 GT folder, a tiny-model config and a checkpoint of it."""
    root = tmp_path_factory.mktemp('tools_data')
    ann = make_video_dataset(str(root / 'data'), nframes=8, labelled=(0, 3, 7))
    gt = write_pt18_gt(ann, str(root / 'gt'))
    config = train_config(str(root / 'tiny.py'), ann, str(root / 'data'), gt_folder=gt)
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg('fasr'))
    checkpoint = str(root / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return dict(root=root, ann=ann, gt=gt, config=config, checkpoint=checkpoint)


def _test_cmd(config: str, checkpoint: str, work_dir: str, *extra: str):
    return [
        sys.executable,
        osp.join(TOOLS_DIR, 'test.py'),
        config,
        checkpoint,
        '--work-dir',
        work_dir,
        *extra,
    ]


def test_dump_with_cfg_options_on_the_test_evaluator(data, tmp_path):
    """--dump turns test_evaluator into a list; --cfg-options test_evaluator.* still works."""
    dump = str(tmp_path / 'preds.pkl')
    out = str(tmp_path / 'metrics.json')
    proc = run_tool(
        _test_cmd(
            data['config'],
            data['checkpoint'],
            str(tmp_path / 'work'),
            '--dump',
            dump,
            '--out',
            out,
            '--cfg-options',
            f'test_evaluator.gt_folder={data["gt"]}',
            'test_evaluator.nms_mode=none',
        )
    )
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == NUM_SAMPLES
    assert all(p['pred_instances']['keypoints'].shape == (1, 17, 2) for p in preds)
    assert osp.isfile(out) and 'posetrack/AP' in open(out).read()
    assert REGISTRY_WARNING not in proc.stdout + proc.stderr


def test_badcase_on_video_samples(data, tmp_path):
    """mmpose's BadCaseAnalysisHook runs on the centre frames of 3-frame samples."""
    work = tmp_path / 'work'
    run_tool(_test_cmd(data['config'], data['checkpoint'], str(work), '--badcase'))
    (run,) = [d for d in os.listdir(work) if osp.isdir(work / d / 'badcase')]
    out_dir = work / run / 'badcase'
    with open(out_dir / 'results.json') as f:
        results = json.load(f)
    # a randomly initialised model: every person is a bad case (MSE of pixel coordinates >= 5)
    assert len(results) == NUM_SAMPLES
    assert all(r['KeypointMSELoss'] >= 5 and len(r['bbox'][0]) == 4 for r in results)
    images = [f for f in os.listdir(out_dir) if f.endswith('.jpg')]
    assert len(images) == NUM_SAMPLES


def test_smoke_train_and_test_of_the_real_config_offline(data, tmp_path):
    """--smoke: the PoseTrack18 recipe (HRNet-W48, FaSRHead, 384x288, persistent workers, COCO
    HRNet init_cfg) trains one epoch and tests on 2 samples without any download."""
    root = str(data['root'] / 'data')
    paths = [
        f'{split}_dataloader.dataset.{key}={value}'
        for split in ('train', 'val', 'test')
        for key, value in (('data_root', root), ('ann_file', data['ann']), ('bbox_file', 'None'))
        if not (split == 'train' and key == 'bbox_file')
    ]
    options = paths + [
        f'val_evaluator.gt_folder={data["gt"]}',
        f'test_evaluator.gt_folder={data["gt"]}',
    ]
    env = subprocess_env(TORCH_HOME=str(tmp_path / 'torch_home'))
    work = str(tmp_path / 'work')
    proc = run_tool(
        train_cmd(PT18, work, '--smoke', '2', '--cfg-options', *options), env=env, timeout=600
    )
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][1/1]' in log and 'Epoch(val) [1][1/1]' in log
    assert 'posetrack/AP' in log
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert not osp.exists(tmp_path / 'torch_home')  # nothing was downloaded
    assert REGISTRY_WARNING not in log
    proc = run_tool(
        _test_cmd(
            PT18, osp.join(work, 'epoch_1.pth'), work, '--smoke', '2', '--cfg-options', *options
        ),
        env=env,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert 'Epoch(test) [1/1]' in log and 'posetrack/AP' in log
    assert REGISTRY_WARNING not in log


def test_download_failure_names_the_smoke_option(data, tmp_path):
    """Without network the COCO HRNet download fails with one message naming --smoke."""
    with serving() as srv:  # serves nothing: every request is a 404
        url = srv.url('/td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth')
        proc = run_tool(
            train_cmd(
                PT18,
                str(tmp_path / 'work'),
                '--cfg-options',
                f'hrnet_coco={url}',
                f'model.backbone.init_cfg.checkpoint={url}',
                f'model.head.init_cfg.checkpoint={url}',
                f'train_dataloader.dataset.data_root={data["root"] / "data"}',
                f'train_dataloader.dataset.ann_file={data["ann"]}',
                'train_dataloader.num_workers=0',
                '--no-validate',
            ),
            env=subprocess_env(TORCH_HOME=str(tmp_path / 'torch_home')),
            check=False,
        )
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'HTTP 404' in log and '--smoke' in log and 'init_cfg=None' in log
