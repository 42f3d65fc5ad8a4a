# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRLoss = alpha * MSE(H^F) + (1 - alpha) * MSE(H^S) (architecture.md §5)."""

import pytest
import torch
from mmpose.registry import MODELS


def _official_joint_mse(pred, target, weight):
    """Official JointMSELoss: (1/K) sum_j mean_{b,pixels} (w*P - w*T)^2, no 0.5 factor."""
    b, k = pred.shape[:2]
    w = weight.view(b, k, 1)
    p, t = pred.reshape(b, k, -1) * w, target.reshape(b, k, -1) * w
    return sum(((p[:, j] - t[:, j]) ** 2).mean() for j in range(k)) / k


@pytest.mark.parametrize('alpha', [0.4, 0.5])
def test_matches_official_weighted_joint_mse(alpha):
    loss = MODELS.build(dict(type='FaSRLoss', alpha=alpha))
    gen = torch.Generator().manual_seed(0)
    hf, hs, target = torch.rand(3, 2, 17, 12, 9, generator=gen).unbind(0)
    weight = (torch.rand(2, 17, generator=gen) > 0.3).float()
    out = loss(hf, hs, target, weight)
    l_frm, l_srm = _official_joint_mse(hf, target, weight), _official_joint_mse(hs, target, weight)
    assert torch.allclose(out['mse_frm'], l_frm, atol=1e-7)
    assert torch.allclose(out['mse_srm'], l_srm, atol=1e-7)
    assert torch.allclose(out['loss_kpt'], alpha * l_frm + (1 - alpha) * l_srm, atol=1e-7)


def test_only_the_total_is_summed_and_terms_are_logged():
    loss = MODELS.build(dict(type='FaSRLoss', alpha=0.4, loss_weight=2.0))
    hf = torch.rand(2, 17, 4, 4, requires_grad=True)
    hs = torch.rand(2, 17, 4, 4, requires_grad=True)
    out = loss(hf, hs, torch.rand(2, 17, 4, 4), torch.ones(2, 17))
    assert [k for k in out if 'loss' in k] == ['loss_kpt']
    assert not out['mse_frm'].requires_grad and not out['mse_srm'].requires_grad
    assert torch.allclose(out['loss_kpt'], 2 * (0.4 * out['mse_frm'] + 0.6 * out['mse_srm']))
    out['loss_kpt'].backward()
    assert hf.grad.abs().sum() > 0 and hs.grad.abs().sum() > 0


def test_zero_weight_joints_are_ignored():
    loss = MODELS.build(dict(type='FaSRLoss'))
    target = torch.rand(1, 17, 4, 4)
    weight = torch.ones(1, 17)
    weight[0, 3:5] = 0
    pred = target.clone()
    pred[0, 3:5] += 5.0  # errors only on the (never annotated) ears
    assert loss(pred, pred, target, weight)['loss_kpt'] == 0


def test_invalid_arguments():
    with pytest.raises(ValueError):
        MODELS.build(dict(type='FaSRLoss', alpha=1.5))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='FaSRLoss', loss_name='kpt'))
