# Copyright (c) OpenMMLab. All rights reserved.
"""Shared test helpers.

Research data and numeric fixtures live in ``../shared`` next to the project checkout
(developers and CI have it; a user's fresh clone does not). Tests that need it use the
``shared_dir`` fixture or ``require_shared(...)``, which skip with a clear reason when it is
absent. Everything else builds small synthetic data in ``tmp_path``.
"""

import importlib.util
import os
import os.path as osp
from types import ModuleType

# One intra-op thread per process (set before torch is imported; inherited by the tools the tests
# run as subprocesses). On the 2-core CI machine several test processes (distributed runs,
# train/test subprocesses) would otherwise oversubscribe the cores, which makes small CPU ops
# orders of magnitude slower. Override with OMP_NUM_THREADS.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest  # noqa: E402

PROJECT_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DIR = os.environ.get('FASRNET_SHARED_DIR', osp.join(osp.dirname(PROJECT_ROOT), 'shared'))


def shared_path(*parts: str) -> str:
    """Path inside ../shared; skips the calling test when it does not exist."""
    path = osp.join(SHARED_DIR, *parts)
    if not osp.exists(path):
        pytest.skip(
            f"needs {path} (the project's ../shared research data/fixtures), "
            'which is not present on this machine'
        )
    return path


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` loaded as a module named ``name`` (a fresh one on each call)."""
    path = osp.join(PROJECT_ROOT, 'tools', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def posetrack_sigmas():
    """PoseTrack's ``(17,)`` OKS sigmas as the configs' dataset meta has them (= COCO's)."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    path = osp.join(PROJECT_ROOT, 'configs', '_base_', 'datasets', 'posetrack17.py')
    return parse_pose_metainfo(dict(from_file=path))['sigmas']


@pytest.fixture
def shared_dir() -> str:
    return shared_path()


@pytest.fixture(scope='session', autouse=True)
def _register_plugin():
    """Import the plugin once so that every test sees its registered components."""
    from mmpose.utils import register_all_modules

    import fasrnet_mmpose  # noqa: F401

    register_all_modules(init_default_scope=True)
    yield
