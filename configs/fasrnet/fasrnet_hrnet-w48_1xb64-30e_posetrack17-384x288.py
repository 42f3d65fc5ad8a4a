# FaSRnet, official training recipe on PoseTrack17, official model behaviour.
# Frozen COCO HRNet-W48 (train-mode BN, as released), FRM + SRM head, alpha = 0.4,
# Adam 1e-4, MultiStepLR [9, 17, 21, 25], 30 epochs, batch 64 on 1 GPU; test with detection
# boxes (score >= 0.2), no flip, H^S decoded, official PoseTrack mAP (no NMS, score x box score).
_base_ = ['../_base_/default_runtime.py', '../_base_/models/hrnet_w48.py']

# runtime
train_cfg = dict(max_epochs=30, val_interval=1)

# optimizer: trainable parameters only (the backbone and the rough 1x1 layer are frozen)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=30, milestones=[9, 17, 21, 25], gamma=0.1, by_epoch=True)
]

# the official recipe is 1 GPU x 64; `--auto-scale-lr` rescales lr for other total batch sizes
auto_scale_lr = dict(base_batch_size=64)

# hooks
default_hooks = dict(
    checkpoint=dict(save_best='posetrack/AP', rule='greater', interval=1, max_keep_ckpts=3)
)

# COCO HRNet-W48 384x288 from the MMPose model zoo: backbone.* -> backbone,
# head.final_layer.* -> the rough-heatmap layer of FaSRHead
hrnet_coco = (
    'https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth'
)

# codec: 384x288 input, 96x72 heatmaps, sigma 3, quarter-pixel shift decoding (no DARK)
codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)

# model
model = dict(
    type='VideoTopdownPoseEstimator',
    freeze_backbone=True,
    backbone_bn='train_mode',  # official; 'eval' is the fixed variant
    data_preprocessor=dict(
        type='VideoPoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    # HRNet-W48 itself: ../_base_/models/hrnet_w48.py
    backbone=dict(
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=hrnet_coco),
    ),
    head=dict(
        type='FaSRHead',
        in_channels=48,
        out_channels=17,
        # official-vs-fixed flags: see docs/official_vs_fixed.md
        align_direction='official',
        dcn_offset_padding='official_emulated',
        dcn_offset_init='official_normal',
        srm_dilations=(1,),
        srm_mask_sigmoid=False,
        # deformable-conv implementation, same results and weights (docs/dcn_impl.md): 'auto' =
        # mmcv's CUDA ops on CUDA (torchvision without them), plain PyTorch on CPU
        dcn_impl='auto',
        freeze_rough_layer=True,
        loss=dict(type='FaSRLoss', alpha=0.4),
        decoder=codec,
        init_cfg=dict(type='Pretrained', prefix='head.', checkpoint=hrnet_coco),
    ),
    test_cfg=dict(flip_test=False, flip_mode='heatmap', shift_heatmap=True),
)

# base dataset settings
dataset_type = 'PoseTrackVideoDataset'
data_mode = 'topdown'
data_root = 'data/posetrack17/'
dataset_version = 'pt17'  # renamed frames 00000001.jpg, 1-based
frame_offsets = [0, -1, 1]  # official [t, t-1, t+1] (DISTANCE 2)
# keypoint definition: mmpose's PoseTrack18 one, named 'posetrack17'
dataset_metainfo = dict(from_file='{{fileDirname}}/../_base_/datasets/posetrack17.py')
meta_keys = (
    'id',
    'img_id',
    'img_path',
    'category_id',
    'crowd_index',
    'ori_shape',
    'img_shape',
    'input_size',
    'input_center',
    'input_scale',
    'flip',
    'flip_direction',
    'flip_indices',
    'frame_paths',
    'margin',
    'neighbour_fallback',  # counted by MissingFramesHook (default_runtime.py)
    'vid_id',
    'frame_id',
    'frame_index',
    'nframes',
)

# pipelines (one affine for all frames; targets for the centre frame only)
train_pipeline = [
    dict(type='LoadFrameWindow', num_frames=3),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal', prob=0.5),
    dict(
        type='RandomHalfBody',
        prob=0.3,
        min_total_keypoints=9,
        min_upper_keypoints=3,
        min_lower_keypoints=3,
        upper_prioritized_prob=0.6915,
        padding=1.5,
    ),
    dict(
        type='ClippedNormalBBoxTransform',
        scale_sigma=0.35,
        scale_range=(0.65, 1.35),
        rotate_sigma=45.0,
        rotate_range=(-90.0, 90.0),
        rotate_prob=0.6,
    ),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='LoadFrameWindow', num_frames=3),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]

# data loaders: the dataset settings train and val share, then each split's files
dataset_common = dict(
    type=dataset_type,
    version=dataset_version,
    metainfo=dataset_metainfo,
    frame_offsets=frame_offsets,
    data_root=data_root,
    data_mode=data_mode,
)
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        **dataset_common,
        ann_file='annotations/posetrack17_train.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        **dataset_common,
        ann_file='annotations/posetrack17_val.json',
        bbox_file='annotations/posetrack17_val_boxes.json',
        filter_cfg=dict(bbox_score_thr=0.2),
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader

# evaluators: official PoseTrack mAP (poseval protocol)
val_evaluator = dict(
    type='PoseTrackMAPMetric',
    gt_folder=data_root + 'annotations/val/',
    format='pt17',
    nms_mode='none',
    multiply_box_score=True,
)
test_evaluator = val_evaluator
