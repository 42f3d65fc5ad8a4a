# FaSRnet with every official behaviour, for checkpoints converted from the official release
# (python tools/convert_official_checkpoint.py SRC DST; see docs/model_zoo.md). All weights come
# from the converted checkpoint (no COCO init). Test batch 128 as in the official evaluation:
# under the official DCN offset-map bug (dcn_offset_padding='official_emulated') the output of
# a sample depends on the other samples of its batch, so the batch size is part of the recipe.
#   python tools/test.py configs/fasrnet/fasrnet_hrnet-w48_official-ckpt_posetrack17-384x288.py \
#       fasrnet_official_converted.pth
# The model index lists the authors' Google Drive file as this config's weights: the alias without
# weights (FaSRnetInferencer, demo) or CHECKPOINT = the URL below downloads it (gdown), converts and
# caches it on first use (docs/model_zoo.md):
#   https://drive.google.com/uc?id=1eD0oENp4_NKpodaTZs2P9c4TXjZ8nbdg
_base_ = ['./fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

model = dict(
    backbone_bn='train_mode',
    backbone=dict(init_cfg=None),
    head=dict(
        init_cfg=None,
        align_direction='official',
        dcn_offset_padding='official_emulated',
        dcn_offset_init='official_normal',
        srm_dilations=(1,),
        srm_mask_sigmoid=False,
    ),
)

val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
