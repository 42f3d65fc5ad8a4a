# Copyright (c) OpenMMLab. All rights reserved.
"""Small synthetic PoseTrack-format data for tests (no ../shared needed)."""

import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

NUM_KPTS = 17


def frame_name(index: int, version: str) -> str:
    return str(index).zfill(8 if version == 'pt17' else 6) + '.jpg'


def write_frames(
    root: str, video: str, indices: Sequence[int], version: str = 'pt18', size=(60, 80)
) -> List[str]:
    """Write distinct JPEG frames ``images/<video>/<index>.jpg`` (content encodes the index)."""
    h, w = size
    paths = []
    os.makedirs(osp.join(root, 'images', video), exist_ok=True)
    for i in indices:
        img = np.zeros((h, w, 3), np.uint8)
        img[:] = (10 * (i % 20), 100, 200)
        cv2.rectangle(img, (5 + (i % 7), 5), (30, 40), (255, 255, 255), -1)
        path = osp.join(root, 'images', video, frame_name(i, version))
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


def person(image_id: int, ann_id: int, box=(10, 10, 30, 50), num_visible: int = 17) -> Dict:
    x, y, w, h = box
    kpts = []
    rng = np.random.RandomState(ann_id)
    for j in range(NUM_KPTS):
        if j < num_visible:
            kpts += [float(x + rng.rand() * w), float(y + rng.rand() * h), 1]
        else:
            kpts += [0.0, 0.0, 0]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        bbox=list(box),
        keypoints=kpts,
        num_keypoints=num_visible,
        track_id=ann_id % 100,
        iscrowd=0,
    )


def make_video_dataset(
    root: str,
    nframes: int = 8,
    labelled: Sequence[int] = (0, 3, 7),
    on_disk: Optional[Sequence[int]] = None,
    version: str = 'pt18',
    video: str = 'val/000001_test',
    vid_id: str = '000001',
    size=(60, 80),
) -> str:
    """A one-video PoseTrack dataset; returns the annotation file path.

    Frame indices are 0-based for pt18 and 1-based for pt17 (``labelled``/``on_disk`` are given
    in the version's own numbering).
    """
    first = 1 if version == 'pt17' else 0
    if on_disk is None:
        on_disk = range(first, first + nframes)
    write_frames(root, video, on_disk, version, size)
    images, anns = [], []
    for k, t in enumerate(labelled):
        img_id = 10_000 + t
        images.append(
            dict(
                id=img_id,
                file_name=f'images/{video}/{frame_name(t, version)}',
                vid_id=vid_id,
                nframes=nframes,
                frame_id=img_id,
                is_labeled=True,
                width=size[1],
                height=size[0],
            )
        )
        anns.append(person(img_id, 100 * k + 1))
        anns.append(person(img_id, 100 * k + 2, box=(35, 20, 20, 30), num_visible=10))
    ann_file = osp.join(root, f'annotations_{version}.json')
    os.makedirs(root, exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='person')]), f)
    return ann_file


def write_json(path: str, obj) -> str:
    with open(path, 'w') as f:
        json.dump(obj, f)
    return path
