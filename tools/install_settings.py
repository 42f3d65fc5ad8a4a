# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/install.sh``'s settings (mmcv build flags, wheel cache, constraints) as ``NAME='value'``
lines it ``eval``s (README "Installation"); ``wheelhouse-constraints``: make_wheelhouse's pins."""

import argparse
import importlib
import os
import os.path as osp
import re
import shlex
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

MMCV_VERSION = '2.1.0'
#: torch's own stack, installed by the machine when FASRNET_TORCH=system: never pinned or replaced
TORCH_STACK = re.compile(r'^(torch|torchvision|triton|nvidia-[\w-]+|cuda-[\w-]+)$', re.I)
REQUIREMENTS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'requirements')
NUMPY2_CONSTRAINTS = osp.join(REQUIREMENTS, 'constraints-numpy2.txt')


def parse_version(text: str) -> Tuple[int, ...]:
    """``'2.11.0+cu130'`` -> ``(2, 11, 0)`` (local and pre-release parts dropped)."""
    return tuple(int(n) for n in re.findall(r'\d+', re.split(r'\+|a|rc', text)[0])[:3])


def cxx_std(torch_version: str, aten_header: Optional[str] = None) -> Tuple[str, str]:
    """(``'c++17'``/``'c++20'``, source): from ``ATen/ATen.h``'s ``__cplusplus`` or the version."""
    match = re.search(r'__cplusplus\s*<\s*(\d{4})\d\dL', aten_header or '')
    if match:
        return ('c++20' if int(match.group(1)) >= 2020 else 'c++17'), 'ATen.h'
    return ('c++20' if parse_version(torch_version) >= (2, 14) else 'c++17'), 'torch version'


def arch_list(capabilities: Iterable[Tuple[int, int]]) -> str:
    """``TORCH_CUDA_ARCH_LIST`` of the visible devices: ``[(9, 0), (8, 6)]`` -> ``'8.6;9.0'``."""
    return ';'.join(f'{major}.{minor}' for major, minor in sorted(set(capabilities)))


def max_jobs(cpu_count: int, mem_gib: Optional[float]) -> int:
    """Parallel compile jobs: one per core, at most one per 2 GiB of memory (nvcc jobs are big)."""
    return max(1, min(cpu_count, int(mem_gib // 2)) if mem_gib else cpu_count)


def cuda_tag(cuda_version: Optional[str]) -> str:
    """``torch.version.cuda`` -> ``'cu130'``; ``None`` (CPU build of torch) -> ``'cpu'``."""
    return 'cu' + ''.join(cuda_version.split('.')[:2]) if cuda_version else 'cpu'


def cache_dir(root: str, torch_version: str, cuda_version: Optional[str], archs: str) -> str:
    """Built-mmcv cache per torch, CUDA, ops: ``<root>/mmcv-2.1.0_torch-2.11.0_cu130_ops-sm90``."""
    ops = '-'.join('sm' + a.replace('.', '') for a in archs.split(';')) if archs else 'cpu'
    name = f'mmcv-{MMCV_VERSION}_torch-{torch_version.split("+")[0]}_{cuda_tag(cuda_version)}'
    return osp.join(root, f'{name}_ops-{ops}')


def pip_cuda_include_dirs(cuda_home: Optional[str], site_dirs: Sequence[str]) -> List[str]:
    """``nvidia/*/include`` of ``site_dirs`` (for ``CPATH``) if ``cuda_home`` lacks cusparse.h."""
    if cuda_home and osp.exists(osp.join(cuda_home, 'include', 'cusparse.h')):
        return []
    roots = [r for r in (osp.join(site, 'nvidia') for site in site_dirs) if osp.isdir(r)]
    incs = [osp.join(r, pkg, 'include') for r in roots for pkg in sorted(os.listdir(r))]
    return list(dict.fromkeys(inc for inc in incs if osp.isdir(inc)))


def _name(line: str) -> Optional[str]:
    """The normalised package name of a pinned requirement line, else None."""
    match = re.match(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(==|>=|<=|<|>|~=|!=)', line)
    return re.sub(r'[-_.]+', '-', match.group(1)).lower() if match else None


def effective_constraints(
    lines: Sequence[str], system_pins: Dict[str, str], overrides: Sequence[str] = ()
) -> List[str]:
    """The constraints pip installs with: ``lines`` (constraints.txt) with the pins of
    ``system_pins`` (installed packages never replaced, e.g. ``{'torch': '2.11.0+cu130'}``; with
    torch, the rest of its stack unpinned) and ``overrides`` (the numpy-2 file) replaced."""
    pins = {_name(f'{k}==') for k in system_pins}
    over = {_name(line): line.strip() for line in overrides if _name(line)}

    def replaced(name):
        return name in pins or name in over or ('torch' in pins and TORCH_STACK.match(name))

    out = [ln.rstrip('\n') for ln in lines if not (_name(ln) and replaced(_name(ln)))]
    out += [f'{k}=={v}' for k, v in system_pins.items()]
    return out + [line for name, line in over.items() if name not in pins]


def without_torch(lines: Sequence[str]) -> List[str]:
    """Constraints for a wheelhouse: all but torch's own stack (the target machine has it)."""
    return [ln for ln in lines if not ((n := _name(ln)) and TORCH_STACK.match(n))]


def _version(module: str) -> Optional[str]:
    """``module.__version__``, or None if it does not import (e.g. built for another torch)."""
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return None


def _probe_torch(pinned: Dict[str, str]) -> Dict[str, object]:
    """This interpreter's torch (version, CUDA, ATen.h, devices, ...), else the ``pinned`` ones."""
    info = dict(version=pinned.get('torch', '?'), cuda=None, aten_header=None, cuda_home=None)
    info.update(capabilities=[], devices=[], torchvision=pinned.get('torchvision'), probed=False)
    if _version('torch') is None:
        return info
    import torch

    header = osp.join(osp.dirname(torch.__file__), 'include', 'ATen', 'ATen.h')
    n = torch.cuda.device_count() if torch.version.cuda and torch.cuda.is_available() else 0
    info.update(version=torch.__version__, cuda=torch.version.cuda, probed=True)
    info['aten_header'] = open(header).read() if osp.exists(header) else None
    info['capabilities'] = [tuple(torch.cuda.get_device_capability(i)) for i in range(n)]
    info['devices'] = [torch.cuda.get_device_name(i) for i in range(n)]
    info['torchvision'] = _version('torchvision')
    try:  # cpp_extension needs setuptools; CUDA_HOME then counts as unknown
        info['cuda_home'] = importlib.import_module('torch.utils.cpp_extension').CUDA_HOME
    except Exception:
        pass
    return info


def settings(args: argparse.Namespace) -> Dict[str, str]:
    """Everything install.sh needs, from this interpreter's torch/numpy and the environment."""
    with open(args.constraints) as f:
        lines = f.read().splitlines()
    pinned = {_name(ln): ln.split('==', 1)[1].strip() for ln in lines if _name(ln) and '==' in ln}
    env, info = os.environ, _probe_torch(pinned)
    if not info['probed'] and args.torch == 'system':
        raise SystemExit(
            f'FASRNET_TORCH=system but torch does not import with {sys.executable}: install '
            'torch there first, or unset FASRNET_TORCH'
        )
    out = dict(TORCH_MODE=args.torch, TORCH_PROBED=str(int(info['probed'])))
    caps, cuda_home = info['capabilities'], info['cuda_home']
    gpus = ', '.join(f'{n} (cc {a}.{b})' for n, (a, b) in zip(info['devices'], caps))
    out.update(TORCH_VERSION=info['version'], TORCHVISION_VERSION=info['torchvision'] or '')
    out.update(TORCH_CUDA=cuda_tag(info['cuda']), GPUS=gpus, CUDA_HOME_FOUND=cuda_home or '')
    # mmcv with CUDA ops: a visible GPU + nvcc, unless FORCE_CUDA says otherwise
    forced = env.get('FORCE_CUDA')
    force = forced == '1' if forced in ('0', '1') else bool(caps and cuda_home)
    archs = (env.get('TORCH_CUDA_ARCH_LIST') or arch_list(caps)) if force else ''
    out.update(FORCE_CUDA=str(int(force)), TORCH_CUDA_ARCH_LIST=archs)
    out['CUDA_CPATH'] = ':'.join(pip_cuda_include_dirs(cuda_home, sys.path)) if force else ''
    if caps and not cuda_home and not force:
        out['WARNING'] = (
            'a GPU is visible but no CUDA toolkit (nvcc / CUDA_HOME) was found: mmcv gets CPU '
            'ops only; install the CUDA toolkit matching torch and rerun'
        )
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    out['MAX_JOBS'] = env.get('MAX_JOBS') or str(max_jobs(os.cpu_count() or 1, mem))
    std, source = cxx_std(info['version'], info['aten_header'])
    if env.get('FASRNET_CXX_STD'):
        std, source = env['FASRNET_CXX_STD'], 'FASRNET_CXX_STD'
    out.update(CXX_STD=std, CXX_STD_SOURCE=source)
    out['MMCV_CACHE'] = cache_dir(args.cache_root, info['version'], info['cuda'], archs)
    # numpy: the pinned one, or the machine's (then with the numpy-2 overrides)
    numpy_version, mode = _version('numpy'), args.numpy
    if mode == 'auto':
        mode = 'system' if args.torch == 'system' and numpy_version else 'pinned'
    if mode == 'system' and not numpy_version:
        raise SystemExit(
            f'FASRNET_NUMPY=system but numpy does not import with {sys.executable}: install numpy '
            'there first, or use FASRNET_NUMPY=pinned'
        )
    target = numpy_version if mode == 'system' else pinned.get('numpy')
    numpy2 = bool(target) and parse_version(target) >= (2,)
    out.update(NUMPY_MODE=mode, NUMPY_VERSION=str(target), NUMPY2=str(int(numpy2)))
    system_pins = dict(torch=info['version'], torchvision=info['torchvision'], numpy=numpy_version)
    kept = ('torch', 'torchvision') * (args.torch == 'system') + ('numpy',) * (mode == 'system')
    system_pins = {k: v for k, v in system_pins.items() if v and k in kept}
    if args.write_constraints:
        overrides = open(NUMPY2_CONSTRAINTS).read().splitlines() if numpy2 else []
        with open(args.write_constraints, 'w') as f:
            f.write('\n'.join(effective_constraints(lines, system_pins, overrides)) + '\n')
        out['CONSTRAINTS'] = args.write_constraints
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    w = sub.add_parser('wheelhouse-constraints', help='constraints without the torch stack')
    p = sub.add_parser('settings', help='print NAME=value lines for install.sh')
    for part in (w, p):
        part.add_argument('--constraints', required=True)
    w.add_argument('--out', required=True)
    p.add_argument('--torch', choices=('pinned', 'system'), default='pinned')
    p.add_argument('--numpy', choices=('auto', 'pinned', 'system'), default='auto')
    cache = osp.join(osp.expanduser('~'), '.cache', 'fasrnet_mmpose', 'wheels')
    p.add_argument('--cache-root', default=cache)
    p.add_argument('--write-constraints', default=None, help='write the effective constraints')
    args = parser.parse_args(argv)
    if args.cmd == 'wheelhouse-constraints':
        with open(args.constraints) as f, open(args.out, 'w') as out:
            out.write('\n'.join(without_torch(f.read().splitlines())) + '\n')
        return 0
    for key, value in settings(args).items():
        print(f'{key}={shlex.quote(value)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
