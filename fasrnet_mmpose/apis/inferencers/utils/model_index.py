# Copyright (c) OpenMMLab. All rights reserved.
"""The plugin's own model index (``model-index.yml`` + metafiles).

mmengine's ``BaseInferencer._load_model_from_metafile`` only knows the
packages of ``mmengine.config.utils.MODULE2PACKAGE`` and reads the index of
the *scope* package (``mmpose`` here, since the plugin registers into
mmpose's registries), so plugin aliases such as
``fasrnet_hrnet-w48_posetrack17`` never resolve through it. These helpers
find the plugin's index:

1. ``fasrnet_mmpose/.mim/model-index.yml``: a wheel/sdist install (copied by
   ``setup.py``) or ``python setup.py develop`` (symlinked);
2. ``<repo root>/model-index.yml``: an editable install (``pip install
   -e .`` may not create the ``.mim`` links) or a source checkout on
   ``PYTHONPATH``.
"""

import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.fileio import load

__all__ = [
    'get_model_index_root',
    'iter_model_entries',
    'find_model_entry',
    'list_models',
    'ModelNotFoundError',
]

_PACKAGE_DIR = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

#: The defaults of the video tools (``tools/demo_video.py``, ``tools/benchmark_inference.py``):
#: the model alias, and the clip shipped in a source checkout.
DEFAULT_MODEL = 'fasrnet_hrnet-w48_posetrack17'
DEMO_CLIP = osp.join(osp.dirname(_PACKAGE_DIR), 'demo', 'resources', 'vtest_clip.mp4')


class ModelNotFoundError(ValueError):
    """A model name/alias is not in the plugin's model index."""


def _candidate_roots(package_dir: str) -> List[str]:
    return [osp.join(package_dir, '.mim'), osp.dirname(package_dir)]


def get_model_index_root(package_dir: Optional[str] = None) -> str:
    """Directory holding the plugin's ``model-index.yml`` and ``configs/``.

    Args:
        package_dir (str, optional): The ``fasrnet_mmpose`` package
            directory. Defaults to the imported package.

    Returns:
        str: ``<package>/.mim`` or the repository root.

    Raises:
        FileNotFoundError: If neither has a ``model-index.yml`` next to a
            ``configs/fasrnet`` folder.
    """
    package_dir = package_dir or _PACKAGE_DIR
    roots = _candidate_roots(package_dir)
    for root in roots:
        if osp.isfile(osp.join(root, 'model-index.yml')) and osp.isdir(
            osp.join(root, 'configs', 'fasrnet')
        ):
            return root
    raise FileNotFoundError(
        'Cannot find the fasrnet_mmpose model index: looked for model-index.yml and '
        f'configs/fasrnet in {" and ".join(roots)}. Reinstall the package (pip install .) or run '
        'from a source checkout.'
    )


def iter_model_entries(root: Optional[str] = None) -> Iterator[Dict]:
    """Yield every ``Models`` entry of the metafiles imported by the index.

    Args:
        root (str, optional): See :func:`get_model_index_root`.

    Yields:
        dict: A metafile model entry (``Name``, ``Alias``, ``Config``, ...).
    """
    root = root or get_model_index_root()
    index = load(osp.join(root, 'model-index.yml'))
    for meta_path in index.get('Import', []):
        meta = load(osp.join(root, meta_path))
        yield from meta.get('Models', []) or []


def _aliases(entry: Dict) -> List[str]:
    aliases = entry.get('Alias', []) or []
    return [aliases] if isinstance(aliases, str) else list(aliases)


def list_models(root: Optional[str] = None) -> Dict[str, List[str]]:
    """All plugin models.

    Args:
        root (str, optional): See :func:`get_model_index_root`.

    Returns:
        dict[str, list[str]]: Model name -> its aliases.
    """
    return {e['Name']: _aliases(e) for e in iter_model_entries(root)}


def find_model_entry(name: str, root: Optional[str] = None) -> Tuple[str, Optional[str], Dict]:
    """Resolve a model name or alias (case-insensitive).

    Args:
        name (str): ``Name`` (config stem) or ``Alias`` of a metafile entry.
        root (str, optional): See :func:`get_model_index_root`.

    Returns:
        tuple[str, str | None, dict]: Absolute config path, the entry's
        ``Weights`` (first one if a list; ``None`` when the entry lists no
        weights) and the entry itself.

    Raises:
        ModelNotFoundError: If no entry matches.
    """
    root = root or get_model_index_root()
    wanted = name.lower()
    entries = list(iter_model_entries(root))
    for entry in entries:
        names = [entry['Name']] + _aliases(entry)
        if wanted in (n.lower() for n in names):
            weights = entry.get('Weights')
            if isinstance(weights, (list, tuple)):
                weights = weights[0] if weights else None
            return osp.join(root, entry['Config']), weights, entry
    known = sorted({n for e in entries for n in [e['Name']] + _aliases(e)})
    raise ModelNotFoundError(
        f'Cannot find model "{name}" in the fasrnet_mmpose model index '
        f'({osp.join(root, "model-index.yml")}). Known names and aliases: '
        f'{", ".join(known)}. Or pass a config file path.'
    )
