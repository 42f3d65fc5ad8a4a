# Copyright (c) OpenMMLab. All rights reserved.
"""The margins path: metainfo['margin'] -> one [B, T-1] tensor per batch -> the head, alike in
tensor, predict and loss modes."""

import numpy as np
import pytest
import torch
from _train_helpers import tiny_model_cfg
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from fasrnet_mmpose.models.pose_estimators import video_topdown
from fasrnet_mmpose.structures import batch_margins, default_margins

B, T, H, W = 2, 3, 64, 48
MARGINS = [[1, 3], [2, 1]]  # non-default


def make_batch(margins=MARGINS, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (T, 3, H, W), generator=g, dtype=torch.uint8) for _ in range(B)]
    samples = []
    for i in range(B):
        meta = dict(
            input_size=(W, H),
            input_center=np.array([24.0, 32.0]),
            input_scale=np.array([48.0, 64.0]),
            flip_indices=list(range(17)),
        )
        if margins is not None:
            meta['margin'] = np.array(margins[i])
        s = PoseDataSample(metainfo=meta)
        s.gt_instances = InstanceData(bboxes=np.zeros((1, 4)), bbox_scores=np.ones(1))
        s.gt_fields = PixelData(heatmaps=torch.rand(17, 16, 12, generator=g))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _model(**test_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg('fasr', test_cfg=dict(test_cfg, output_heatmaps=True)))
    # O(1) random head weights: the zero-offset init makes H^S insensitive to the margins
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.head.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.05))
    return model.eval()


@pytest.mark.parametrize('flip_test', [False, True])
def test_tensor_mode_equals_predict_with_non_default_margins(flip_test):
    model = _model(flip_test=flip_test)
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():
        preds = model(**data, mode='predict')
        heatmaps_frm, heatmaps_srm = model(data['inputs'], data['data_samples'], mode='tensor')
        # without samples (mmpose's get_flops): the default margins
        default_frm, default_srm = model(data['inputs'], None, mode='tensor')
        expected = heatmaps_srm
        if flip_test:
            flipped = model(data['inputs'].flip(-1), data['data_samples'], mode='tensor')[1]
            expected = (heatmaps_srm + flipped.flip(-1)) * 0.5
    predicted = torch.stack([p.pred_fields.heatmaps for p in preds])
    torch.testing.assert_close(predicted, expected, rtol=0, atol=1e-6)
    # the margins matter: with the default [1, 1] margins H^S differs, H^F does not
    torch.testing.assert_close(default_frm, heatmaps_frm)
    assert (default_srm - heatmaps_srm).abs().max() > 1e-3


def test_one_margins_tensor_per_batch_reaches_the_head(monkeypatch):
    model = _model()
    calls, seen = [], []
    real = video_topdown.batch_margins

    def counting(data_samples, batch_size, device=None):
        calls.append(batch_size)
        return real(data_samples, batch_size, device)

    monkeypatch.setattr(video_topdown, 'batch_margins', counting)
    forward = model.head.forward

    def spy(feats, margins=None):
        seen.append(margins)
        return forward(feats, margins)

    monkeypatch.setattr(model.head, 'forward', spy)
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():
        model(**data, mode='predict')
    model.train()
    model(**model.data_preprocessor(make_batch(), training=True), mode='loss')
    assert calls == [B, B]  # built once per batch, by the estimator
    for margins in seen:
        assert isinstance(margins, torch.Tensor) and margins.shape == (B, T - 1)
        assert margins.tolist() == MARGINS


def test_batch_margins_and_the_one_default():
    batch = make_batch()
    assert batch_margins(batch['data_samples'], B).tolist() == MARGINS
    assert batch_margins(None, 3).tolist() == default_margins(3).tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(KeyError, match='add "margin" to the meta_keys of PackPoseInputs'):
        batch_margins(make_batch(margins=None)['data_samples'], B)
    with pytest.raises(ValueError, match='2 data samples for a batch of 3'):
        batch_margins(batch['data_samples'], 3)


def test_samples_without_margin_are_an_error_not_a_silent_default():
    model = _model()
    data = model.data_preprocessor(make_batch(margins=None))
    with pytest.raises(KeyError, match='margin'), torch.no_grad():
        model(**data, mode='predict')


def test_head_refuses_samples_margins_it_was_not_given():
    model = _model()
    data = model.data_preprocessor(make_batch())
    feats = model.extract_feat(data['inputs'])
    with pytest.raises(ValueError, match='no margins tensor was passed'), torch.no_grad():
        model.head.predict(feats, data['data_samples'], test_cfg={})
    with torch.no_grad():
        margins = batch_margins(data['data_samples'], B)
        out = model.head.predict(feats, data['data_samples'], test_cfg={}, margins=margins)
    assert len(out) == B
