# Copyright (c) OpenMMLab. All rights reserved.
"""Every shipped config parses and builds; the DCPose config reproduces the official DCPose head."""

import glob
import os.path as osp

import mmpose
import numpy as np
import pytest
import torch
from conftest import PROJECT_ROOT, shared_path
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, METRICS, MODELS

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

CONFIGS = sorted(
    c for c in glob.glob(osp.join(PROJECT_ROOT, 'configs', '*', '*.py')) if '_base_' not in c
)
MAIN = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)
DCPOSE = osp.join(
    PROJECT_ROOT, 'configs', 'dcpose', 'dcpose_hrnet-w48_2xb32-20e_posetrack17-384x288.py'
)


def _num(module, trainable=False):
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)


def test_config_names_follow_mmpose_convention():
    names = [osp.basename(c) for c in CONFIGS]
    assert len(names) >= 7
    for name in names:
        # {algorithm}_{backbone}_{training}_{data}-{size}.py
        parts = name[:-3].split('_')
        assert len(parts) == 4 and parts[1] == 'hrnet-w48', name
        assert parts[3].startswith(('posetrack17', 'posetrack18')) and '384x288' in parts[3], name


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_parses_with_plugin_components(path, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['fasrnet_mmpose']
    assert cfg.default_scope == 'mmpose'
    init_default_scope('mmpose')
    for key, registry in (('model', MODELS),):
        assert registry.get(cfg[key]['type']) is not None
    assert DATASETS.get(cfg.dataset_type) is not None
    assert cfg.data_mode == 'topdown'
    assert METRICS.get(cfg.val_evaluator['type']) is not None
    # the PoseTrack mAP key the checkpoint hook saves the best model on exists in the metric
    assert cfg.default_hooks.checkpoint.save_best in ('posetrack/AP', 'posetrack/Total AP')
    assert cfg.auto_scale_lr.base_batch_size > 0
    # the evaluator builds (its arguments are the metric's); the metric checks its GT folder when
    # built, so the config's (data/posetrack1x/annotations/val/) is replaced by a local one
    assert cfg.val_evaluator.gt_folder == cfg.data_root + 'annotations/val/'
    (tmp_path / '000001_test.json').write_text('{}')
    METRICS.build(dict(cfg.val_evaluator, gt_folder=str(tmp_path)))


def test_main_config_builds_official_model_with_spec_parameter_counts():
    init_default_scope('mmpose')
    cfg = Config.fromfile(MAIN)
    model = MODELS.build(cfg.model)
    assert _num(model) == 65_395_439
    assert _num(model, trainable=True) == 1_799_694
    assert model.freeze_backbone and model.backbone_bn == 'train_mode'
    assert cfg.test_cfg == {} or cfg.model.test_cfg['flip_test'] is False
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.param_scheduler[0].milestones == [9, 17, 21, 25]
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.val_dataloader.dataset.filter_cfg.bbox_score_thr == 0.2


def test_hrnet_w48_is_mmpose_coco_hrnet_w48_with_one_definition():
    """The one HRNet-W48 definition (configs/_base_/models/hrnet_w48.py) is the backbone of
    mmpose's COCO HRNet-W48 384x288 (whose checkpoint the configs load) with only the
    high-resolution output; every config inherits it and hrnet_w48() reads it."""
    mmpose_cfg = osp.join(
        osp.dirname(mmpose.__file__),
        '.mim',
        'configs',
        'body_2d_keypoint',
        'topdown_heatmap',
        'coco',
        'td-hm_hrnet-w48_8xb32-210e_coco-384x288.py',
    )
    if not osp.exists(mmpose_cfg):
        pytest.skip(f'{mmpose_cfg} is not shipped with this mmpose install')
    coco = Config.fromfile(mmpose_cfg).model.backbone.to_dict()
    coco.pop('init_cfg')
    coco['extra']['stage4']['multiscale_output'] = False
    ours = hrnet_w48()
    assert ours == coco
    # a fresh copy on every call
    ours['extra']['stage4']['num_channels'] = (1,)
    assert hrnet_w48()['extra']['stage4']['num_channels'] == (48, 96, 192, 384)
    for path in CONFIGS:
        with open(path, encoding='utf-8') as f:
            assert "type='HRNet'" not in f.read(), f'{path} writes HRNet out again'
        backbone = Config.fromfile(path).model.backbone.to_dict()
        backbone.pop('init_cfg', None)
        assert backbone == hrnet_w48(), path


@pytest.mark.parametrize(
    ('path', 'dataset_name'),
    [
        (MAIN, 'posetrack17'),
        (DCPOSE, 'posetrack17'),
        (MAIN.replace('posetrack17', 'posetrack18'), 'posetrack18'),
    ],
    ids=osp.basename,
)
def test_dataset_meta_names_the_dataset(path, dataset_name, tmp_path):
    """The PoseTrack17 configs' datasets say 'posetrack17' (mmpose's PoseTrack18 keypoint
    definition, renamed), the PoseTrack18 config 'posetrack18'."""
    from _synthetic import make_video_dataset

    version = 'pt18' if dataset_name == 'posetrack18' else 'pt17'
    ann = make_video_dataset(str(tmp_path), labelled=(1, 3, 7), version=version)  # pt17: 1-based
    cfg = Config.fromfile(path)
    init_default_scope('mmpose')
    for split in ('train', 'val', 'test'):
        dataset = dict(
            cfg[f'{split}_dataloader'].dataset,
            ann_file=ann,
            bbox_file=None,
            data_root=str(tmp_path),
            pipeline=[],
        )
        meta = DATASETS.build(dataset).metainfo
        assert meta['dataset_name'] == dataset_name, split
        assert meta['num_keypoints'] == 17 and meta['keypoint_id2name'][0] == 'nose'


@pytest.mark.parametrize(
    'name,trainable',
    [
        (
            'fasrnet-frm-only_hrnet-w48_1xb64-30e_posetrack17-384x288.py',
            545_196 * 2 + 173_424 + 833,
        ),
        ('fasrnet-srm-only_hrnet-w48_1xb64-30e_posetrack17-384x288.py', 535_045),
    ],
)
def test_ablation_configs(name, trainable):
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(PROJECT_ROOT, 'configs', 'fasrnet', name))
    head = MODELS.build(cfg.model.head)
    assert _num(head, trainable=True) == trainable
    x = torch.randn(2, 3, 48, 16, 12)
    hf, hs = head(x)
    assert hf.shape == hs.shape == (2, 17, 16, 12)
    if 'frm-only' in name:
        assert head.srm is None and torch.equal(hf, hs)
    else:
        assert head.frm is None
        torch.testing.assert_close(hf, head.final_layer(x[:, 0]))  # the rough heatmap of t


def test_fixed_config_flags():
    cfg = Config.fromfile(
        osp.join(
            PROJECT_ROOT,
            'configs',
            'fasrnet',
            'fasrnet-fixed_hrnet-w48_1xb64-30e_posetrack17-384x288.py',
        )
    )
    head = cfg.model.head
    assert (head.align_direction, head.dcn_offset_padding, head.dcn_offset_init) == (
        'neighbour_to_current',
        'same',
        'zero',
    )
    assert cfg.model.backbone_bn == 'eval' and head.srm_mask_sigmoid is True


def test_dcpose_config_head_reproduces_official_dcpose_fixture():
    """DCPose as a second model from the same components: load the official DCPose head weights
    into the head built from the DCPose config and compare with the official outputs."""
    with np.load(
        shared_path('fixtures', 'dcpose_head', 'dcpose_head_official.npz'), allow_pickle=False
    ) as z:
        fx = {k: z[k] for k in z.files}
    from fasrnet_mmpose.utils import official_checkpoint as conv

    init_default_scope('mmpose')
    cfg = Config.fromfile(DCPOSE)
    cfg.model.head.init_cfg = None
    head = MODELS.build(cfg.model.head)
    assert _num(head, trainable=True) == 1_603_053  # DCPose's trainable head (architecture.md §8)
    state = {
        'srm.' + conv.official_srm_key_to_plugin(k[len('state_dict/') :]): torch.from_numpy(v)
        for k, v in fx.items()
        if k.startswith('state_dict/')
    }
    missing, unexpected = head.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) == {'final_layer.weight', 'final_layer.bias'}
    head.eval()
    rough = torch.from_numpy(fx['inputs/rough_heatmaps'])  # [cur; prev; next] stacking
    b = rough.shape[0] // 3
    rough = rough.view(3, b, *rough.shape[1:]).transpose(0, 1)  # [B, T=3, K, h, w]
    feats = torch.zeros(b, 3, 48, *rough.shape[-2:])  # unused by an SRM-only head
    with torch.no_grad():
        _, out = head.refine(feats, rough, torch.from_numpy(fx['inputs/margin']).float())
    torch.testing.assert_close(out, torch.from_numpy(fx['outputs/heatmaps']), atol=1e-5, rtol=1e-4)
