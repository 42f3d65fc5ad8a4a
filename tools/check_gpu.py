# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a CUDA install in < 5 min: mmcv's CUDA ops, each DCN on the official head fixture,
fp16/bf16, training at batch 64, the benchmarks; one table, exit 1 without CUDA or on a FAIL."""

import argparse
import contextlib
import io
import os
import os.path as osp
import platform
import runpy
import signal
import subprocess
import sys
import time
from functools import partial
from typing import Callable, Dict, List, Optional

PROJECT_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)  # runs from the repository, the plugin need not be installed

import mmengine  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fasrnet_mmpose.utils.benchmark import format_table as markdown_table  # noqa: E402

FIXTURES = osp.join(osp.dirname(PROJECT_ROOT), 'shared', 'fixtures')
DEFAULT_FIXTURE = osp.join(FIXTURES, 'official_head', 'fasrnet_head_official.npz')
CONFIG_DIR = osp.join(PROJECT_ROOT, 'configs', 'fasrnet')
OFFICIAL_CONFIG = osp.join(CONFIG_DIR, 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py')
FIXTURE_TOL = 1e-4
#: autocast vs float32 on the fixture head: max |diff| / max |float32 output|
AMP_TOL = {'float16': 1e-2, 'bfloat16': 5e-2}
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')
#: seconds each benchmark tool may run (``--timeout``)
TOOL_TIMEOUT = 240
SKIPPABLE = ('ops', 'fixture', 'amp', 'train', 'benchmarks')
COLUMNS = ('check', 'status', 'value', 'detail')
#: official-mode outputs of the batch of 3 and of each sample alone
OUTPUTS = ('outputs/heatmaps_frm', 'outputs/heatmaps_srm')
OUTPUTS_EACH = tuple(k.replace('outputs', 'outputs_b1_each') for k in OUTPUTS)


def row(check: str, status: str, value: str = '', detail: str = '') -> Dict[str, str]:
    """One table row; ``status`` is PASS, FAIL, SKIP or INFO."""
    assert status in ('PASS', 'FAIL', 'SKIP', 'INFO'), status
    return dict(check=check, status=status, value=value, detail=detail)


def format_table(rows: List[Dict[str, str]]) -> str:
    """The rows as one aligned markdown table (pasteable into the README)."""
    return markdown_table(COLUMNS, [[r[c] for c in COLUMNS] for r in rows])


def _guarded(checks: Dict[str, Callable]) -> List[Dict[str, str]]:
    """Per ``{check: fn}``: ``fn()``'s rows or ``row(check, *fn())``; a FAIL row if it raises."""
    rows = []
    for check, fn in checks.items():
        try:
            out = fn()
            rows += out if isinstance(out, list) else [row(check, *out)]
        except (Exception, SystemExit) as exc:
            rows.append(row(check, 'FAIL', '', f'{type(exc).__name__}: {exc}'[:200]))
    return rows


def _max_diff(a: torch.Tensor, b) -> float:
    return (a.float().cpu() - torch.as_tensor(b).float().cpu()).abs().max().item()


def load_fixture(path: str) -> Dict[str, np.ndarray]:
    """The official head fixture (``fasrnet_head_official.npz``) as a dict of arrays."""
    with np.load(path, allow_pickle=False) as z:
        return dict(z)


def build_fixture_head(fixture: Dict[str, np.ndarray], dcn_impl: Optional[str] = None):
    """``FaSRHead`` (official mode, eval, CPU) with the fixture's converted official weights."""
    from fasrnet_mmpose.models.heads import FaSRHead
    from fasrnet_mmpose.utils.official_checkpoint import convert_state_dict

    n = len('state_dict/')
    state = {k[n:]: torch.from_numpy(v) for k, v in fixture.items() if k.startswith('state_dict/')}
    converted = {k[len('head.') :]: v for k, v in convert_state_dict(state).items()}
    head = FaSRHead(**({} if dcn_impl is None else dict(dcn_impl=dcn_impl)))
    missing, unexpected = head.load_state_dict(converted, strict=False)
    if sorted(missing) != ['final_layer.bias', 'final_layer.weight'] or unexpected:  # rough conv
        raise RuntimeError(f'fixture weights do not fit FaSRHead: {missing[:5]}, {unexpected[:5]}')
    return head.eval()


def fixture_inputs(fixture: Dict[str, np.ndarray], device='cpu') -> List[torch.Tensor]:
    """``features [B, 3, C, h, w]``, ``rough [B, 3, K, h, w]``, ``margins [B, 2]`` on ``device``."""
    b = len(fixture['inputs/margin'])
    inputs = [torch.from_numpy(fixture[k]) for k in ('inputs/features', 'inputs/rough_heatmaps')]
    inputs = [t.unflatten(0, (3, b)).transpose(0, 1).contiguous() for t in inputs]
    return [t.to(device) for t in (*inputs, torch.from_numpy(fixture['inputs/margin']))]


def compare_on_fixture(fixture, device_a, device_b, dcn_impl: Optional[str] = None) -> dict:
    """Max abs ``a_vs_b``, ``a_vs_fixture``, ``b_vs_fixture`` of ``[H^F, H^S]`` (batch, alone)."""
    head = build_fixture_head(fixture, dcn_impl)

    def run(device):
        inputs = fixture_inputs(fixture, device)
        with torch.no_grad():
            out = list(head.to(device).refine(*inputs))
            each = [head.refine(*(t[i : i + 1] for t in inputs)) for i in range(len(inputs[2]))]
        return out + [torch.cat(e) for e in zip(*each)]

    a, b, fx = run(device_a), run(device_b), [fixture[k] for k in OUTPUTS + OUTPUTS_EACH]
    pairs = dict(a_vs_b=(a, b), a_vs_fixture=(a, fx), b_vs_fixture=(b, fx))
    return {k: max(map(_max_diff, *pair)) for k, pair in pairs.items()}


def check_fixture(fixture_path: str, device: torch.device) -> List[Dict[str, str]]:
    """Rows: each DCN implementation, ``device`` vs CPU vs the official fixture."""
    if not osp.exists(fixture_path):
        return [row('DCN on official fixture', 'SKIP', '', f'no fixture at {fixture_path}')]
    fixture, dev = load_fixture(fixture_path), device.type

    def compare(impl):
        d = compare_on_fixture(fixture, torch.device('cpu'), device, impl)
        detail = (
            f'max |{dev} - cpu| {d["a_vs_b"]:.1e}, |cpu - fixture| {d["a_vs_fixture"]:.1e}, '
            f'|{dev} - fixture| {d["b_vs_fixture"]:.1e} (tol {FIXTURE_TOL:g}; official mode, '
            'batch 3 and each sample alone)'
        )
        return 'PASS' if max(d.values()) <= FIXTURE_TOL else 'FAIL', f'{d["a_vs_b"]:.1e}', detail

    return _guarded({f'DCN {i}: {dev} = cpu = fixture': partial(compare, i) for i in DCN_IMPLS})


def check_amp(fixture_path: str, device: torch.device) -> List[Dict[str, str]]:
    """Rows: fp16/bf16 autocast forward and MSE training step, finite and within :data:`AMP_TOL`."""
    if not osp.exists(fixture_path):
        return [row('autocast fp16/bf16', 'SKIP', '', f'no fixture at {fixture_path}')]
    fixture = load_fixture(fixture_path)

    def check(name):
        tol, dtype, inputs = AMP_TOL[name], getattr(torch, name), fixture_inputs(fixture, device)
        head = build_fixture_head(fixture).to(device)
        with torch.no_grad():
            ref = head.refine(*inputs)
            with torch.autocast(device.type, dtype=dtype):
                amp = head.refine(*inputs)
        rel = max(_max_diff(a, r) / r.abs().max().item() for a, r in zip(amp, ref))
        scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
        with torch.autocast(device.type, dtype=dtype):
            out = head.train().refine(*inputs)
            targets = [torch.from_numpy(fixture[k]).to(device) for k in OUTPUTS]
            loss = sum(torch.nn.functional.mse_loss(o.float(), t) for o, t in zip(out, targets))
        scaler.scale(loss).backward()
        grads = [p.grad for p in head.parameters() if p.grad is not None]
        finite = all(torch.isfinite(t).all().item() for t in [*amp, loss, *grads])
        detail = f'max |{name} - fp32| / max |fp32| = {rel:.1e} (tol {tol:g}); outputs, loss, '
        detail += f'gradients finite: {finite}'
        return 'PASS' if finite and rel <= tol else 'FAIL', f'{rel:.1e}', detail

    return _guarded({f'autocast {n}: forward + train step': partial(check, n) for n in AMP_TOL})


def check_mmcv_ops(device: torch.device) -> List[Dict[str, str]]:
    """Row: mmcv compiled with CUDA, and its ``modulated_deform_conv2d`` on ``device`` = CPU."""
    from mmcv.ops import get_compiling_cuda_version, modulated_deform_conv2d

    from fasrnet_mmpose.models.modules.deform_conv import mmcv_has_cuda_ops

    if not mmcv_has_cuda_ops():
        hint = (
            'mmcv was built without CUDA: rerun tools/install.sh on this machine (FORCE_CUDA=1 is '
            'set automatically when a GPU and nvcc are visible)'
        )
        return [row('mmcv CUDA ops', 'FAIL', 'CPU ops only', hint)]
    inputs = [torch.randn(2, 8, 12, 10), torch.randn(2, 18, 12, 10), torch.rand(2, 9, 12, 10)]
    inputs.append(torch.randn(8, 8, 3, 3))  # x, offset, mask, weight

    def compare():
        run = [modulated_deform_conv2d(*inputs, None, 1, 1, 1, 1, 1)]  # CPU
        run.append(modulated_deform_conv2d(*(t.to(device) for t in inputs), None, 1, 1, 1, 1, 1))
        diff, cuda = _max_diff(*run), f'CUDA {get_compiling_cuda_version()}'
        detail = f'modulated_deform_conv2d on {device} vs cpu: max |diff| {diff:.1e}'
        return 'PASS' if diff <= FIXTURE_TOL else 'FAIL', cuda, detail

    return _guarded({'mmcv CUDA ops': compare})


def train_command(device: torch.device, batch: int, steps: int) -> List[str]:
    """``tools/benchmark_train.py`` arguments: official PT17 config, synthetic frames."""
    options = f'--device {device} --batch-size {batch} --steps {steps} --warmup 1 --loader-batches'
    options += f' 1 --num-workers {min(8, os.cpu_count() or 1)} --frame-size 640 360'
    return ['tools/benchmark_train.py', OFFICIAL_CONFIG, *options.split()]


def benchmark_commands(device: torch.device) -> Dict[str, List[str]]:
    """The model benchmark at batch 1, 16, 64 and the inference benchmark on the shipped clip."""
    model = f'tools/benchmark_model.py --device {device} --batch-size 1 16 64'.split()
    return dict(model=model, inference=f'tools/benchmark_inference.py --device {device}'.split())


def run_tool(command: List[str], timeout: int = TOOL_TIMEOUT):
    """Run ``tools/X.py``'s ``main(command[1:])`` here: its result, printed output and seconds.
    After ``timeout`` s a ``TimeoutError`` ends it (when Python next runs: a CUDA call that
    hangs inside C is not interrupted) and the check becomes a FAIL row."""
    tool = runpy.run_path(osp.join(PROJECT_ROOT, command[0]))  # its __name__ is not __main__
    out, t0 = io.StringIO(), time.perf_counter()

    def expire(*_):
        raise TimeoutError(f'{command[0]} ran longer than {timeout} s (--timeout)')

    previous, threads = signal.signal(signal.SIGALRM, expire), torch.get_num_threads()
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out):
            result = tool['main'](command[1:])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_num_threads(threads)  # a tool's --threads must not carry into the next check
        print(out.getvalue(), flush=True)
    return result, out.getvalue(), time.perf_counter() - t0


def check_train(
    device: torch.device, batch: int, steps: int, timeout: int = TOOL_TIMEOUT
) -> List[Dict[str, str]]:
    """Row: time per iteration and peak GPU memory of the official PT17 config's training."""
    res, _, secs = run_tool(train_command(device, batch, steps), timeout)
    detail = (
        f'{res["step_samples_per_s"]:.1f} samples/s, peak GPU memory '
        f'{res["peak_mem_mib"] / 1024:.1f} GiB (paper: batch 64 on 24 GB); synthetic frames, '
        f'{steps} measured iterations ({secs:.0f} s in all)'
    )
    check = f'train official PT17 config, batch {batch}'
    return [row(check, 'INFO', f'{res["step_s"]:.3f} s/iter', detail)]


def check_benchmarks(device: torch.device, timeout: int = TOOL_TIMEOUT) -> List[Dict[str, str]]:
    """Rows: FaSRnet vs the floor per batch, and the inference benchmark's ratio line."""
    commands = benchmark_commands(device)

    def model():
        result, _, secs = run_tool(commands['model'], timeout)
        detail = []
        for b, rows in result.items():
            t = next(r for r in rows if r['target'])
            detail.append(f'batch {b}: {t["ratio"]:.2f}x floor, {t["persons_per_s"]:.1f} persons/s')
        return 'INFO', f'{secs:.0f} s', '; '.join(detail)

    def inference():
        code, out, secs = run_tool(commands['inference'], timeout)
        if code:
            return 'FAIL', f'{secs:.0f} s', f'exit {code}'
        lines = [' '.join(ln.split()) for ln in out.splitlines() if ln.strip()] or ['']
        return 'INFO', f'{secs:.0f} s', next((x for x in lines if x.startswith('ratio')), lines[-1])

    names = ('benchmark_model.py, batch 1/16/64', 'benchmark_inference.py, shipped clip')
    return _guarded(dict(zip(names, (model, inference))))


def environment_rows(device: torch.device) -> List[Dict[str, str]]:
    """INFO rows: GPU (on CUDA), Python/numpy, torch/CUDA/cuDNN, mmcv."""
    import mmcv

    cuda = f'CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}'
    rows = [
        row('python / numpy', 'INFO', platform.python_version(), f'numpy {np.__version__}'),
        row('torch / CUDA / cuDNN', 'INFO', torch.__version__, cuda),
        row('mmcv', 'INFO', mmcv.__version__),
    ]
    if device.type == 'cuda':
        query = 'nvidia-smi --query-gpu=driver_version --format=csv,noheader'
        code, driver = subprocess.getstatusoutput(query)
        driver = driver.split()[0] if code == 0 and driver.strip() else '?'
        gpu = torch.cuda.get_device_properties(device)
        detail = f'cc {gpu.major}.{gpu.minor}, {gpu.total_memory / 2**30:.0f} GiB, driver {driver}'
        rows.insert(0, row('GPU', 'INFO', gpu.name, f'{detail}, {os.cpu_count()} CPUs'))
    return rows


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--device', default='cuda', help="CUDA device, e.g. 'cuda' or 'cuda:1'")
    parser.add_argument('--fixture', default=DEFAULT_FIXTURE, help='official head fixture (.npz)')
    parser.add_argument('--skip', default='', help=f'checks to leave out: {",".join(SKIPPABLE)}')
    parser.add_argument('--train-batch', type=int, default=64, help='training batch')
    parser.add_argument('--train-steps', type=int, default=3, help='measured training iterations')
    parser.add_argument('--json-out', help='also write the table rows to this JSON file')
    parser.add_argument(
        '--timeout', type=int, default=TOOL_TIMEOUT, help='seconds each benchmark tool may run'
    )
    args = parser.parse_args(argv)
    args.skip = {s for s in args.skip.split(',') if s}
    unknown = sorted(args.skip - set(SKIPPABLE))
    if unknown:
        parser.error(f'--skip: unknown check(s) {unknown}; choose from {",".join(SKIPPABLE)}')
    if not args.device.startswith('cuda'):
        parser.error(f"--device must be a CUDA device ('cuda', 'cuda:N'), not '{args.device}'")
    if args.train_batch < 1 or args.train_steps < 1:
        parser.error('--train-batch and --train-steps must be >= 1')
    return args


def run_checks(args: argparse.Namespace, device: torch.device) -> List[Dict[str, str]]:
    """The environment rows, then each check not in ``args.skip`` (one raising is a FAIL row)."""
    from mmengine.registry import init_default_scope

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)

    init_default_scope('mmpose')
    checks = dict(
        ops=partial(check_mmcv_ops, device),
        fixture=partial(check_fixture, args.fixture, device),
        amp=partial(check_amp, args.fixture, device),
        train=partial(check_train, device, args.train_batch, args.train_steps, args.timeout),
        benchmarks=partial(check_benchmarks, device, args.timeout),
    )
    checks.update({key: lambda: ('SKIP', '', '--skip') for key in args.skip})
    return environment_rows(device) + _guarded(checks)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        cuda = torch.version.cuda or 'none'
        print(
            f'check_gpu.py needs a CUDA GPU: torch {torch.__version__} (CUDA build: {cuda}) sees '
            'no CUDA device. Run it on the GPU machine (README "Performance / GPU").',
            file=sys.stderr,
        )
        return 1
    t0 = time.perf_counter()
    rows = run_checks(args, torch.device(args.device))
    now = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    rows.append(row('total time', 'INFO', f'{time.perf_counter() - t0:.0f} s', now))
    print(format_table(rows))
    if args.json_out:
        mmengine.dump(rows, args.json_out, file_format='json', indent=2)
    return int(any(r['status'] == 'FAIL' for r in rows))


if __name__ == '__main__':
    sys.exit(main())
