# PoseTrack17 keypoint definition: mmpose's PoseTrack18 one (the same 17 joints, flip pairs,
# sigmas and skeleton) under the name 'posetrack17', so that the dataset meta of the PoseTrack17
# configs (logs, visualizer, saved predictions) names the right dataset. Nothing is copied.
_base_ = ['mmpose::_base_/datasets/posetrack18.py']

dataset_info = dict(dataset_name='posetrack17')
