# mmpose's HRNet-W48 (`td-hm_hrnet-w48_8xb32-210e_coco-384x288`) with only the stage-4
# high-resolution output (`multiscale_output=False`, 48 channels at 1/4 resolution): the frozen
# backbone of every FaSRnet/DCPose config. The one definition of it in the project: the configs
# inherit it through `_base_`, and the package, tools and tests read it with
# `fasrnet_mmpose.models.backbones_cfg.hrnet_w48()`.
model = dict(
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4,),
                num_channels=(64,),
            ),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(48, 96),
            ),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(48, 96, 192),
            ),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(48, 96, 192, 384),
                multiscale_output=False,
            ),
        ),
    )
)
