# Copyright (c) OpenMMLab. All rights reserved.
"""Safe checkpoint loading for mmengine's ``CheckpointLoader`` (local, ``file://``, ``http(s)://``).

Importing :mod:`fasrnet_mmpose` calls :func:`register_checkpoint_loaders` and changes exactly
this in the process (docs/model_zoo.md, "What importing the plugin changes"):

* ``''`` (local paths) and ``http://``/``https://`` of ``CheckpointLoader`` get our loaders
  (``force=True``); every other scheme keeps mmengine's loader. The local loader *is* mmengine's
  ``load_from_local`` run inside ``torch.serialization.safe_globals(ALLOWED_GLOBALS)``; the HTTP
  loader downloads with ``torch.hub.download_url_to_file`` (sha256 check) into the torch hub cache
  and loads the file the same way, rank 0 first.
* ``file://`` is added (mmengine has no such scheme).

Nothing else: torch's allow-list is widened only *during* our loads (a context manager), no
environment variable is set, nothing is monkey-patched.
"""

import hashlib
import os
import os.path as osp
import pickle
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.runner.checkpoint import load_from_local as mmengine_load_from_local

MapLocation = Optional[Union[str, torch.device, Callable, dict]]
TRUST_ENV = 'FASRNET_TRUST_CHECKPOINT'
TRUST_HINT = f'if you trust the file, pass --trust-checkpoint (or set {TRUST_ENV}=1)'

# ``name-<sha256 prefix>[_<YYYYMMDD>].ext``: the last ``-`` group of 8+ hex digits (OpenMMLab).
HASH_SUFFIX_REGEX = re.compile(
    r'-(?P<hash>[0-9a-fA-F]{8,64})(?:_(?P<date>\d{8}))?(?:\.[A-Za-z0-9]+)+$'
)
_GDRIVE_REGEX = re.compile(r'^https?://(drive|docs)\.google\.com/.*?(?:/d/|[?&]id=)([\w-]{20,})')


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used; the message is one line naming the file and what to do."""


class CheckpointDownloadError(CheckpointError):
    """A checkpoint URL could not be downloaded or loaded."""


class CheckpointHashError(CheckpointDownloadError):
    """A checkpoint's SHA256 does not match the prefix in its file name (or the record)."""


class UntrustedCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The checkpoint needs a Python object outside :data:`ALLOWED_GLOBALS`."""


def _history_buffer_getattr(obj: object, name: str) -> object:
    """``builtins.getattr`` as mmengine checkpoints use it, and nothing more.

    ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'min')``.
    """
    if obj is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
        return getattr(obj, name)
    owner = getattr(obj, '__name__', type(obj).__name__)
    raise pickle.UnpicklingError(f'Unsupported global: GLOBAL getattr:{owner}.{name} (not allowed)')


def _allowed_globals() -> List:
    numpy_2 = int(np.__version__.split('.')[0]) >= 2
    multiarray = np._core.multiarray if numpy_2 else np.core.multiarray
    dtype_classes = sorted({type(np.dtype(c)) for c in np.typecodes['All']}, key=str)
    allowed = [np.dtype, np.ndarray, HistoryBuffer, *dtype_classes]
    allowed.append((_history_buffer_getattr, 'builtins.getattr'))
    for core in ('numpy.core', 'numpy._core'):  # files written with numpy 1.x / 2.x
        allowed.append((multiarray._reconstruct, f'{core}.multiarray._reconstruct'))
        allowed.append((multiarray.scalar, f'{core}.multiarray.scalar'))
    return allowed


#: What mmengine checkpoints hold besides tensors and plain containers (measured on ours).
ALLOWED_GLOBALS = _allowed_globals()


def trust_requested() -> bool:
    """Whether the user opted in to full unpickling (``FASRNET_TRUST_CHECKPOINT=1``)."""
    return os.environ.get(TRUST_ENV, '').lower() in ('1', 'true', 'yes')


def get_hash_prefix(filename: str) -> Optional[str]:
    """The lower-case SHA256 prefix of an OpenMMLab name (``x-1a2b3c4d_20240101.pth``) or None.

    Args:
        filename (str): File name, path or URL (query strings are ignored).
    """
    path = urllib.parse.urlparse(filename).path if '://' in filename else filename
    match = HASH_SUFFIX_REGEX.search(osp.basename(path))
    return match.group('hash').lower() if match else None


def sha256_of_file(path: str) -> str:
    """Hex SHA256 of a file (read in 1 MiB chunks)."""
    sha256 = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            sha256.update(chunk)
    return sha256.hexdigest()


def get_checkpoint_cache_dir() -> str:
    """``torch.hub.get_dir()/checkpoints`` (read at call time; shared with mmengine/torchvision)."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def file_url_to_path(url: str) -> str:
    """``file:///abs/x.pth`` or ``file://localhost/abs/x.pth`` (percent-decoded) -> local path.

    Raises:
        ValueError: If ``url`` is no ``file://`` URL or names a remote host.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != 'file':
        raise ValueError(f'Not a file:// URL: {url}')
    if parsed.netloc not in ('', 'localhost'):
        raise ValueError(
            f'Cannot load {url}: a file:// URL must be absolute, e.g. file:///abs/path/model.pth '
            f'(three slashes), got host "{parsed.netloc}". Use a plain path for relative files.'
        )
    return urllib.request.url2pathname(parsed.path)


def safe_load(filename: str, map_location: MapLocation = 'cpu', shown: Optional[str] = None):
    """Load a local checkpoint: mmengine's ``load_from_local`` with :data:`ALLOWED_GLOBALS`.

    An official FaSRnet checkpoint is converted on the fly (logged). With
    ``FASRNET_TRUST_CHECKPOINT=1`` the file is unpickled without restriction.

    Args:
        filename (str): Local path (``~`` expanded).
        map_location: Same as :func:`torch.load`.
        shown (str, optional): The name to show in errors (e.g. the URL). Defaults to
            ``filename``.

    Raises:
        FileNotFoundError: no such file.
        UntrustedCheckpointError: the file needs an object outside the allow-list.
        CheckpointError: the file is not a PyTorch checkpoint.
    """
    shown = shown or filename
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint {shown} not found: check the path (or pass a file:// or http(s):// URL)'
        )
    try:
        if trust_requested():
            checkpoint = torch.load(path, map_location=map_location, weights_only=False)
        else:
            with torch.serialization.safe_globals(ALLOWED_GLOBALS):
                checkpoint = mmengine_load_from_local(path, map_location)
    except Exception as e:  # noqa: BLE001  (garbage input fails in many ways inside torch)
        text = str(e)
        match = re.search(r'GLOBAL (\S+)|unrecognized function (\S+)', text)
        if isinstance(e, pickle.UnpicklingError) and match:
            raise UntrustedCheckpointError(
                f'{shown}: refused to unpickle {(match.group(1) or match.group(2)).rstrip(".,")} '
                f'(checkpoints load with weights_only=True plus the types mmengine checkpoints '
                f'hold); {TRUST_HINT}'
            ) from e
        reason = ' '.join(text.strip().splitlines()[-1:]).strip() or type(e).__name__
        raise CheckpointError(
            f'{shown} is not a PyTorch checkpoint or is truncated ({reason[:200]}); pass a file '
            'written by torch.save, e.g. work_dirs/<config>/epoch_N.pth'
        ) from e
    from .official_checkpoint import convert_if_official

    return convert_if_official(checkpoint, shown)


def load_from_file_url(filename: str, map_location: MapLocation = None):
    """The ``file://`` scheme: :func:`safe_load` of the local path."""
    return safe_load(file_url_to_path(filename), map_location, shown=filename)


def load_from_local(filename: str, map_location: MapLocation = None):
    """The ``''`` scheme (plain local paths): :func:`safe_load`."""
    return safe_load(filename, map_location)


def download_checkpoint(url: str, model_dir: Optional[str] = None, progress: bool = True) -> str:
    """Download ``url`` into the cache once; verify the name's SHA256 prefix (also on cache hits).

    The cache key is the URL's file name. ``torch.hub.download_url_to_file`` writes a temporary
    file and moves it into place only when complete and hash-verified.

    Returns:
        str: The cached file.

    Raises:
        CheckpointDownloadError: HTTP or network error (names the URL).
        CheckpointHashError: SHA256 mismatch (the file is deleted, never used).
    """
    model_dir = model_dir or get_checkpoint_cache_dir()
    file_name = osp.basename(urllib.parse.urlparse(url).path)
    if not file_name:
        raise CheckpointDownloadError(f'cannot derive a cache file name from {url}')
    cached, prefix = osp.join(model_dir, file_name), get_hash_prefix(file_name)
    if osp.isfile(cached):
        digest = sha256_of_file(cached) if prefix else ''
        if digest.startswith(prefix or ''):
            return cached
        os.remove(cached)
        raise CheckpointHashError(
            f'SHA256 mismatch for checkpoint {url}: the name expects "{prefix}", the cached file '
            f'{cached} has "{digest}"; it was deleted and not used, retry to download it again'
        )
    os.makedirs(model_dir, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, cached, hash_prefix=prefix, progress=progress)
    except urllib.error.HTTPError as e:
        raise CheckpointDownloadError(
            f'cannot download checkpoint {url}: HTTP {e.code} {e.reason}; check the URL'
        ) from e
    except urllib.error.URLError as e:
        raise CheckpointDownloadError(
            f'cannot download checkpoint {url}: {e.reason}; check the network/proxy, or download '
            'it elsewhere and pass the local path'
        ) from e
    except RuntimeError as e:  # torch's 'invalid hash value (expected "x", got "y")'
        raise CheckpointHashError(
            f'SHA256 mismatch for checkpoint {url}: {e}; the file was deleted and not used'
        ) from e
    return cached


def rank0_first(fn: Callable[[], str]) -> str:
    """Run ``fn`` on rank 0, then (after a barrier) on the other ranks, as mmengine does.

    A failure on rank 0 still reaches the barrier (no rank hangs); the others then retry.
    """
    rank, world_size = get_dist_info()
    result, error = None, None
    if rank == 0:
        try:
            result = fn()
        except Exception as e:  # re-raised after the barrier
            error = e
    if world_size > 1:
        torch.distributed.barrier()
    if error is not None:
        raise error
    return fn() if rank > 0 else result


def load_from_http(
    filename: str,
    map_location: MapLocation = None,
    model_dir: Optional[str] = None,
    progress: bool = os.isatty(0),
):
    """The ``http(s)://`` scheme (signature of mmengine's): cache, hash check, safe load.

    A Google Drive URL (the official FaSRnet weights) goes through
    :func:`~fasrnet_mmpose.utils.official_weights.fetch_official_checkpoint`.
    """
    gdrive = _GDRIVE_REGEX.match(filename)
    if gdrive:
        from .official_weights import fetch_official_checkpoint

        cached = rank0_first(lambda: fetch_official_checkpoint(gdrive.group(2)))
        return safe_load(cached, map_location, shown=filename)
    cached = rank0_first(lambda: download_checkpoint(filename, model_dir, progress))
    try:
        return safe_load(cached, map_location, shown=filename)
    except UntrustedCheckpointError:
        raise
    except CheckpointError as e:
        raise CheckpointDownloadError(
            f'{filename} was downloaded to {cached} but cannot be loaded ({e}); if it is a web '
            'page (e.g. a share link), delete it and pass the file itself'
        ) from e


def register_checkpoint_loaders() -> None:
    """Register ``''``, ``http://``/``https://`` (replacing mmengine's) and ``file://`` (new)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes='file://', loader=load_from_file_url, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True
    )


def load_checkpoint_file(
    path_or_url: str, map_location: MapLocation = 'cpu', logger: Optional[str] = 'current'
) -> dict:
    """Load a checkpoint (any ``CheckpointLoader`` scheme) into a dict, e.g. for tools."""
    return CheckpointLoader.load_checkpoint(path_or_url, map_location=map_location, logger=logger)


register_checkpoint_loaders()
