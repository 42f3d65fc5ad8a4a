# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch
from _tiny_models import tiny_estimator_cfg
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

B, T, H, W = 2, 3, 64, 48


def make_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (T, 3, H, W), generator=g, dtype=torch.uint8) for _ in range(B)]
    samples = []
    flip_indices = [0, 1, 2, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    for _ in range(B):
        s = PoseDataSample()
        s.set_metainfo(
            dict(
                input_size=(W, H),
                input_center=np.array([24.0, 32.0]),
                input_scale=np.array([48.0, 64.0]),
                flip_indices=flip_indices,
                margin=np.array([1, 1]),
            )
        )
        s.gt_instances = InstanceData(
            bboxes=np.array([[0.0, 0.0, 48.0, 64.0]]), bbox_scores=np.ones(1)
        )
        s.gt_fields = PixelData(heatmaps=torch.rand(17, 16, 12, generator=g))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_backbone_runs_once_on_all_frames():
    model = MODELS.build(tiny_estimator_cfg())
    calls = []
    model.backbone.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape)))
    data = model.data_preprocessor(make_batch())
    feats = model.extract_feat(data['inputs'])
    assert calls == [(B * T, 3, H, W)]
    assert len(feats) == 1 and feats[0].shape == (B, T, 8, 16, 12)
    # frame t of sample b is the backbone output of crop b*T + t
    with torch.no_grad():
        model.eval()
        single = model.backbone(data['inputs'][1, 2:3])[0]
        torch.testing.assert_close(
            model.extract_feat(data['inputs'])[0][1, 2], single[0], rtol=1e-4, atol=1e-4
        )


def test_loss_predict_and_flip_test():
    model = MODELS.build(tiny_estimator_cfg())
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert 'loss_kpt' in losses and torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    assert model.backbone.conv1.weight.grad is not None  # not frozen here
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(make_batch()), mode='predict')
    assert len(preds) == B
    assert preds[0].pred_instances.keypoints.shape == (1, 17, 2)
    assert preds[0].pred_instances.keypoint_scores.shape == (1, 17)
    # tensor mode exposes the head output
    out = model(model.data_preprocessor(make_batch())['inputs'], None, mode='tensor')
    assert out.shape == (B, 17, 16, 12)


def test_flip_test_sees_every_frame_flipped():
    model = MODELS.build(tiny_estimator_cfg()).eval()
    seen = []
    model.backbone.register_forward_hook(lambda m, i, o: seen.append(i[0].clone()))
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():
        model(**data, mode='predict')
    assert len(seen) == 2
    torch.testing.assert_close(seen[1], data['inputs'].flatten(0, 1).flip(-1))


def test_frozen_backbone_gets_no_gradient_and_no_graph():
    model = MODELS.build(tiny_estimator_cfg(freeze_backbone=True))
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    data = model.data_preprocessor(make_batch(), training=True)
    feats = model.extract_feat(data['inputs'])
    assert not feats[0].requires_grad and feats[0].grad_fn is None  # no stored activations
    losses = model(**data, mode='loss')
    losses['loss_kpt'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())


@pytest.mark.parametrize('mode,updates', [('train_mode', True), ('eval', False)])
def test_backbone_bn_modes(mode, updates):
    model = MODELS.build(tiny_estimator_cfg(freeze_backbone=True, backbone_bn=mode))
    model.train()
    bn = model.backbone.norm1
    assert bn.training is updates
    before = bn.running_mean.clone()
    with torch.no_grad():
        model.extract_feat(model.data_preprocessor(make_batch())['inputs'])
    assert (not torch.equal(before, bn.running_mean)) is updates
    assert model.head.training  # the head always follows model.train()
    with pytest.raises(ValueError, match='backbone_bn'):
        MODELS.build(tiny_estimator_cfg(backbone_bn='frozen'))


def test_state_dict_keys_and_hrnet_checkpoint_compatibility():
    model = MODELS.build(tiny_estimator_cfg())
    keys = model.state_dict().keys()
    assert all(k.startswith(('backbone.', 'head.')) for k in keys)
    # a single-frame mmpose TopdownPoseEstimator with the same backbone/head loads strictly
    cfg = tiny_estimator_cfg()
    cfg['type'] = 'TopdownPoseEstimator'
    cfg['data_preprocessor'] = dict(type='PoseDataPreprocessor')
    single = MODELS.build(cfg)
    model.load_state_dict(single.state_dict(), strict=True)


def test_single_frame_input_is_repeated_over_the_window():
    """A [B, 3, H, W] input (mmpose's get_flops.py calls _forward on one image) runs the whole
    3-frame model on [t, t, t], exactly like the stacked [B, 3, 3, H, W] input."""
    from _train_helpers import tiny_model_cfg

    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg('fasr')).eval()
    crops = []
    model.backbone.register_forward_hook(lambda m, i, o: crops.append(tuple(i[0].shape)))
    x = torch.randn(2, 3, H, W)
    with torch.no_grad():
        single = model._forward(x)
        window = model._forward(x.unsqueeze(1).repeat(1, 3, 1, 1, 1))
    assert crops == [(2 * 3, 3, H, W)] * 2
    assert [h.shape for h in single] == [(2, 17, 16, 12)] * 2  # (H^F, H^S)
    torch.testing.assert_close(single, window)
