# Copyright (c) OpenMMLab. All rights reserved.
"""OpenCV HOG people detector (offline default of the demo)."""

import numpy as np
from _apis_helpers import DEMO_CLIP

from fasrnet_mmpose.apis import HOGPersonDetector, open_frame_source


def test_hog_finds_pedestrians_in_the_shipped_clip():
    frame, _ = next(iter(open_frame_source(DEMO_CLIP, max_frames=1)))
    detector = HOGPersonDetector()
    boxes = detector.detect(frame)
    assert boxes.dtype == np.float32 and boxes.shape[1] == 5
    assert len(boxes) >= 2  # several pedestrians are visible in the clip
    h, w = frame.shape[:2]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= h).all()
    assert ((boxes[:, 4] >= 0) & (boxes[:, 4] < 1)).all()
    # DetInferencer-like interface used by the inferencers
    out = detector(frame, return_datasamples=True)['predictions']
    inst = out[0].pred_instances.cpu().numpy()
    np.testing.assert_allclose(inst.bboxes, boxes[:, :4])
    assert (inst.labels == 0).all()


def test_hog_on_an_empty_frame():
    detector = HOGPersonDetector(upscale=1.0)
    assert detector.detect(np.zeros((200, 100, 3), np.uint8)).shape == (0, 5)
    # smaller than the 64x128 window (OpenCV itself segfaults on some such sizes)
    assert detector.detect(np.zeros((96, 128, 3), np.uint8)).shape == (0, 5)
    assert detector.detect(np.zeros((8, 8, 3), np.uint8)).shape == (0, 5)
