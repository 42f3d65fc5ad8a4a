# Copyright (c) OpenMMLab. All rights reserved.
"""Validate a CUDA install of fasrnet_mmpose in one command (< 5 min on one GPU); one table.

Checks, in this order (each row PASS / FAIL / SKIP / INFO with its value):

1. environment: GPU, compute capability, driver, torch / CUDA / cuDNN / numpy / mmcv versions;
2. mmcv's CUDA ops: compiled with CUDA, and a modulated deformable conv runs on the GPU;
3. the official head fixture (``../shared/fixtures/official_head``): every deformable-conv
   implementation the head offers (``FaSRHead(dcn_impl=...)``; the default one when the installed
   head has no ``dcn_impl`` yet) computes on CUDA the same ``H^F`` / ``H^S`` as on CPU and as the
   fixture (max abs diff <= 1e-4), in the official mode (emulated offset buffer) for the batch
   of 3 and for each sample alone (the buffer makes official outputs batch dependent);
4. fp16 and bf16 autocast: head forward and a training step (loss, backward) finite, outputs
   within ``AMP_TOL`` of float32;
5. a few training iterations of the official PoseTrack17 config at batch 64 on synthetic frames
   (``tools/benchmark_train.py``): seconds per iteration and peak GPU memory (the paper trains
   batch 64 on a 24 GB GPU);
6. ``tools/benchmark_model.py --device cuda --batch-size 1 16 64`` and
   ``tools/benchmark_inference.py --device cuda`` (shipped clip); their own output is printed
   above the table.

Runs from the repository (the repo root is put on ``sys.path``; only the plugin's dependencies
need to be installed). Whatever the machine lacks (CUDA, the fixture, a tool) is a SKIP row with
the reason. Without a CUDA device it stops at once with exit code 1. Exit code 1 also when any
row FAILs.

    python tools/check_gpu.py [--device cuda:0] [--fixture NPZ] [--skip train,benchmarks]
                              [--json-out FILE]
"""

import argparse
import inspect
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

PROJECT_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

DEFAULT_FIXTURE = osp.join(
    osp.dirname(PROJECT_ROOT), 'shared', 'fixtures', 'official_head', 'fasrnet_head_official.npz'
)
OFFICIAL_CONFIG = osp.join(
    PROJECT_ROOT, 'configs', 'fasrnet', 'fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288.py'
)
FIXTURE_TOL = 1e-4
# autocast vs float32 on the fixture head, max |diff| / max |float32 output|
AMP_TOL = {'float16': 1e-2, 'bfloat16': 5e-2}
DCN_IMPLS = ('mmcv', 'torchvision', 'pytorch')
SKIPPABLE = ('ops', 'fixture', 'amp', 'train', 'benchmarks')

Row = Dict[str, str]


def row(check: str, status: str, value: str = '', detail: str = '') -> Row:
    """One table row; ``status`` is PASS, FAIL, SKIP or INFO."""
    assert status in ('PASS', 'FAIL', 'SKIP', 'INFO'), status
    return dict(check=check, status=status, value=value, detail=detail)


def format_table(rows: Sequence[Row]) -> str:
    """The one table: ``check | status | value | detail`` (markdown, pasteable into the README)."""
    cols = ('check', 'status', 'value', 'detail')
    cells = [[c for c in cols]] + [[r.get(c, '').replace('|', '/') for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    lines = ['| ' + ' | '.join(x.ljust(w) for x, w in zip(line, widths)) + ' |' for line in cells]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


# ------------------------------------------------------------------------------- fixture head
def load_fixture(path: str) -> Dict[str, np.ndarray]:
    """The official head fixture (``fasrnet_head_official.npz``) as a dict of arrays."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _converter():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'convert_official_checkpoint',
        osp.join(PROJECT_ROOT, 'tools', 'convert_official_checkpoint.py'),
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def head_accepts_dcn_impl() -> bool:
    """Whether the installed ``FaSRHead`` has the ``dcn_impl`` option."""
    from fasrnet_mmpose.models.heads import FaSRHead

    return 'dcn_impl' in inspect.signature(FaSRHead.__init__).parameters


def build_fixture_head(fixture: Dict[str, np.ndarray], dcn_impl: Optional[str] = None):
    """FaSRHead (official mode) with the fixture's official weights, in eval mode, on CPU."""
    from fasrnet_mmpose.models.heads import FaSRHead

    official = {
        k[len('state_dict/') :]: torch.from_numpy(v)
        for k, v in fixture.items()
        if k.startswith('state_dict/')
    }
    converted = _converter().convert_state_dict(official)
    head = FaSRHead(**({} if dcn_impl is None else dict(dcn_impl=dcn_impl)))
    result = head.load_state_dict(
        {k[len('head.') :]: v for k, v in converted.items()}, strict=False
    )
    missing = sorted(result.missing_keys)
    if missing != ['final_layer.bias', 'final_layer.weight'] or result.unexpected_keys:
        raise RuntimeError(
            f'fixture weights do not fit FaSRHead: missing {missing[:5]}, '
            f'unexpected {result.unexpected_keys[:5]}'
        )
    return head.eval()


def fixture_inputs(fixture: Dict[str, np.ndarray]) -> Tuple[torch.Tensor, ...]:
    """``features [B, 3, C, h, w]``, ``rough [B, 3, K, h, w]``, ``margins [B, 2]`` (the fixture
    stacks [current; previous; next] along the batch)."""
    feats = torch.from_numpy(fixture['inputs/features'])
    rough = torch.from_numpy(fixture['inputs/rough_heatmaps'])
    margin = torch.from_numpy(fixture['inputs/margin'])
    b = margin.size(0)
    feats = feats.view(3, b, *feats.shape[1:]).transpose(0, 1).contiguous()
    rough = rough.view(3, b, *rough.shape[1:]).transpose(0, 1).contiguous()
    return feats, rough, margin


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float().cpu() - b.float().cpu()).abs().max().item()


def run_fixture_head(head, fixture, device: torch.device) -> Dict[str, torch.Tensor]:
    """Official-mode outputs on ``device``: the batch of 3 and each sample alone (batch 1)."""
    feats, rough, margin = fixture_inputs(fixture)
    head = head.to(device)
    out = {}
    with torch.no_grad():
        frm, srm = head.refine(feats.to(device), rough.to(device), margin.to(device))
        out['frm'], out['srm'] = frm.cpu(), srm.cpu()
        each_frm, each_srm = [], []
        for i in range(margin.size(0)):
            f, s = head.refine(
                feats[i : i + 1].to(device),
                rough[i : i + 1].to(device),
                margin[i : i + 1].to(device),
            )
            each_frm.append(f.cpu())
            each_srm.append(s.cpu())
        out['frm_b1_each'] = torch.cat(each_frm)
        out['srm_b1_each'] = torch.cat(each_srm)
    head.to('cpu')
    return out


def compare_on_fixture(
    fixture: Dict[str, np.ndarray],
    device_a: torch.device,
    device_b: torch.device,
    dcn_impl: Optional[str] = None,
) -> Dict[str, float]:
    """Max abs differences of one DCN implementation: ``device_b`` vs ``device_a`` and each vs
    the fixture's official outputs (batch of 3, and each sample alone).

    Returns:
        dict: ``{'a_vs_b': .., 'a_vs_fixture': .., 'b_vs_fixture': ..}``.
    """
    head = build_fixture_head(fixture, dcn_impl)
    out_a = run_fixture_head(head, fixture, device_a)
    out_b = run_fixture_head(head, fixture, device_b)
    expected = {
        'frm': fixture['outputs/heatmaps_frm'],
        'srm': fixture['outputs/heatmaps_srm'],
        'frm_b1_each': fixture['outputs_b1_each/heatmaps_frm'],
        'srm_b1_each': fixture['outputs_b1_each/heatmaps_srm'],
    }
    return {
        'a_vs_b': max(_max_diff(out_a[k], out_b[k]) for k in expected),
        'a_vs_fixture': max(_max_diff(out_a[k], torch.from_numpy(v)) for k, v in expected.items()),
        'b_vs_fixture': max(_max_diff(out_b[k], torch.from_numpy(v)) for k, v in expected.items()),
    }


def check_fixture(fixture_path: str, device: torch.device) -> List[Row]:
    """Rows: each DCN implementation, CUDA vs CPU vs the official fixture."""
    if not osp.exists(fixture_path):
        return [
            row('DCN on official fixture', 'SKIP', '', f'no fixture at {fixture_path} (--fixture)')
        ]
    fixture = load_fixture(fixture_path)
    if head_accepts_dcn_impl():
        impls: List[Optional[str]] = list(DCN_IMPLS)
        note = ''
    else:
        impls = [None]
        note = 'installed FaSRHead has no dcn_impl option yet: its default implementation only; '
    rows = []
    for impl in impls:
        name = f'DCN {impl or "default"}: {device.type} = cpu = fixture'
        try:
            d = compare_on_fixture(fixture, torch.device('cpu'), device, impl)
        except Exception as exc:  # one implementation failing must not hide the others
            rows.append(row(name, 'FAIL', '', f'{type(exc).__name__}: {exc}'[:200]))
            continue
        ok = max(d.values()) <= FIXTURE_TOL
        rows.append(
            row(
                name,
                'PASS' if ok else 'FAIL',
                f'{d["a_vs_b"]:.1e}',
                f'{note}max |{device.type} - cpu| {d["a_vs_b"]:.1e}, |cpu - fixture| '
                f'{d["a_vs_fixture"]:.1e}, |{device.type} - fixture| {d["b_vs_fixture"]:.1e} '
                f'(tol {FIXTURE_TOL:g}; official mode, batch 3 and each sample alone)',
            )
        )
    return rows


# ---------------------------------------------------------------------------------------- AMP
def amp_check(
    fixture: Dict[str, np.ndarray], device: torch.device, dtype: torch.dtype
) -> Dict[str, object]:
    """Autocast forward + training step of the fixture head vs float32.

    Returns:
        dict: ``rel_diff`` (max |autocast - fp32| / max |fp32| over H^F and H^S), ``finite``
        (outputs, loss and every gradient finite), ``loss``.
    """
    head = build_fixture_head(fixture).to(device)
    feats, rough, margin = (t.to(device) for t in fixture_inputs(fixture))
    with torch.no_grad():
        ref = head.refine(feats, rough, margin)
        with torch.autocast(device.type, dtype=dtype):
            amp = head.refine(feats, rough, margin)
    rel = max(_max_diff(a, r) / r.abs().max().item() for a, r in zip(amp, ref))
    finite = all(torch.isfinite(a).all().item() for a in amp)
    # training step: MSE of both outputs to the fixture targets, backward (fp16: with a scaler)
    head.train()
    targets = [
        torch.from_numpy(fixture[f'outputs/heatmaps_{k}']).to(device) for k in ('frm', 'srm')
    ]
    params = [p for p in head.parameters() if p.requires_grad]
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    with torch.autocast(device.type, dtype=dtype):
        out = head.refine(feats, rough, margin)
        loss = sum(torch.nn.functional.mse_loss(o.float(), t) for o, t in zip(out, targets))
    scaler.scale(loss).backward()
    scale = scaler.get_scale() if scaler.is_enabled() else 1.0
    grads_finite = all(p.grad is None or torch.isfinite(p.grad).all().item() for p in params)
    head.to('cpu')
    return dict(
        rel_diff=rel,
        finite=bool(finite and torch.isfinite(loss).item() and grads_finite),
        loss=float(loss.item()),
        scale=float(scale),
    )


def check_amp(fixture_path: str, device: torch.device) -> List[Row]:
    if not osp.exists(fixture_path):
        return [row('autocast fp16/bf16', 'SKIP', '', f'no fixture at {fixture_path}')]
    fixture = load_fixture(fixture_path)
    rows = []
    for name, dtype in (('float16', torch.float16), ('bfloat16', torch.bfloat16)):
        check = f'autocast {name}: forward + train step'
        try:
            r = amp_check(fixture, device, dtype)
        except Exception as exc:
            rows.append(row(check, 'FAIL', '', f'{type(exc).__name__}: {exc}'[:200]))
            continue
        ok = r['finite'] and r['rel_diff'] <= AMP_TOL[name]
        rows.append(
            row(
                check,
                'PASS' if ok else 'FAIL',
                f'{r["rel_diff"]:.1e}',
                f'max |{name} - fp32| / max |fp32| = {r["rel_diff"]:.1e} (tol {AMP_TOL[name]:g}); '
                f'outputs, loss, gradients finite: {r["finite"]}',
            )
        )
    return rows


# ------------------------------------------------------------------------------ environment
def environment_rows(device: torch.device) -> List[Row]:
    import mmcv

    rows = [
        row('python / numpy', 'INFO', platform.python_version(), f'numpy {np.__version__}'),
        row(
            'torch / CUDA / cuDNN',
            'INFO',
            torch.__version__,
            f'CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}',
        ),
        row('mmcv', 'INFO', mmcv.__version__, ''),
    ]
    if device.type == 'cuda':
        cap = torch.cuda.get_device_capability(device)
        props = torch.cuda.get_device_properties(device)
        driver = _nvidia_smi('driver_version')
        rows.insert(
            0,
            row(
                'GPU',
                'INFO',
                torch.cuda.get_device_name(device),
                f'cc {cap[0]}.{cap[1]}, {props.total_memory / 2**30:.0f} GiB, driver {driver}, '
                f'{os.cpu_count()} CPUs',
            ),
        )
    return rows


def _nvidia_smi(field: str) -> str:
    try:
        out = subprocess.run(
            ['nvidia-smi', f'--query-gpu={field}', '--format=csv,noheader'],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else '?'
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return '?'


def check_mmcv_ops(device: torch.device) -> List[Row]:
    try:
        from mmcv.ops import get_compiling_cuda_version, modulated_deform_conv2d
    except Exception as exc:
        return [row('mmcv CUDA ops', 'FAIL', '', f'import mmcv.ops: {exc}'[:200])]
    compiled = get_compiling_cuda_version()
    if compiled in ('', 'not available'):
        return [
            row(
                'mmcv CUDA ops',
                'FAIL',
                'CPU ops only',
                'mmcv was built without CUDA: rerun tools/install.sh on this machine '
                '(FORCE_CUDA=1 is set automatically when a GPU and nvcc are visible)',
            )
        ]
    try:
        x = torch.randn(2, 8, 12, 10, device=device)
        offset = torch.randn(2, 18, 12, 10, device=device)
        mask = torch.rand(2, 9, 12, 10, device=device)
        w = torch.randn(8, 8, 3, 3, device=device)
        out_gpu = modulated_deform_conv2d(x, offset, mask, w, None, 1, 1, 1, 1, 1)
        out_cpu = modulated_deform_conv2d(
            x.cpu(), offset.cpu(), mask.cpu(), w.cpu(), None, 1, 1, 1, 1, 1
        )
        diff = _max_diff(out_gpu, out_cpu)
    except Exception as exc:
        return [
            row(
                'mmcv CUDA ops',
                'FAIL',
                compiled,
                f'modulated_deform_conv2d on {device}: {exc}'[:200],
            )
        ]
    return [
        row(
            'mmcv CUDA ops',
            'PASS' if diff <= FIXTURE_TOL else 'FAIL',
            f'CUDA {compiled}',
            f'modulated_deform_conv2d on {device} vs cpu: max |diff| {diff:.1e}',
        )
    ]


# ----------------------------------------------------------------------------------- tools
def run_tool(args: List[str], timeout: int) -> Tuple[int, str, float]:
    """Run ``python tools/<args>`` from the repo root; returns (exit code, output, seconds)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = PROJECT_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable] + args,
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = 124, f'{exc.stdout or ""}\ntimed out after {timeout} s'
    return code, out, time.perf_counter() - t0


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ''


def train_command(device: torch.device, batch: int, steps: int, json_out: str) -> List[str]:
    """``tools/benchmark_train.py`` on the official PT17 config, synthetic frames, few steps."""
    return [
        'tools/benchmark_train.py',
        OFFICIAL_CONFIG,
        '--device',
        str(device),
        '--batch-size',
        str(batch),
        '--steps',
        str(steps),
        '--warmup',
        '1',
        '--loader-batches',
        '1',
        '--num-workers',
        str(min(8, os.cpu_count() or 1)),
        '--frame-size',
        '640',
        '360',
        '--json-out',
        json_out,
    ]


def benchmark_commands(device: torch.device) -> Dict[str, List[str]]:
    """The model benchmark at batch 1, 16, 64 and the inference benchmark on the shipped clip."""
    return {
        'model': [
            'tools/benchmark_model.py',
            '--device',
            str(device),
            '--batch-size',
            '1',
            '16',
            '64',
        ],
        'inference': ['tools/benchmark_inference.py', '--device', str(device)],
    }


def check_train(device: torch.device, batch: int, steps: int, timeout: int) -> List[Row]:
    import tempfile

    name = f'train official PT17 config, batch {batch}'
    with tempfile.TemporaryDirectory() as tmp:
        out_json = osp.join(tmp, 'train.json')
        code, out, secs = run_tool(train_command(device, batch, steps, out_json), timeout)
        print(out)
        if code != 0 or not osp.exists(out_json):
            return [row(name, 'FAIL', '', f'benchmark_train.py exit {code}: {_last_line(out)}')]
        with open(out_json) as f:
            res = json.load(f)
    peak = res.get('peak_mem_mib')
    return [
        row(
            name,
            'INFO',
            f'{res["step_s"]:.3f} s/iter',
            f'{res["step_samples_per_s"]:.1f} samples/s, peak GPU memory '
            f'{(peak or 0) / 1024:.1f} GiB (paper: batch 64 on 24 GB); synthetic frames, '
            f'{steps} measured iterations ({secs:.0f} s in all)',
        )
    ]


def _tool_row(check: str, code: int, out: str, secs: float) -> Row:
    """The row of a benchmark run: INFO with its last line, or FAIL with the exit status."""
    print(out)
    detail = _last_line(out) if code == 0 else f'exit {code}: {_last_line(out)}'
    return row(check, 'INFO' if code == 0 else 'FAIL', f'{secs:.0f} s', detail)


def check_benchmarks(device: torch.device, timeout: int) -> List[Row]:
    commands = benchmark_commands(device)
    model_args = commands['model']
    code, out, secs = run_tool(model_args, timeout)
    if code == 2 and 'unrecognized arguments' in out:  # --batch-size takes one value (older tool)
        outs = []
        for b in ('1', '16', '64'):
            code, o, s = run_tool(model_args[:3] + ['--batch-size', b], timeout)
            outs.append(o)
            secs += s
            if code != 0:
                break
        out = '\n'.join(outs)
    rows = [_tool_row('benchmark_model.py, batch 1/16/64', code, out, secs)]
    code, out, secs = run_tool(commands['inference'], timeout)
    rows.append(_tool_row('benchmark_inference.py, shipped clip', code, out, secs))
    return rows


# ------------------------------------------------------------------------------------- main
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Validate a CUDA install of fasrnet_mmpose (needs a CUDA GPU): mmcv CUDA ops, '
        'every DCN implementation on the official head fixture, fp16/bf16 autocast, training '
        'iterations at batch 64, the model and inference benchmarks. Prints one table.'
    )
    parser.add_argument('--device', default='cuda', help="CUDA device, e.g. 'cuda' or 'cuda:1'")
    parser.add_argument('--fixture', default=DEFAULT_FIXTURE, help='official head fixture (.npz)')
    parser.add_argument(
        '--skip',
        default='',
        help=f'comma-separated checks to leave out: {",".join(SKIPPABLE)}',
    )
    parser.add_argument('--train-batch', type=int, default=64, help='training batch (default 64)')
    parser.add_argument('--train-steps', type=int, default=3, help='measured training iterations')
    parser.add_argument('--timeout', type=int, default=240, help='seconds per benchmark tool')
    parser.add_argument('--json-out', help='also write the table rows to this JSON file')
    args = parser.parse_args(argv)
    skip = [s for s in args.skip.split(',') if s]
    unknown = sorted(set(skip) - set(SKIPPABLE))
    if unknown:
        parser.error(f'--skip: unknown check(s) {unknown}; choose from {",".join(SKIPPABLE)}')
    args.skip = set(skip)
    if not args.device.startswith('cuda'):
        parser.error(f"--device must be a CUDA device ('cuda', 'cuda:N'), not '{args.device}'")
    if args.train_batch < 1 or args.train_steps < 1:
        parser.error('--train-batch and --train-steps must be >= 1')
    return args


def run_checks(args: argparse.Namespace, device: torch.device) -> List[Row]:
    from mmengine.registry import init_default_scope

    import fasrnet_mmpose  # noqa: F401  (registers the plugin)

    init_default_scope('mmpose')
    steps: List[Tuple[str, Callable[[], List[Row]]]] = [
        ('ops', lambda: check_mmcv_ops(device)),
        ('fixture', lambda: check_fixture(args.fixture, device)),
        ('amp', lambda: check_amp(args.fixture, device)),
        ('train', lambda: check_train(device, args.train_batch, args.train_steps, args.timeout)),
        ('benchmarks', lambda: check_benchmarks(device, args.timeout)),
    ]
    rows = environment_rows(device)
    for key, fn in steps:
        if key in args.skip:
            rows.append(row(key, 'SKIP', '', '--skip'))
            continue
        t0 = time.perf_counter()
        try:
            rows += fn()
        except Exception as exc:  # report the check as failed, keep the others running
            rows.append(row(key, 'FAIL', '', f'{type(exc).__name__}: {exc}'[:200]))
        print(f'[check_gpu] {key}: {time.perf_counter() - t0:.1f} s', flush=True)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        print(
            f'check_gpu.py needs a CUDA GPU: torch {torch.__version__} (CUDA build: '
            f'{torch.version.cuda or "none"}) sees no CUDA device. Run it on the GPU machine '
            '(README "Performance / GPU").',
            file=sys.stderr,
        )
        return 1
    device = torch.device(args.device)
    t0 = time.perf_counter()
    rows = run_checks(args, device)
    rows.append(
        row(
            'total time',
            'INFO',
            f'{time.perf_counter() - t0:.0f} s',
            time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        )
    )
    print(format_table(rows))
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(rows, f, indent=1)
    return 1 if any(r['status'] == 'FAIL' for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
