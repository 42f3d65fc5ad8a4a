# Ablation (paper, components): FaSRnet with the semantics refinement module only.
# The SRM (dilation 1) refines the frozen backbone's rough heatmap of frame t with the rough
# heatmaps of t-1/t+1; no FRM, loss = MSE(H^S) (alpha = 0: H^F is the frozen rough heatmap).
_base_ = ['./fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

model = dict(
    head=dict(components=('srm',), srm_dilations=(1,), loss=dict(type='FaSRLoss', alpha=0.0))
)
