# Copyright (c) OpenMMLab. All rights reserved.
"""The built wheel ships configs/tools/model-index in fasrnet_mmpose/.mim (like mmpose)."""

import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

from conftest import PROJECT_ROOT

SOURCES = (
    'setup.py',
    'MANIFEST.in',
    'README.md',
    'model-index.yml',
    'requirements',
    'fasrnet_mmpose',
    'configs',
    'tools',
)


def test_wheel_ships_mim_configs_tools_and_model_index(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in SOURCES:
        path = osp.join(PROJECT_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(
                path,
                src / name,
                symlinks=False,
                ignore=shutil.ignore_patterns('__pycache__', '.mim', '*.pyc'),
            )
        else:
            shutil.copy(path, src / name)
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(tmp_path / 'dist'),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = glob.glob(str(tmp_path / 'dist' / 'fasrnet_mmpose-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'fasrnet_mmpose/.mim/model-index.yml' in names
    for cfg in glob.glob(osp.join(PROJECT_ROOT, 'configs', '**', '*.py'), recursive=True):
        rel = osp.relpath(cfg, PROJECT_ROOT).replace(os.sep, '/')
        assert f'fasrnet_mmpose/.mim/{rel}' in names, rel
    for tool in (
        'train.py',
        'test.py',
        'dist_train.sh',
        'demo_video.py',
        'convert_official_checkpoint.py',
        'eval_posetrack.py',
        'install.sh',
        'install_settings.py',
        'make_wheelhouse.sh',
        'check_gpu.py',
    ):
        assert f'fasrnet_mmpose/.mim/tools/{tool}' in names, tool
    assert 'fasrnet_mmpose/.mim/configs/fasrnet/metafile.yml' in names
    assert 'fasrnet_mmpose/datasets/body/posetrack_video_dataset.py' in names
    # numpy 2 works (xtcocotools built against it): no numpy<2 requirement in the metadata
    (metadata,) = [n for n in names if n.endswith('.dist-info/METADATA')]
    requires = [
        line
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith('Requires-Dist: numpy')
    ]
    assert requires == ['Requires-Dist: numpy'], requires
