# Copyright (c) OpenMMLab. All rights reserved.
"""tools/check_gpu.py: its CPU-side parts (arguments, table, the fixture comparison run
CPU-vs-CPU, the mmcv-ops and no-CUDA verdicts). The GPU checks themselves need a GPU."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import PROJECT_ROOT, load_tool, shared_path

check_gpu = load_tool('check_gpu')
FIXTURE = ('fixtures', 'official_head', 'fasrnet_head_official.npz')


def test_parse_args_defaults_and_errors():
    args = check_gpu.parse_args([])
    assert args.device == 'cuda' and args.skip == set()
    assert args.train_batch == 64 and args.train_steps == 3
    assert check_gpu.parse_args(['--skip', 'train,benchmarks']).skip == {'train', 'benchmarks'}
    for argv in (['--skip', 'train,frobnicate'], ['--device', 'cpu'], ['--train-batch', '0']):
        with pytest.raises(SystemExit) as exc:
            check_gpu.parse_args(argv)
        assert exc.value.code == 2


def test_format_table_is_one_aligned_markdown_table():
    rows = [
        check_gpu.row('mmcv CUDA ops', 'PASS', 'CUDA 13.0', 'a|b'),
        check_gpu.row('train', 'SKIP', '', '--skip'),
    ]
    lines = check_gpu.format_table(rows).splitlines()
    assert len(lines) == 4
    assert lines[0].split('|')[1].strip() == 'check'
    assert set(lines[1]) <= {'|', '-'}
    assert len({len(ln) for ln in lines}) == 1  # aligned
    assert 'a/b' in lines[2]  # a '|' in a cell does not split it
    with pytest.raises(AssertionError):
        check_gpu.row('x', 'MAYBE')


def test_fixture_comparison_cpu_vs_cpu():
    fixture = check_gpu.load_fixture(shared_path(*FIXTURE))
    diffs = check_gpu.compare_on_fixture(
        fixture, torch.device('cpu'), torch.device('cpu'), 'pytorch'
    )
    assert diffs['a_vs_b'] == 0.0
    assert diffs['a_vs_fixture'] <= check_gpu.FIXTURE_TOL
    assert diffs['b_vs_fixture'] <= check_gpu.FIXTURE_TOL


def test_fixture_comparison_detects_a_wrong_implementation(monkeypatch):
    """A head computing something else fails the tolerance (the check can fail)."""
    build = check_gpu.build_fixture_head

    def perturbed(fx, dcn_impl=None):
        head = build(fx, dcn_impl)
        with torch.no_grad():
            for param in head.parameters():
                param.mul_(1.01)
        return head

    monkeypatch.setattr(check_gpu, 'build_fixture_head', perturbed)
    rows = check_gpu.check_fixture(shared_path(*FIXTURE), torch.device('cpu'))
    assert rows and all(r['status'] == 'FAIL' for r in rows)


def test_check_fixture_skips_without_the_fixture(tmp_path):
    (r,) = check_gpu.check_fixture(str(tmp_path / 'none.npz'), torch.device('cpu'))
    assert r['status'] == 'SKIP' and 'none.npz' in r['detail']


def test_mmcv_ops_verdict():
    from mmcv.ops import get_compiling_cuda_version

    (r,) = check_gpu.check_mmcv_ops(torch.device('cuda' if torch.cuda.is_available() else 'cpu'))
    if get_compiling_cuda_version() in ('', 'not available'):
        assert r['status'] == 'FAIL' and 'built without CUDA' in r['detail']
    else:
        assert r['status'] == 'PASS', r


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has a CUDA GPU')
def test_without_cuda_help_works_and_the_check_says_it_needs_cuda(capsys):
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT)
    script = os.path.join(PROJECT_ROOT, 'tools', 'check_gpu.py')
    proc = subprocess.run(
        [sys.executable, script, '--help'], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0 and '--skip' in proc.stdout
    assert check_gpu.main([]) == 1
    assert 'check_gpu.py needs a CUDA GPU' in capsys.readouterr().err


def test_tool_commands_are_accepted_by_the_tools(monkeypatch):
    """The benchmark tools accept the arguments check_gpu.py passes (catches interface drift)."""
    device = torch.device('cuda')
    train = check_gpu.train_command(device, 64, 3)
    assert os.path.exists(train[1])  # the official PoseTrack17 config
    bench_train = load_tool('benchmark_train')
    monkeypatch.setattr(sys, 'argv', train)
    args = bench_train.parse_args()
    assert (args.device, args.batch_size, args.steps) == ('cuda', 64, 3)
    commands = check_gpu.benchmark_commands(device)
    inference = load_tool('benchmark_inference').parse_args(commands['inference'][1:])
    assert inference.device == 'cuda' and os.path.exists(inference.input)
    bench_model = load_tool('benchmark_model')
    model = bench_model.parse_args(commands['model'][1:])
    assert model.device == 'cuda' and model.batch_size == [1, 16, 64]


def test_run_checks_on_cpu_prints_one_table(monkeypatch):
    """The orchestration (rows, SKIPs, the table) end to end, with CPU standing in for CUDA."""
    fixture = shared_path(*FIXTURE)
    args = check_gpu.parse_args(['--fixture', fixture, '--skip', 'amp,train,benchmarks'])
    rows = check_gpu.run_checks(args, torch.device('cpu'))
    by_check = {r['check']: r for r in rows}
    assert by_check['python / numpy']['status'] == 'INFO'
    assert by_check['mmcv']['value'] == __import__('mmcv').__version__
    assert [by_check[k]['status'] for k in ('amp', 'train', 'benchmarks')] == ['SKIP'] * 3
    dcn_rows = [r for r in rows if r['check'].startswith('DCN ')]
    assert [r['check'].split(':')[0] for r in dcn_rows] == [f'DCN {i}' for i in check_gpu.DCN_IMPLS]
    assert all(r['status'] == 'PASS' for r in dcn_rows), dcn_rows
    table = check_gpu.format_table(rows)
    assert table.count('\n') == len(rows) + 1


def test_runs_from_the_repository_without_the_plugin_installed(tmp_path):
    """``python -S`` skips the ``.pth`` files, so the editable install of the plugin is not seen:
    only the dependencies in site-packages are; check_gpu.py must find the package itself."""
    import sysconfig

    env = dict(os.environ, PYTHONPATH=sysconfig.get_paths()['purelib'])
    probe = [sys.executable, '-S', '-c', 'import fasrnet_mmpose']
    assert subprocess.run(probe, env=env, cwd=tmp_path, capture_output=True).returncode != 0
    script = os.path.join(PROJECT_ROOT, 'tools', 'check_gpu.py')
    proc = subprocess.run(
        [sys.executable, '-S', script, '--help'],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and '--skip' in proc.stdout, proc.stderr[-2000:]


def test_a_tool_that_runs_too_long_is_stopped_and_its_threads_restored(tmp_path):
    tool = tmp_path / 'slow_tool.py'
    tool.write_text(
        'import time\nimport torch\n\n\ndef main(argv):\n'
        '    torch.set_num_threads(1)\n    time.sleep(30)\n'
    )
    threads = torch.get_num_threads()
    with pytest.raises(TimeoutError, match='slow_tool.py ran longer than 1 s'):
        check_gpu.run_tool([str(tool)], timeout=1)
    assert torch.get_num_threads() == threads
    fast = tmp_path / 'fast_tool.py'
    fast.write_text('def main(argv):\n    print("ran", argv)\n    return 7\n')
    result, out, secs = check_gpu.run_tool([str(fast), '--x'], timeout=5)
    assert (result, out.strip()) == (7, "ran ['--x']")
