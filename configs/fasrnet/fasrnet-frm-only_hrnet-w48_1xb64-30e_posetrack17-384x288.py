# Ablation (paper, components): FaSRnet with the feature refinement module only.
# H^F (PCD-3 alignment of t-1/t+1 + TSA fusion + 1x1) is decoded; no SRM, loss = MSE(H^F).
_base_ = ['./fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py']

model = dict(head=dict(components=('frm',), loss=dict(type='FaSRLoss', alpha=1.0)))
