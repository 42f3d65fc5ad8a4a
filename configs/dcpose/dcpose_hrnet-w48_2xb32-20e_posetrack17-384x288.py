# DCPose (Liu et al., CVPR 2021, "Deep Dual Consecutive Network for Human Pose Estimation")
# built from the FaSRnet components: frozen COCO HRNet-W48, rough heatmaps of t-1, t, t+1 -> PRF/PTM
# RSB chains -> PCN with 5 dilations [3, 6, 9, 12, 15] (FaSRHead with components=('srm', )).
# DCPose's PoseTrack17 recipe: Adam lr 1e-3, MultiStepLR [4, 8, 12, 16], 20 epochs, 2 GPUs x 32.
# The head reproduces the official DCPose fixture (tests/test_configs/test_dcpose_config.py).
_base_ = ['../fasrnet/fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

# the recipe's differences from the FaSRnet base (2 GPUs x 32 = the base's 64 for auto_scale_lr)
train_cfg = dict(max_epochs=20)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(_base_.param_scheduler[0], end=20, milestones=[4, 8, 12, 16])]

model = dict(
    head=dict(
        components=('srm',),
        srm_dilations=(3, 6, 9, 12, 15),
        srm_mask_sigmoid=False,
        loss=dict(type='FaSRLoss', alpha=0.0),
    )
)

train_dataloader = dict(batch_size=32)
