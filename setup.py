"""Install fasrnet_mmpose.

Like mmpose, the package ships ``configs/``, ``tools/`` and ``model-index.yml`` inside
``fasrnet_mmpose/.mim`` so that ``mim`` and installed (non-editable) users find them: symlinks
for an editable/develop install, copies for a wheel/sdist build.
"""

import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    ns: dict = {}
    with open(osp.join(HERE, 'fasrnet_mmpose', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), ns)
    return ns['__version__']


def add_mim_extension() -> None:
    """Link (develop) or copy (build) configs/tools/model-index into fasrnet_mmpose/.mim."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'build', 'install')):
        mode = 'copy'
    else:
        return
    filenames = ['tools', 'configs', 'model-index.yml']
    mim_path = osp.join(HERE, 'fasrnet_mmpose', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        src = osp.join(HERE, filename)
        if not osp.exists(src):
            continue
        tar = osp.join(mim_path, filename)
        if osp.isfile(tar) or osp.islink(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), tar)
                continue
            except OSError:
                warnings.warn(f'cannot symlink {src}; copying instead')
        if osp.isfile(src):
            shutil.copyfile(src, tar)
        else:
            shutil.copytree(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='fasrnet_mmpose',
        version=get_version(),
        description='FaSRnet (feature and semantics refinement network) for video pose '
        'estimation as an MMPose 1.x plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
        include_package_data=True,
        package_data={
            'fasrnet_mmpose': [
                '.mim/model-index.yml',
                '.mim/configs/**/*',
                '.mim/tools/*',
                '.mim/tools/**/*',
            ]
        },
        python_requires='>=3.8',
        install_requires=[
            'mmengine>=0.10.0,<1.0',
            'mmcv>=2.0.0,<2.2.0',
            'mmpose>=1.3.0,<1.4',
            # numpy 2 works when xtcocotools is built against it (tools/install.sh does that);
            # requirements/constraints.txt pins the measured numpy 1.26.4 stack
            'numpy',
        ],
        zip_safe=False,
    )
