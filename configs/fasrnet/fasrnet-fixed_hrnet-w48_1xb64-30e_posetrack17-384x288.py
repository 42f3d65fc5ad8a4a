# FaSRnet with the fixed behaviours of docs/official_vs_fixed.md, official recipe
# otherwise: neighbour features are warped toward the current frame, correctly sized and
# batch-independent DCN offset maps, zero-initialised offsets, sigmoid SRM masks, and the frozen
# backbone's BatchNorm kept in eval mode. Not loadable from official checkpoints.
_base_ = ['./fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

model = dict(
    backbone_bn='eval',
    head=dict(
        align_direction='neighbour_to_current',
        dcn_offset_padding='same',
        dcn_offset_init='zero',
        srm_mask_sigmoid=True,
    ),
)
