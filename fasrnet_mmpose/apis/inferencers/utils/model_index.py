# Copyright (c) OpenMMLab. All rights reserved.
"""The plugin's own model index (``model-index.yml`` + metafiles): mmengine's metafile lookup
only reads the scope package's (mmpose's) index (docs/inference.md#model-aliases)."""

import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.fileio import load

_PACKAGE_DIR = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
#: the defaults of ``tools/demo_video.py`` and ``tools/benchmark_inference.py``
DEFAULT_MODEL = 'fasrnet_hrnet-w48_posetrack17'
DEMO_CLIP = osp.join(osp.dirname(_PACKAGE_DIR), 'demo', 'resources', 'vtest_clip.mp4')


class ModelNotFoundError(ValueError):
    """A model name/alias is not in the plugin's model index."""


def get_model_index_root(package_dir: Optional[str] = None) -> str:
    """``<package>/.mim`` (installed) or the repository root (checkout), the first with the index;
    ``package_dir`` defaults to ours."""
    package_dir = package_dir or _PACKAGE_DIR
    roots = [osp.join(package_dir, '.mim'), osp.dirname(package_dir)]
    for root in roots:
        if all(osp.exists(osp.join(root, p)) for p in ('model-index.yml', 'configs/fasrnet')):
            return root
    raise FileNotFoundError(
        f'Cannot find the fasrnet_mmpose model index (model-index.yml, configs/fasrnet) in '
        f'{" or ".join(roots)}: reinstall the package (pip install .) or use a source checkout.'
    )


def iter_model_entries(root: Optional[str] = None) -> Iterator[Dict]:
    """Every ``Models`` entry of the metafiles the index imports, with ``Alias`` as a list."""
    root = root or get_model_index_root()
    for meta_path in load(osp.join(root, 'model-index.yml')).get('Import', []):
        for entry in load(osp.join(root, meta_path)).get('Models') or []:
            aliases = entry.get('Alias') or []
            yield dict(entry, Alias=[aliases] if isinstance(aliases, str) else list(aliases))


def list_models(root: Optional[str] = None) -> Dict[str, List[str]]:
    """Model name -> its aliases, for every plugin model."""
    return {e['Name']: e['Alias'] for e in iter_model_entries(root)}


def find_model_entry(name: str, root: Optional[str] = None) -> Tuple[str, Optional[str], Dict]:
    """The absolute config path, ``Weights`` (or None) and entry of a model ``Name`` or ``Alias``
    (case-insensitive); a :class:`ModelNotFoundError` lists the known names."""
    root = root or get_model_index_root()
    entries = {n: e for e in iter_model_entries(root) for n in [e['Name'], *e['Alias']]}
    found = [e for n, e in entries.items() if n.lower() == name.lower()]
    if not found:
        raise ModelNotFoundError(
            f'Cannot find model "{name}" in the fasrnet_mmpose model index '
            f'({osp.join(root, "model-index.yml")}). Known names and aliases: '
            f'{", ".join(sorted(entries))}. Or pass a config file path.'
        )
    return osp.join(root, found[0]['Config']), found[0].get('Weights'), found[0]
