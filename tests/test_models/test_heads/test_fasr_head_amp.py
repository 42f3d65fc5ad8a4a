# Copyright (c) OpenMMLab. All rights reserved.
"""Mixed precision: FaSRHead under bf16 autocast on CPU, with the official fixture's weights.

Tolerance (docs/dcn_impl.md): under bf16 autocast the outputs stay within 3 % of the fp32 outputs'
largest magnitude (measured 0.9-1.9 %); the loss within 3 %. The deformable sampling itself runs in
fp32 under autocast (every implementation).
"""

import pytest
import torch
from test_fasr_head import FIXTURE, _head_from_fixture, _samples, _split_inputs

BF16_TOL = 0.03
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')


@pytest.fixture(scope='module')
def fixture():
    import numpy as np
    from conftest import shared_path

    with np.load(shared_path(*FIXTURE), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize('dcn_impl', DCN_IMPLS)
def test_bf16_autocast_forward_is_close_to_fp32(fixture, dcn_impl):
    head = _head_from_fixture(fixture, dcn_impl=dcn_impl)
    feats, rough, margin = _split_inputs(fixture)
    with torch.no_grad():
        ref = head.refine(feats, rough, margin)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = head.refine(feats, rough, margin)
    assert out[0].dtype == torch.bfloat16  # H^F comes from a (bf16) conv
    for actual, expected in zip(out, ref):
        assert torch.isfinite(actual).all()
        diff = (actual.float() - expected).abs().max()
        assert 0 < diff <= BF16_TOL * expected.abs().max(), diff


@pytest.mark.parametrize('dcn_impl', DCN_IMPLS)
def test_bf16_autocast_training_step(fixture, dcn_impl):
    """The loss of one training step under autocast is within the tolerance of fp32, gradients are
    finite with the fp32 magnitude, and an optimizer step keeps the weights finite.

    (Gradient *directions* are not compared element-wise: with train-mode BatchNorm on 2 samples
    and random targets, bf16 rounding decorrelates the deep FRM gradients, and the conv biases
    before a BN have a zero fp32 gradient that bf16 replaces by rounding noise.)"""
    head = _head_from_fixture(fixture, dcn_impl=dcn_impl).train()
    feats, _, margin = _split_inputs(fixture)
    feats = feats[:2]
    margins = margin[:2]
    samples = _samples(2, size=(48, 36))
    losses, grads = {}, {}
    for precision in ('fp32', 'bf16'):
        head.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=precision == 'bf16'):
            loss = head.loss((feats,), samples, train_cfg={}, margins=margins)['loss_kpt']
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        loss.backward()
        losses[precision] = loss.item()
        grads[precision] = torch.cat(
            [p.grad.flatten() for p in head.parameters() if p.requires_grad]
        )
    assert abs(losses['bf16'] - losses['fp32']) <= BF16_TOL * losses['fp32']
    assert torch.isfinite(grads['bf16']).all()
    assert 0.8 < grads['bf16'].norm() / grads['fp32'].norm() < 1.25
    optimizer = torch.optim.Adam([p for p in head.parameters() if p.requires_grad], lr=1e-4)
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in head.parameters())
