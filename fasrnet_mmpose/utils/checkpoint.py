# Copyright (c) OpenMMLab. All rights reserved.
"""Safe loaders for mmengine's ``CheckpointLoader`` and the partial-weights check (model_zoo.md)."""

import hashlib
import os
import os.path as osp
import pickle
import re
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from types import SimpleNamespace
from typing import Mapping, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

TRUST_ENV = 'FASRNET_TRUST_CHECKPOINT'
# ``name-<sha256 prefix>[_<YYYYMMDD>].ext``: the last ``-`` group of 8+ hex digits (OpenMMLab).
HASH_SUFFIX_REGEX = re.compile(r'-([0-9a-fA-F]{8,64})(?:_\d{8})?(?:\.[A-Za-z0-9]+)+$')
_GDRIVE_REGEX = re.compile(r'^https?://(drive|docs)\.google\.com/.*?(?:/d/|[?&]id=)([\w-]{20,})')


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used (or converted); the message names the file and what to do."""


class CheckpointDownloadError(CheckpointError):
    """A checkpoint URL could not be downloaded or loaded."""


class CheckpointHashError(CheckpointDownloadError):
    """A checkpoint's SHA256 does not match the prefix in its file name (or the record)."""


class UntrustedCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The checkpoint needs a Python object outside :data:`ALLOWED_GLOBALS`."""


def _getattr(obj: object, name: str) -> object:
    """``builtins.getattr`` limited to what ``HistoryBuffer`` pickles (its statistics methods)."""
    if obj is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'GLOBAL getattr:{getattr(obj, "__name__", "?")}.{name} refused')


_MULTIARRAY = np._core.multiarray if int(np.__version__.split('.')[0]) >= 2 else np.core.multiarray
#: What mmengine checkpoints hold besides tensors and plain containers (docs/model_zoo.md).
ALLOWED_GLOBALS = [np.dtype, np.ndarray, HistoryBuffer, (_getattr, 'builtins.getattr')]
ALLOWED_GLOBALS += sorted({type(np.dtype(c)) for c in np.typecodes['All']}, key=str)
ALLOWED_GLOBALS += [
    (getattr(_MULTIARRAY, f), f'{core}.multiarray.{f}')
    for core in ('numpy.core', 'numpy._core')  # files written with numpy 1.x / 2.x
    for f in ('_reconstruct', 'scalar')
]


def get_hash_prefix(filename: str) -> Optional[str]:
    """The lower-case SHA256 prefix of an OpenMMLab name/URL (``x-1a2b3c4d_20240101.pth``)."""
    match = HASH_SUFFIX_REGEX.search(osp.basename(urllib.parse.urlparse(filename).path))
    return match.group(1).lower() if match else None


def sha256_of_file(path: str) -> str:
    """Hex SHA256 of a file."""
    sha256 = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 20):
            sha256.update(chunk)
    return sha256.hexdigest()


def save_hashed(checkpoint: dict, stem: str) -> str:
    """``torch.save`` to ``<stem>-<sha256[:8]>.pth`` (the OpenMMLab name the loader checks)."""
    torch.save(checkpoint, f'{stem}.tmp')
    final = f'{stem}-{sha256_of_file(f"{stem}.tmp")[:8]}.pth'
    os.replace(f'{stem}.tmp', final)
    return final


def get_checkpoint_cache_dir() -> str:
    """``torch.hub.get_dir()/checkpoints`` (shared with mmengine and torchvision)."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def torch_load_allowed(path: str, map_location='cpu', trusted: bool = False):
    """``torch.load`` with ``weights_only=True`` plus :data:`ALLOWED_GLOBALS` (all: ``trusted``)."""
    with torch.serialization.safe_globals(ALLOWED_GLOBALS):
        return torch.load(path, map_location, weights_only=not trusted)


def safe_load(filename: str, map_location='cpu', shown: Optional[str] = None):
    """Load a local path or ``file://`` URL with ``weights_only=True`` + :data:`ALLOWED_GLOBALS`
    (unless trusted), official checkpoints converted; errors name ``shown``."""
    shown, path = shown or filename, osp.expanduser(filename)
    if filename.startswith('file://'):
        parsed = urllib.parse.urlparse(filename)
        if parsed.netloc not in ('', 'localhost'):
            raise ValueError(f'{filename}: a file:// URL must be absolute (file:///abs/x.pth)')
        path = urllib.request.url2pathname(parsed.path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint {shown} not found: check the path (or pass a file:// or http(s):// URL)'
        )
    trusted = os.environ.get(TRUST_ENV, '').lower() in ('1', 'true', 'yes')
    try:
        checkpoint = torch_load_allowed(path, map_location, trusted)
    except Exception as e:  # noqa: BLE001  (garbage input fails in many ways inside torch)
        match = re.search(r'GLOBAL (\S+)|unrecognized function (\S+)', str(e))
        if isinstance(e, pickle.UnpicklingError) and match:
            raise UntrustedCheckpointError(
                f'{shown}: refused to unpickle {(match.group(1) or match.group(2)).rstrip(".,")} '
                '(checkpoints load with weights_only=True plus the types mmengine checkpoints '
                f'hold); if you trust the file, pass --trust-checkpoint (or set {TRUST_ENV}=1)'
            ) from e
        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1].strip()
        raise CheckpointError(
            f'{shown} is not a PyTorch checkpoint or is truncated ({reason[:200]}); pass a file '
            'written by torch.save, e.g. work_dirs/<config>/epoch_N.pth'
        ) from e
    from .official_checkpoint import checkpoint_layout, convert_checkpoint_dict

    if checkpoint_layout(checkpoint) == 'official':
        checkpoint = convert_checkpoint_dict(checkpoint, shown)
        print_log(f'{shown} is an official FaSRnet checkpoint: converted on the fly', 'current')
    return checkpoint


def download_checkpoint(url: str, model_dir: Optional[str] = None, progress: bool = True) -> str:
    """The cached file of ``url`` (downloaded once); its name's SHA256 prefix checked each use."""
    name = osp.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise CheckpointDownloadError(f'cannot derive a cache file name from {url}')
    cached, prefix = osp.join(model_dir or get_checkpoint_cache_dir(), name), get_hash_prefix(name)
    if osp.isfile(cached):
        digest = sha256_of_file(cached) if prefix else ''
        if digest.startswith(prefix or ''):
            return cached
        os.remove(cached)
        raise CheckpointHashError(
            f'SHA256 mismatch for checkpoint {url}: the name expects "{prefix}", the cached file '
            f'{cached} has "{digest}"; it was deleted and not used, retry to download it again'
        )
    os.makedirs(osp.dirname(cached), exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, cached, hash_prefix=prefix, progress=progress)
    except urllib.error.URLError as e:  # HTTPError has a code
        hint = 'check the network/proxy, or download it elsewhere and pass the local path'
        reason = f'HTTP {e.code} {e.reason}; check the URL' if hasattr(e, 'code') else e.reason
        raise CheckpointDownloadError(f'cannot download checkpoint {url}: {reason}; {hint}') from e
    except RuntimeError as e:  # torch's 'invalid hash value (expected "x", got "y")'
        raise CheckpointHashError(
            f'SHA256 mismatch for checkpoint {url}: {e}; the file was deleted and not used'
        ) from e
    return cached


def load_from_http(filename: str, map_location=None, model_dir=None, progress=os.isatty(0)):
    """The ``http(s)://`` scheme: hash-checked cache, rank 0 first; Google Drive: official."""
    from .official_checkpoint import fetch_official_checkpoint

    fetch = partial(download_checkpoint, filename, model_dir, progress)
    gdrive = _GDRIVE_REGEX.match(filename)
    if gdrive:  # the authors' weights: downloaded with gdown, converted
        fetch = partial(fetch_official_checkpoint, gdrive.group(2))
    rank, world_size = get_dist_info()
    try:  # rank 0 first, the others after the barrier (which rank 0 reaches even on an error)
        cached = fetch() if rank == 0 else None
    finally:
        if world_size > 1:
            torch.distributed.barrier()
    cached = fetch() if rank > 0 else cached
    try:
        return safe_load(cached, map_location, filename)
    except UntrustedCheckpointError:
        raise
    except CheckpointError as e:
        raise CheckpointDownloadError(
            f'{filename} was downloaded to {cached} but cannot be loaded ({e}); if it is a web '
            'page (e.g. a share link), delete it and pass the file itself'
        ) from e


#: ``load_checkpoint_file(path_or_url, map_location='cpu', logger='current') -> dict``: any scheme.
load_checkpoint_file = partial(CheckpointLoader.load_checkpoint, map_location='cpu')


class WeightsMismatchError(CheckpointError):
    """The checkpoint leaves backbone/head entries of the model unloaded."""


def check_weights(
    model: nn.Module, checkpoint: Mapping, source: str, allow_partial: bool = False
) -> SimpleNamespace:
    """Per component (backbone, head) ``counts`` of the model entries ``checkpoint`` provides and
    ``complete``; one line naming ``source`` raised if any miss (a warning if ``allow_partial``)."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    model_state, counts = model.state_dict(), {}
    for name in [c for c in ('backbone', 'head') if isinstance(getattr(model, c, None), nn.Module)]:
        keys = [k for k in model_state if k.startswith(name + '.')]
        wrong = sum(k in state and state[k].shape != model_state[k].shape for k in keys)
        ok = sum(k in state for k in keys) - wrong
        extra = sum(k.startswith(name + '.') and k not in model_state for k in state)
        counts[name] = dict(matched=ok, missing=len(keys) - ok, unexpected=extra, wrong_shape=wrong)
    complete = all(c['missing'] == 0 for c in counts.values())
    if not complete:
        line = f'checkpoint {source} does not fit the model: ' + '; '.join(
            f'{n} {c["matched"]}/{c["matched"] + c["missing"]} matched, {c["missing"]} missing'
            + (f' ({c["wrong_shape"]} of wrong shape)' if c['wrong_shape'] else '')
            + f', {c["unexpected"]} unexpected'
            for n, c in counts.items()
        )
        hint = 'pass --allow-partial-weights (allow_partial_weights=True) to run anyway'
        if not allow_partial:
            raise WeightsMismatchError(f'{line}; check the checkpoint/config pair, or {hint}')
        print_log(f'{line}; running anyway: the output is like random init', 'current', 30)
    return SimpleNamespace(counts=counts, complete=complete)


# ``''``/``http(s)://`` replace mmengine's loaders, ``file://`` is new (docs/model_zoo.md)
CheckpointLoader.register_scheme(('', 'file://'), safe_load, force=True)
CheckpointLoader.register_scheme(('http://', 'https://'), load_from_http, force=True)
