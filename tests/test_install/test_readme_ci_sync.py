# Copyright (c) OpenMMLab. All rights reserved.
"""README's two set-up commands are exactly what .ci/run runs."""

import os.path as osp
import re

from conftest import PROJECT_ROOT


def _section_code(readme: str, title: str) -> list:
    match = re.search(rf'^## {re.escape(title)}.*?$(.*?)^## ', readme, re.M | re.S)
    assert match, f'README has no "## {title}" section'
    blocks = re.findall(r'```bash\n(.*?)```', match.group(1), re.S)
    return [ln.strip() for block in blocks for ln in block.splitlines() if ln.strip()]


def test_ci_runs_the_readme_commands():
    with open(osp.join(PROJECT_ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    with open(osp.join(PROJECT_ROOT, '.ci', 'run'), encoding='utf-8') as f:
        ci = [
            ln.strip()
            for ln in f
            if ln.strip() and not ln.startswith(('#', 'set ', 'cd ', 'export '))
        ]
    assert ci == ['bash tools/install.sh', '.venv/bin/python -m pytest']
    assert _section_code(readme, 'Installation')[0] == ci[0]
    assert _section_code(readme, 'Running the tests')[0] == ci[1]
