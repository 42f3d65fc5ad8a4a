# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
from _tiny_models import PREPROCESSOR
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample


def test_per_frame_normalisation_and_stacking():
    pre = MODELS.build(PREPROCESSOR)
    inputs = [torch.randint(0, 256, (3, 3, 8, 6), dtype=torch.uint8) for _ in range(2)]
    samples = [PoseDataSample() for _ in range(2)]
    out = pre(dict(inputs=inputs, data_samples=samples))
    x = out['inputs']
    assert x.shape == (2, 3, 3, 8, 6) and x.dtype == torch.float32
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    for b in range(2):
        for t in range(3):
            expected = (inputs[b][t][[2, 1, 0]].float() - mean) / std  # BGR -> RGB per frame
            torch.testing.assert_close(x[b, t], expected)
    assert out['data_samples'][0].metainfo['batch_input_shape'] == (8, 6)
    # a stacked tensor and a single-frame batch work too
    assert pre(dict(inputs=torch.stack(inputs)))['inputs'].shape == (2, 3, 3, 8, 6)
    single = pre(dict(inputs=[torch.zeros(3, 8, 6), torch.zeros(3, 8, 6)]))['inputs']
    assert single.shape == (2, 1, 3, 8, 6)


def test_bad_inputs():
    pre = MODELS.build(PREPROCESSOR)
    with pytest.raises(ValueError, match='same'):
        pre(dict(inputs=[torch.zeros(3, 3, 8, 6), torch.zeros(3, 3, 8, 7)]))
    with pytest.raises(ValueError, match=r'\[B,T,3,H,W\]'):
        pre(dict(inputs=[torch.zeros(3, 4, 8, 6)]))
    with pytest.raises(ValueError, match='pad_size_divisor'):
        MODELS.build(dict(PREPROCESSOR, pad_size_divisor=32))
