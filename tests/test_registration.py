# Copyright (c) OpenMMLab. All rights reserved.
import subprocess
import sys

EXPECTED = {
    'DATASETS': ['PoseTrackVideoDataset'],
    'TRANSFORMS': ['LoadFrameWindow', 'ClippedNormalBBoxTransform'],
    'MODELS': ['VideoPoseDataPreprocessor', 'VideoTopdownPoseEstimator'],
    'HOOKS': ['MissingFramesHook'],
}


def test_import_registers_components_in_mmpose_registries():
    """A fresh interpreter: `import fasrnet_mmpose` alone registers everything (scope mmpose)."""
    code = ['import fasrnet_mmpose', 'from mmpose import registry']
    for reg, names in EXPECTED.items():
        for name in names:
            code.append(
                f'cls = registry.{reg}.module_dict.get({name!r}); '
                f'assert cls is not None, "{reg}: {name} not registered"; '
                f'assert cls.__module__.startswith("fasrnet_mmpose"), cls.__module__'
            )
    code.append('assert registry.MODELS.scope == "mmpose"')
    proc = subprocess.run([sys.executable, '-c', '\n'.join(code)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
