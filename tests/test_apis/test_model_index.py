# Copyright (c) OpenMMLab. All rights reserved.
"""The plugin's model index: metafile completeness, alias resolution, .mim / repo-root lookup."""

import glob
import os
import os.path as osp
import warnings

import pytest
from _apis_helpers import PROJECT_ROOT, one_torch_thread, tiny_assets  # noqa: F401
from mmengine.fileio import load
from mmengine.infer import BaseInferencer
from mmpose.apis.inferencers import Pose2DInferencer

from fasrnet_mmpose.apis import FaSRnetInferencer, find_model_entry, list_models
from fasrnet_mmpose.apis.inferencers.utils import model_index as model_index_module
from fasrnet_mmpose.apis.inferencers.utils.model_index import (
    ModelNotFoundError,
    get_model_index_root,
)

MAIN = 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288'
OFFICIAL = 'fasrnet_hrnet-w48_official-ckpt_posetrack17-384x288'
OFFICIAL_DRIVE_URL = 'https://drive.google.com/uc?id=1eD0oENp4_NKpodaTZs2P9c4TXjZ8nbdg'


def test_every_config_has_a_metafile_entry_and_no_invented_weights():
    index = load(osp.join(PROJECT_ROOT, 'model-index.yml'))
    assert 'configs/fasrnet/metafile.yml' in index['Import']
    meta = load(osp.join(PROJECT_ROOT, 'configs', 'fasrnet', 'metafile.yml'))
    assert meta['Collections'][0]['Paper']['URL'] == 'https://doi.org/10.1631/FITEE.2200639'
    assert osp.isfile(osp.join(PROJECT_ROOT, meta['Collections'][0]['README']))
    entries = {m['Name']: m for m in meta['Models']}
    stems = {
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(PROJECT_ROOT, 'configs', 'fasrnet', '*.py'))
    }
    assert set(entries) == stems, 'every configs/fasrnet/*.py needs a metafile entry'
    for name, entry in entries.items():
        assert entry['Config'] == f'configs/fasrnet/{name}.py'
        assert entry['In Collection'] == 'FaSRnet'
        # No FaSRnet weights are hosted anywhere we know of: list only URLs that really exist.
        # The one exception is the authors' own Google Drive file, for the official-ckpt config.
        if name == OFFICIAL:
            assert entry['Weights'] == OFFICIAL_DRIVE_URL
        else:
            assert 'Weights' not in entry, f'{name}: Weights must be a real, downloadable URL'


def test_find_model_entry_by_name_and_alias():
    for name in ('fasrnet_hrnet-w48_posetrack17', 'FaSRnet', MAIN, MAIN.upper()):
        config, weights, entry = find_model_entry(name)
        assert config == osp.join(get_model_index_root(), 'configs', 'fasrnet', f'{MAIN}.py')
        assert osp.isfile(config) and weights is None and entry['Name'] == MAIN
    assert find_model_entry('fasrnet_hrnet-w48_posetrack18')[0].endswith('posetrack18-384x288.py')
    assert 'fasrnet' in list_models()[MAIN]
    config, weights, _ = find_model_entry('fasrnet_hrnet-w48_official-ckpt_posetrack17')
    assert config.endswith(f'{OFFICIAL}.py') and weights == OFFICIAL_DRIVE_URL
    with pytest.raises(ModelNotFoundError, match='fasrnet_hrnet-w48_posetrack17'):
        find_model_entry('no-such-model')


def test_inferencer_resolves_plugin_aliases():
    """The override of BaseInferencer._load_model_from_metafile (mmengine cannot do it)."""
    inferencer = object.__new__(FaSRnetInferencer)
    cfg, weights = inferencer._load_model_from_metafile('fasrnet_hrnet-w48_posetrack17')
    assert weights is None
    assert cfg.filename.endswith(f'{MAIN}.py')
    assert cfg.model.head.type == 'FaSRHead'
    # mmengine's own lookup only knows the scope package (mmpose), not the plugin
    stock = object.__new__(Pose2DInferencer)
    stock.scope = 'mmpose'
    with pytest.raises(ValueError, match='Cannot find model'):
        BaseInferencer._load_model_from_metafile(stock, 'fasrnet_hrnet-w48_posetrack17')


def _fake_package(root, with_mim: bool, with_repo: bool) -> str:
    """A package dir ``root/repo/fasrnet_mmpose`` whose index lists the tiny config."""
    repo = root / 'repo'
    package = repo / 'fasrnet_mmpose'
    package.mkdir(parents=True)
    tiny = tiny_assets()['config']
    targets = []
    if with_repo:
        targets.append(repo)
    if with_mim:
        targets.append(package / '.mim')
    for base in targets:
        (base / 'configs' / 'fasrnet').mkdir(parents=True)
        with open(tiny) as f:
            (base / 'configs' / 'fasrnet' / 'tiny.py').write_text(f.read())
        (base / 'configs' / 'fasrnet' / 'metafile.yml').write_text(
            'Models:\n- Name: tiny_fasrnet_test\n  Alias: [tiny-alias]\n'
            '  Config: configs/fasrnet/tiny.py\n  In Collection: FaSRnet\n'
        )
        (base / 'model-index.yml').write_text('Import:\n- configs/fasrnet/metafile.yml\n')
    return str(package)


@pytest.mark.parametrize(
    'with_mim, with_repo, expected',
    [
        (True, True, '.mim'),  # installed/develop: .mim wins
        (False, True, 'repo'),  # pip install -e . without .mim links: repo-root fallback
        (True, False, '.mim'),  # wheel install
    ],
)
def test_model_index_locations(tmp_path, monkeypatch, with_mim, with_repo, expected):
    package = _fake_package(tmp_path, with_mim, with_repo)
    root = get_model_index_root(package)
    assert osp.basename(root) == expected
    monkeypatch.setattr(model_index_module, '_PACKAGE_DIR', package)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        inferencer = FaSRnetInferencer(
            'TINY-ALIAS', weights=tiny_assets()['checkpoint'], device='cpu', det_model='whole_image'
        )
    assert inferencer.cfg.filename == osp.join(root, 'configs', 'fasrnet', 'tiny.py')
    assert inferencer.weights_loaded


def test_missing_model_index(tmp_path):
    package = tmp_path / 'site-packages' / 'fasrnet_mmpose'
    package.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='model index'):
        get_model_index_root(str(package))


def test_this_checkout_resolves():
    """From this checkout the index is found in .mim (if linked) or at the repo root."""
    root = get_model_index_root()
    assert root in (PROJECT_ROOT, osp.join(PROJECT_ROOT, 'fasrnet_mmpose', '.mim'))
    assert os.path.samefile(osp.join(root, 'configs'), osp.join(PROJECT_ROOT, 'configs'))
