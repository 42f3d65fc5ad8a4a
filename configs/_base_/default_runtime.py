# Shared runtime settings of the fasrnet_mmpose configs (a copy of mmpose's
# configs/_base_/default_runtime.py, shipped with the plugin so that installed users and
# `mim` do not depend on `mmpose::` base paths), plus the plugin import.
custom_imports = dict(imports=['fasrnet_mmpose'], allow_failed_imports=False)
default_scope = 'mmpose'

# hooks
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='PoseVisualizationHook', enable=False),
    # `tools/test.py --badcase`: the MSE between predicted and GT keypoint coordinates of each
    # person (mmpose's tools/test.py would otherwise use the head loss, a heatmap loss here)
    badcase=dict(
        type='BadCaseAnalysisHook',
        enable=False,
        out_dir='badcase',
        metric_type='loss',
        metric=dict(type='KeypointMSELoss', use_target_weight=True),
        badcase_thr=5,
    ),
)

# custom hooks
custom_hooks = [
    # Synchronize model buffers such as running_mean and running_var in BN
    # at the end of each epoch
    dict(type='SyncBuffersHook'),
    # report the share of neighbour frames missing on disk once per epoch / test
    # (fasrnet_mmpose.engine.hooks.MissingFramesHook, see docs/temporal_window.md)
    dict(type='MissingFramesHook'),
]

# multi-processing backend
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# visualizer (mmpose's PoseLocalVisualizer, made to work with numpy >= 2.4)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='FaSRPoseLocalVisualizer', vis_backends=vis_backends, name='visualizer')

# logger
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'INFO'
load_from = None
resume = False

# file I/O backend
backend_args = dict(backend='local')

# training/validation/testing progress
train_cfg = dict(by_epoch=True)
val_cfg = dict()
test_cfg = dict()
