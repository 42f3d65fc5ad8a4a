# Copyright (c) OpenMMLab. All rights reserved.
"""Build settings for ``tools/install.sh``: mmcv's CUDA build flags, the wheel cache, the
constraints pip installs with.

``install.sh`` runs this file with the virtual environment's Python (after torch is there) and
``eval``s the ``NAME='value'`` lines it prints; ``--dry-run`` prints the same lines for a person.
The pure functions below are what the tests check (arch list, C++ standard, cache dir, constraints).

    python tools/install_settings.py settings --constraints requirements/constraints.txt \
        [--torch pinned|system] [--numpy auto|pinned|system] [--cache-root DIR] \
        [--write-constraints OUT]
    python tools/install_settings.py wheelhouse-constraints --constraints C --out OUT
"""

import argparse
import os
import os.path as osp
import re
import shlex
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

MMCV_VERSION = '2.1.0'
# installed by the machine when FASRNET_TORCH=system: never pinned, never replaced
TORCH_STACK = re.compile(r'^(torch|torchvision|triton|nvidia-[\w-]+|cuda-[\w-]+)$', re.I)
HERE = osp.dirname(osp.abspath(__file__))
NUMPY2_CONSTRAINTS = osp.join(osp.dirname(HERE), 'requirements', 'constraints-numpy2.txt')


def parse_version(text: str) -> Tuple[int, ...]:
    """``'2.11.0+cu130'`` -> ``(2, 11, 0)`` (local and pre-release parts dropped)."""
    nums = re.findall(r'\d+', text.split('+')[0].split('a')[0].split('rc')[0])
    return tuple(int(n) for n in nums[:3])


def cxx_std(torch_version: str, aten_header: Optional[str] = None) -> Tuple[str, str]:
    """C++ standard to compile mmcv's ops with, and where the answer came from.

    The installed torch's ``ATen/ATen.h`` states its minimum (``#error C++20 or later ...`` in
    torch >= 2.14, ``C++17`` before); without the header the version decides (>= 2.14: C++20).

    Args:
        torch_version (str): ``torch.__version__``.
        aten_header (str, optional): Text of ``torch/include/ATen/ATen.h``.

    Returns:
        tuple[str, str]: (``'c++17'`` | ``'c++20'``, ``'ATen.h'`` | ``'torch version'``).
    """
    if aten_header:
        match = re.search(r'__cplusplus\s*<\s*(\d{4})\d\dL', aten_header)
        if match:
            year = int(match.group(1))
            return ('c++20' if year >= 2020 else 'c++17'), 'ATen.h'
    return ('c++20' if parse_version(torch_version) >= (2, 14) else 'c++17'), 'torch version'


def arch_list(capabilities: Iterable[Tuple[int, int]]) -> str:
    """``TORCH_CUDA_ARCH_LIST`` of the visible devices: ``[(9, 0), (8, 6)]`` -> ``'8.6;9.0'``."""
    return ';'.join(f'{major}.{minor}' for major, minor in sorted(set(capabilities)))


def max_jobs(cpu_count: int, mem_gib: Optional[float]) -> int:
    """Parallel compile jobs: one per core, at most one per 2 GiB of memory (nvcc jobs are big)."""
    jobs = max(1, cpu_count)
    if mem_gib:
        jobs = min(jobs, max(1, int(mem_gib // 2)))
    return jobs


def cuda_tag(cuda_version: Optional[str]) -> str:
    """``torch.version.cuda`` -> ``'cu130'``; ``None`` (CPU build of torch) -> ``'cpu'``."""
    if not cuda_version:
        return 'cpu'
    return 'cu' + ''.join(cuda_version.split('.')[:2])


def cache_dir(root: str, torch_version: str, cuda_version: Optional[str], archs: str) -> str:
    """Cache of built mmcv wheels, one folder per torch, CUDA and compiled-ops flavour.

    Example: ``<root>/mmcv-2.1.0_torch-2.11.0_cu130_ops-sm90`` (CUDA ops for cc 9.0) or
    ``<root>/mmcv-2.1.0_torch-2.14.1_cu130_ops-cpu`` (CPU ops only).
    """
    base = torch_version.split('+')[0]
    ops = 'sm' + '-sm'.join(a.replace('.', '') for a in archs.split(';')) if archs else 'cpu'
    return osp.join(root, f'mmcv-{MMCV_VERSION}_torch-{base}_{cuda_tag(cuda_version)}_ops-{ops}')


def pip_cuda_include_dirs(cuda_home: Optional[str], site_dirs: Sequence[str]) -> List[str]:
    """Header folders of pip's NVIDIA packages, when the CUDA toolkit lacks the library headers.

    torch's ``ATen/cuda`` headers include ``cusparse.h``, ``cublas_v2.h``, ``cusolverDn.h``; a
    minimal toolkit (``nvcc`` + runtime only) does not have them, while torch's CUDA wheels bring
    them in ``site-packages/nvidia/<pkg>/include``. Those folders then go into ``CPATH`` for the
    mmcv build (nvcc's host and device passes both honour it).

    Args:
        cuda_home (str, optional): The toolkit (``torch.utils.cpp_extension.CUDA_HOME``).
        site_dirs (Sequence[str]): Folders to look for ``nvidia/*/include`` in (``sys.path``).

    Returns:
        list[str]: Include folders (empty when the toolkit has ``cusparse.h`` itself).
    """
    if cuda_home and osp.exists(osp.join(cuda_home, 'include', 'cusparse.h')):
        return []
    found: List[str] = []
    for site in site_dirs:
        root = osp.join(site, 'nvidia')
        if not osp.isdir(root):
            continue
        for pkg in sorted(os.listdir(root)):
            inc = osp.join(root, pkg, 'include')
            if osp.isdir(inc) and inc not in found:
                found.append(inc)
    return found


def _name(line: str) -> Optional[str]:
    match = re.match(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(==|>=|<=|<|>|~=|!=)', line)
    return match.group(1) if match else None


def _norm(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def effective_constraints(
    lines: Sequence[str],
    system_pins: Dict[str, str],
    overrides: Sequence[str] = (),
) -> List[str]:
    """The constraints pip installs with on this machine.

    Args:
        lines (Sequence[str]): ``requirements/constraints.txt``.
        system_pins (dict): Packages the machine already has and that must not be replaced
            (``{'torch': '2.11.0+cu130', 'numpy': '2.3.4'}``): their pins are replaced by the
            installed version, and the rest of torch's own stack (torchvision, triton, nvidia-*,
            cuda-*) is unpinned when torch is a system package.
        overrides (Sequence[str]): Lines that replace the pin of the same package
            (``requirements/constraints-numpy2.txt`` with a numpy 2 machine).

    Returns:
        list[str]: Constraint lines.
    """
    pins = {_norm(k): v for k, v in system_pins.items()}
    over = {_norm(n): line.strip() for line in overrides if (n := _name(line))}
    out: List[str] = []
    for line in lines:
        name = _name(line)
        key = _norm(name) if name else None
        if key is None:
            out.append(line.rstrip('\n'))
        elif key in pins or key in over:
            continue
        elif 'torch' in pins and TORCH_STACK.match(name):
            continue
        else:
            out.append(line.rstrip('\n'))
    out += [f'{name}=={version}' for name, version in system_pins.items()]
    out += [line for key, line in over.items() if key not in pins]
    return out


# ------------------------------------------------------------------------------------- probing
def _probe_torch() -> Dict[str, object]:
    try:
        import torch
    except Exception as exc:  # torch missing or broken: report, the caller decides
        return dict(error=f'{type(exc).__name__}: {exc}')
    info: Dict[str, object] = dict(version=torch.__version__, cuda=torch.version.cuda)
    header = osp.join(osp.dirname(torch.__file__), 'include', 'ATen', 'ATen.h')
    info['aten_header'] = open(header).read() if osp.exists(header) else None
    caps: List[Tuple[int, int]] = []
    names: List[str] = []
    if torch.version.cuda and torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            caps.append(tuple(torch.cuda.get_device_capability(i)))
            names.append(torch.cuda.get_device_name(i))
    info['capabilities'] = caps
    info['devices'] = names
    try:
        from torch.utils.cpp_extension import CUDA_HOME

        info['cuda_home'] = CUDA_HOME
    except Exception:  # cpp_extension needs setuptools; CUDA_HOME then counts as unknown
        info['cuda_home'] = None
    try:
        import torchvision

        info['torchvision'] = torchvision.__version__
    except Exception:  # one that does not import (e.g. built for another torch) counts as absent
        info['torchvision'] = None
    return info


def _probe_numpy() -> Optional[str]:
    try:
        import numpy
    except ImportError:
        return None
    return numpy.__version__


def _mem_gib() -> Optional[float]:
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def _pinned(lines: Sequence[str], name: str) -> Optional[str]:
    for line in lines:
        if _name(line) and _norm(_name(line)) == name:
            return line.split('==', 1)[1].strip() if '==' in line else None
    return None


def settings(args: argparse.Namespace) -> Dict[str, str]:
    """Everything install.sh needs, from this interpreter's torch/numpy and the environment."""
    with open(args.constraints) as f:
        lines = f.read().splitlines()
    env = os.environ
    out: Dict[str, str] = dict(TORCH_MODE=args.torch)
    torch_info = _probe_torch()
    if 'error' in torch_info:
        if args.torch == 'system':
            raise SystemExit(
                f'FASRNET_TORCH=system but torch does not import with {sys.executable} '
                f'({torch_info["error"]}): install torch there first, or unset FASRNET_TORCH'
            )
        # before the pinned torch is installed (dry run): the pinned version, CUDA unknown
        torch_info = dict(
            version=_pinned(lines, 'torch') or '?',
            cuda=None,
            aten_header=None,
            capabilities=[],
            devices=[],
            cuda_home=None,
            torchvision=_pinned(lines, 'torchvision'),
        )
        out['TORCH_PROBED'] = '0'
    else:
        out['TORCH_PROBED'] = '1'
    out['TORCH_VERSION'] = str(torch_info['version'])
    out['TORCHVISION_VERSION'] = str(torch_info['torchvision'] or '')
    out['TORCH_CUDA'] = cuda_tag(torch_info['cuda'])
    out['GPUS'] = ', '.join(
        f'{n} (cc {a}.{b})' for n, (a, b) in zip(torch_info['devices'], torch_info['capabilities'])
    )
    out['CUDA_HOME_FOUND'] = str(torch_info['cuda_home'] or '')

    # mmcv with CUDA ops: a visible GPU + nvcc, unless FORCE_CUDA says otherwise
    if env.get('FORCE_CUDA') in ('0', '1'):
        force = env['FORCE_CUDA'] == '1'
    else:
        force = bool(torch_info['capabilities']) and bool(torch_info['cuda_home'])
    out['FORCE_CUDA'] = '1' if force else '0'
    archs = env.get('TORCH_CUDA_ARCH_LIST') or arch_list(torch_info['capabilities'])
    out['TORCH_CUDA_ARCH_LIST'] = archs if force else ''
    cuda_home = torch_info['cuda_home']
    out['CUDA_CPATH'] = (
        ':'.join(pip_cuda_include_dirs(str(cuda_home) if cuda_home else None, sys.path))
        if force
        else ''
    )
    if torch_info['capabilities'] and not torch_info['cuda_home'] and not force:
        out['WARNING'] = (
            'a GPU is visible but no CUDA toolkit (nvcc / CUDA_HOME) was found: mmcv gets CPU '
            'ops only; install the CUDA toolkit matching torch and rerun'
        )
    out['MAX_JOBS'] = env.get('MAX_JOBS') or str(max_jobs(os.cpu_count() or 1, _mem_gib()))
    std, source = cxx_std(str(torch_info['version']), torch_info['aten_header'])
    out['CXX_STD'] = env.get('FASRNET_CXX_STD') or std
    out['CXX_STD_SOURCE'] = 'FASRNET_CXX_STD' if env.get('FASRNET_CXX_STD') else source
    out['MMCV_CACHE'] = cache_dir(
        args.cache_root, str(torch_info['version']), torch_info['cuda'], archs if force else ''
    )

    # numpy: the pinned 1.26.4, or the machine's (with the numpy-2 overrides)
    numpy_version = _probe_numpy()
    numpy_mode = args.numpy
    if numpy_mode == 'auto':
        numpy_mode = 'system' if args.torch == 'system' and numpy_version else 'pinned'
    if numpy_mode == 'system' and not numpy_version:
        raise SystemExit(
            f'FASRNET_NUMPY=system but numpy does not import with {sys.executable}: '
            'install numpy there first, or use FASRNET_NUMPY=pinned'
        )
    out['NUMPY_MODE'] = numpy_mode
    target_numpy = numpy_version if numpy_mode == 'system' else _pinned(lines, 'numpy')
    out['NUMPY_VERSION'] = str(target_numpy)
    out['NUMPY2'] = '1' if target_numpy and parse_version(target_numpy) >= (2,) else '0'

    system_pins: Dict[str, str] = {}
    if args.torch == 'system':
        system_pins['torch'] = str(torch_info['version'])
        if torch_info['torchvision']:
            system_pins['torchvision'] = str(torch_info['torchvision'])
    if numpy_mode == 'system':
        system_pins['numpy'] = str(numpy_version)
    overrides: List[str] = []
    if out['NUMPY2'] == '1':
        with open(NUMPY2_CONSTRAINTS) as f:
            overrides = [ln for ln in f.read().splitlines() if _name(ln)]
    if args.write_constraints:
        with open(args.write_constraints, 'w') as f:
            f.write('\n'.join(effective_constraints(lines, system_pins, overrides)) + '\n')
        out['CONSTRAINTS'] = args.write_constraints
    return out


def without_torch(lines: Sequence[str]) -> List[str]:
    """Constraints for a wheelhouse: all but torch's own stack (the target machine has it)."""
    return [ln for ln in lines if not ((n := _name(ln)) and TORCH_STACK.match(n))]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    w = sub.add_parser('wheelhouse-constraints', help='constraints without the torch stack')
    w.add_argument('--constraints', required=True)
    w.add_argument('--out', required=True)
    p = sub.add_parser('settings', help='print NAME=value lines for install.sh')
    p.add_argument('--constraints', required=True)
    p.add_argument('--torch', choices=('pinned', 'system'), default='pinned')
    p.add_argument('--numpy', choices=('auto', 'pinned', 'system'), default='auto')
    p.add_argument(
        '--cache-root',
        default=osp.join(osp.expanduser('~'), '.cache', 'fasrnet_mmpose', 'wheels'),
    )
    p.add_argument('--write-constraints', default=None, help='write the effective constraints')
    args = parser.parse_args(argv)
    if args.cmd == 'wheelhouse-constraints':
        with open(args.constraints) as f:
            lines = f.read().splitlines()
        with open(args.out, 'w') as f:
            f.write('\n'.join(without_torch(lines)) + '\n')
        return 0
    for key, value in settings(args).items():
        print(f'{key}={shlex.quote(value)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
