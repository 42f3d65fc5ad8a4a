# Copyright (c) OpenMMLab. All rights reserved.
"""tools/install_settings.py: the mmcv build settings and constraints tools/install.sh uses."""

import os.path as osp
import shlex

import pytest
import torch
from conftest import PROJECT_ROOT, load_tool

settings_mod = load_tool('install_settings')
CONSTRAINTS = osp.join(PROJECT_ROOT, 'requirements', 'constraints.txt')


def _lines(path=CONSTRAINTS):
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.parametrize(
    'header, version, expected',
    [
        (
            '#if !defined(_MSC_VER) && __cplusplus < 202002L\n#error C++20 or later',
            '2.14.1',
            'c++20',
        ),
        (
            '#if !defined(_MSC_VER) && __cplusplus < 201703L\n#error C++17 or later',
            '2.11.0',
            'c++17',
        ),
        # the header decides over the version
        ('#if !defined(_MSC_VER) && __cplusplus < 202002L', '2.13.0', 'c++20'),
        (None, '2.11.0+cu130', 'c++17'),
        (None, '2.13.1', 'c++17'),
        (None, '2.14.1+cu130', 'c++20'),
        (None, '3.0.0', 'c++20'),
    ],
)
def test_cxx_std_from_header_or_version(header, version, expected):
    std, source = settings_mod.cxx_std(version, header)
    assert std == expected
    assert source == ('ATen.h' if header else 'torch version')


def test_cxx_std_of_the_installed_torch():
    header = osp.join(osp.dirname(torch.__file__), 'include', 'ATen', 'ATen.h')
    if not osp.exists(header):
        pytest.skip(f'{header} not shipped with this torch')
    with open(header) as f:
        std, source = settings_mod.cxx_std(torch.__version__, f.read())
    assert source == 'ATen.h'
    # the measured fact: torch >= 2.14 headers need C++20, 2.13 built mmcv with C++17
    expected = 'c++20' if settings_mod.parse_version(torch.__version__) >= (2, 14) else 'c++17'
    assert std == expected


def test_arch_list_max_jobs_cuda_tag():
    assert settings_mod.arch_list([(9, 0)]) == '9.0'
    assert settings_mod.arch_list([(9, 0), (8, 6), (9, 0)]) == '8.6;9.0'
    assert settings_mod.arch_list([]) == ''
    assert settings_mod.max_jobs(16, 128.0) == 16
    assert settings_mod.max_jobs(16, 9.5) == 4  # one nvcc job per 2 GiB
    assert settings_mod.max_jobs(2, None) == 2
    assert settings_mod.max_jobs(0, 0.5) == 1
    assert settings_mod.cuda_tag('13.0') == 'cu130'
    assert settings_mod.cuda_tag('12.4') == 'cu124'
    assert settings_mod.cuda_tag(None) == 'cpu'


def test_cache_dir_names_torch_cuda_and_ops():
    root = '/c'
    assert settings_mod.cache_dir(root, '2.11.0+cu130', '13.0', '9.0') == (
        '/c/mmcv-2.1.0_torch-2.11.0_cu130_ops-sm90'
    )
    assert settings_mod.cache_dir(root, '2.14.1+cu130', '13.0', '') == (
        '/c/mmcv-2.1.0_torch-2.14.1_cu130_ops-cpu'
    )
    assert settings_mod.cache_dir(root, '2.14.1', None, '8.6;9.0') == (
        '/c/mmcv-2.1.0_torch-2.14.1_cpu_ops-sm86-sm90'
    )


def test_effective_constraints_system_torch_and_numpy2():
    lines = _lines()
    with open(settings_mod.NUMPY2_CONSTRAINTS) as f:
        overrides = [ln for ln in f.read().splitlines() if ln and not ln.startswith('#')]
    out = settings_mod.effective_constraints(
        lines, {'torch': '2.11.0+cu130', 'torchvision': '0.26.0+cu130', 'numpy': '2.3.4'}, overrides
    )
    pins = dict(ln.split('==', 1) for ln in out if '==' in ln)
    # the machine's packages are pinned to what it has, nothing of torch's own stack is pinned
    assert pins['torch'] == '2.11.0+cu130'
    assert pins['torchvision'] == '0.26.0+cu130'
    assert pins['numpy'] == '2.3.4'
    assert not [n for n in pins if n.startswith(('nvidia-', 'cuda-')) or n == 'triton']
    # numpy-2 replacements, everything else unchanged
    assert pins['scipy'] == '1.17.1'
    for line in lines:
        if '==' in line:
            name = line.split('==')[0]
            if name in ('torch', 'torchvision', 'numpy', 'scipy', 'triton') or name.startswith(
                ('nvidia-', 'cuda-')
            ):
                continue
            assert pins[name] == line.split('==')[1], name
    assert sum(1 for ln in out if ln.startswith('numpy==')) == 1


def test_effective_constraints_default_is_unchanged():
    lines = _lines()
    assert settings_mod.effective_constraints(lines, {}) == lines


def test_wheelhouse_constraints_leave_out_torch_stack():
    out = settings_mod.without_torch(_lines())
    names = [ln.split('==')[0] for ln in out if '==' in ln]
    assert 'mmcv' in names and 'numpy' in names and 'xtcocotools' in names
    assert not [n for n in names if n in ('torch', 'torchvision', 'triton')]
    assert not [n for n in names if n.startswith(('nvidia-', 'cuda-'))]


def _settings(tmp_path, monkeypatch, capsys, extra_env, *args):
    """``install_settings.py settings`` in this process (torch already imported: fast)."""
    for key in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'MAX_JOBS', 'FASRNET_CXX_STD'):
        monkeypatch.delenv(key, raising=False)
    for key, value in extra_env.items():
        monkeypatch.setenv(key, value)
    argv = ['settings', '--constraints', CONSTRAINTS, '--cache-root', str(tmp_path / 'cache')]
    assert settings_mod.main(argv + list(args)) == 0
    lines = capsys.readouterr().out.splitlines()
    return {
        k: shlex.split(v)[0] if v.strip("'") else '' for k, v in (ln.split('=', 1) for ln in lines)
    }


def test_settings_for_a_cuda_build_with_overrides(tmp_path, monkeypatch, capsys):
    """What a GPU machine gets (FORCE_CUDA / arch / jobs as the H200 session would detect)."""
    out = _settings(
        tmp_path,
        monkeypatch,
        capsys,
        dict(FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0', MAX_JOBS='16'),
        '--write-constraints',
        str(tmp_path / 'c.txt'),
    )
    base = torch.__version__.split('+')[0]
    assert out['FORCE_CUDA'] == '1'
    assert out['TORCH_CUDA_ARCH_LIST'] == '9.0'
    assert out['MAX_JOBS'] == '16'
    assert out['MMCV_CACHE'] == str(
        tmp_path
        / 'cache'
        / f'mmcv-2.1.0_torch-{base}_{settings_mod.cuda_tag(torch.version.cuda)}_ops-sm90'
    )
    assert out['TORCH_MODE'] == 'pinned' and out['NUMPY_MODE'] == 'pinned'
    # pinned mode: the constraints are the project's, unchanged
    assert (tmp_path / 'c.txt').read_text().splitlines() == _lines()


def test_settings_system_torch_keeps_the_installed_versions(tmp_path, monkeypatch, capsys):
    import numpy

    out = _settings(
        tmp_path,
        monkeypatch,
        capsys,
        dict(FORCE_CUDA='0'),
        '--torch',
        'system',
        '--write-constraints',
        str(tmp_path / 'c.txt'),
    )
    assert out['TORCH_MODE'] == 'system'
    assert out['NUMPY_MODE'] == 'system' and out['NUMPY_VERSION'] == numpy.__version__
    assert out['FORCE_CUDA'] == '0' and out['TORCH_CUDA_ARCH_LIST'] == ''
    pins = (tmp_path / 'c.txt').read_text().splitlines()
    assert f'torch=={torch.__version__}' in pins
    assert f'numpy=={numpy.__version__}' in pins


def test_pip_cuda_headers_only_when_the_toolkit_lacks_them(tmp_path):
    site = tmp_path / 'site'
    for pkg in ('cu13', 'cudnn'):
        (site / 'nvidia' / pkg / 'include').mkdir(parents=True)
    (site / 'nvidia' / 'nccl').mkdir(parents=True)  # no include folder
    minimal = tmp_path / 'cuda-minimal'
    (minimal / 'include').mkdir(parents=True)
    full = tmp_path / 'cuda-full'
    (full / 'include').mkdir(parents=True)
    (full / 'include' / 'cusparse.h').write_text('')
    expected = [str(site / 'nvidia' / pkg / 'include') for pkg in ('cu13', 'cudnn')]
    assert settings_mod.pip_cuda_include_dirs(str(minimal), [str(site), str(tmp_path / 'x')]) == (
        expected
    )
    assert settings_mod.pip_cuda_include_dirs(None, [str(site)]) == expected
    assert settings_mod.pip_cuda_include_dirs(str(full), [str(site)]) == []
