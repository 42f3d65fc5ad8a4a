# FaSRnet, official recipe (see the PoseTrack17 config) on PoseTrack18: 6-digit 0-based frames,
# PoseTrack18 per-video GT files for the official mAP.
# Note: the official code's PoseTrack18 config lacks the alpha key and so trains with its default
# 0.5; the paper's alpha = 0.4 is used here (set model.head.loss.alpha=0.5 for the official run).
_base_ = ['./fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

data_root = 'data/posetrack18/'
dataset_version = 'pt18'
dataset_metainfo = None  # the dataset's default: mmpose's PoseTrack18 keypoint definition

# the dataset settings train and val share (the base config's `dataset_common` was built with the
# PoseTrack17 values), then each split's files
dataset_common = dict(version=dataset_version, metainfo=dataset_metainfo, data_root=data_root)
train_dataloader = dict(
    dataset=dict(**dataset_common, ann_file='annotations/posetrack18_train.json')
)
val_dataloader = dict(
    dataset=dict(
        **dataset_common,
        ann_file='annotations/posetrack18_val.json',
        bbox_file='annotations/posetrack18_val_human_detections.json',
    )
)
test_dataloader = val_dataloader

val_evaluator = dict(gt_folder=data_root + 'annotations/val/', format='pt18')
test_evaluator = val_evaluator
