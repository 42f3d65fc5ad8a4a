# Copyright (c) OpenMMLab. All rights reserved.
"""Full FaSRnet model (mmpose HRNet-W48 + FaSRHead) at a reduced input size on CPU."""

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from fasrnet_mmpose.models.backbones_cfg import hrnet_w48

INPUT = (128, 96)  # H x W, reduced from 384 x 288 (heatmaps 32 x 24)
CODEC = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=3)
FLIP_INDICES = [0, 1, 2, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def _build(freeze_backbone=True, **head_kwargs):
    head = dict(type='FaSRHead', decoder=CODEC, freeze_rough_layer=freeze_backbone)
    head.update(head_kwargs)
    return MODELS.build(
        dict(
            type='VideoTopdownPoseEstimator',
            backbone=hrnet_w48(),
            head=head,
            freeze_backbone=freeze_backbone,
            test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False),
        )
    )


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    model = _build()
    model.init_weights()
    return model


def _samples(batch: int):
    h, w = INPUT[0] // 4, INPUT[1] // 4
    samples = []
    for i in range(batch):
        d = PoseDataSample(
            metainfo=dict(
                margin=np.array([1, 1 + i]),
                flip_indices=FLIP_INDICES,
                input_size=(INPUT[1], INPUT[0]),
                input_center=np.array([48.0, 64.0]),
                input_scale=np.array([96.0, 128.0]),
            )
        )
        d.gt_fields = PixelData(heatmaps=torch.rand(17, h, w))
        d.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        d.gt_instances = InstanceData(bboxes=np.zeros((1, 4)), bbox_scores=np.ones(1))
        samples.append(d)
    return samples


def test_parameter_counts_with_hrnet_w48(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(p.numel() for p in model.backbone.parameters()) + 833 == 63_595_745
    assert total == 65_395_439
    assert trainable == 1_799_694


def test_coco_hrnet_checkpoint_keys_load_unchanged(model):
    """mmpose's COCO HRNet-W48 (backbone.* + head.final_layer.*) loads into the FaSRnet model."""
    with torch.device('meta'):
        coco = MODELS.build(
            dict(
                type='TopdownPoseEstimator',
                backbone=hrnet_w48(),
                head=dict(
                    type='HeatmapHead', in_channels=48, out_channels=17, deconv_out_channels=None
                ),
            )
        )
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in coco.state_dict().items()}
    assert set(theirs) <= set(ours)
    assert all(ours[k] == s for k, s in theirs.items())
    assert {k for k in theirs if k.startswith('head.')} == {
        'head.final_layer.weight',
        'head.final_layer.bias',
    }
    assert {k for k in ours if not k.startswith(('head.frm.', 'head.srm.'))} == set(theirs)


def test_forward_backward_frozen_backbone(model):
    """Full-size model, reduced input: gradients only in FRM/SRM, no stored backbone activations."""
    model.train()
    model.zero_grad(set_to_none=True)
    inside_backbone = [False]
    saved_in_backbone = []

    def pre_hook(module, args):
        inside_backbone[0] = True

    def post_hook(module, args, output):
        inside_backbone[0] = False

    def pack(t):
        if inside_backbone[0]:
            saved_in_backbone.append(t.shape)
        return t

    handles = [
        model.backbone.register_forward_pre_hook(pre_hook),
        model.backbone.register_forward_hook(post_hook),
    ]
    inputs = torch.randn(2, 3, 3, *INPUT)
    samples = _samples(2)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        losses = model.loss(inputs, samples)
    for h in handles:
        h.remove()
    assert saved_in_backbone == []  # nothing kept for backward inside the frozen backbone
    assert set(losses) == {'loss_kpt', 'mse_frm', 'mse_srm', 'acc_pose'}
    loss = losses['loss_kpt']
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.final_layer.weight.grad is None
    head_grads = [p.grad for n, p in model.head.named_parameters() if p.requires_grad]
    assert len(head_grads) == 256 + 2 * 40 + 26 + 2  # SRM, 2 x PCD-3, TSA, FRM 1x1
    assert all(g is not None and torch.isfinite(g).all() for g in head_grads)

    # tensor mode: (H^F, H^S) at heatmap resolution
    model.eval()
    with torch.no_grad():
        heatmaps_frm, heatmaps_srm = model._forward(inputs)
    assert heatmaps_frm.shape == heatmaps_srm.shape == (2, 17, INPUT[0] // 4, INPUT[1] // 4)


def test_unfrozen_backbone_stores_activations():
    """Sanity check of the saved-tensor probe: a trainable backbone does store activations."""
    torch.manual_seed(0)
    model = _build(freeze_backbone=False)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(1) or t, lambda t: t):
        feats = model.extract_feat(torch.randn(1, 3, 3, 64, 64))
    assert feats[0].requires_grad and len(saved) > 100
    assert model.head.final_layer.weight.requires_grad


def test_predict_with_flip_test(model):
    model.eval()
    samples = _samples(2)
    with torch.no_grad():
        results = model.predict(torch.randn(2, 3, 3, *INPUT), samples)
    assert len(results) == 2
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    assert results[0].pred_instances.keypoint_scores.shape == (1, 17)
