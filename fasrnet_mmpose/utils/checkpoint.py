# Copyright (c) OpenMMLab. All rights reserved.
"""Checkpoint loaders for local paths, ``file://`` and ``http(s)://`` URLs.

mmengine resolves every checkpoint path (``load_from``, ``--checkpoint``,
``init_cfg=dict(type='Pretrained', checkpoint=...)``, the ``weights`` of an
Inferencer, ...) through :class:`mmengine.runner.CheckpointLoader`, which
picks a loader by URL prefix (longest/most specific prefix first, ``''`` is
the fallback for plain local paths). Importing :mod:`fasrnet_mmpose` calls
:func:`register_checkpoint_loaders`, which replaces three of these loaders
(``force=True``) and leaves all the others (``open-mmlab://``,
``torchvision://``, ``s3://``, ``pavi://``, ...) untouched:

* ``''`` (plain local paths): mmengine 0.10.7 calls ``torch.load`` without
  ``weights_only``; since torch 2.6 that defaults to ``True`` and every
  mmengine/mmpose checkpoint (its ``meta`` holds numpy arrays and
  ``HistoryBuffer`` objects) fails with ``UnpicklingError``. Our loader
  passes ``weights_only=False``, exactly like mmengine's HTTP loader already
  does (``torch.hub.load_state_dict_from_url``) and like the unreleased
  mmengine fix (open-mmlab/mmengine#1650).
* ``file://``: unsupported by mmengine (it falls through to the local loader
  and raises ``FileNotFoundError``). ``file:///abs/path.pth`` and
  ``file://localhost/abs/path.pth`` are turned into local paths.
* ``http://`` / ``https://``: downloads into the torch hub cache
  (``torch.hub.get_dir()/checkpoints``, i.e. ``$TORCH_HOME/hub/checkpoints``,
  default ``~/.cache/torch/hub/checkpoints``) like mmengine does, but when the
  file name carries OpenMMLab's hash suffix (``name-<sha256 prefix>.pth`` or
  ``name-<sha256 prefix>_<YYYYMMDD>.pth``, 8 or more hex digits, as written by
  mmpose's ``tools/misc/publish_model.py``) the SHA256 of the file is checked
  after every download *and* on every cache hit. A mismatching file is
  deleted and a :class:`CheckpointHashError` names the URL and both hashes.
  HTTP/network failures raise :class:`CheckpointDownloadError` naming the
  URL. In distributed runs rank 0 downloads first and the other ranks wait at
  a barrier, as in mmengine's ``load_from_http``.

Security note:
    ``weights_only=False`` lets ``pickle`` run code embedded in the file.
    That is what every mmengine checkpoint needs (and what mmengine does for
    downloaded files anyway), so only load checkpoints you trust: your own
    training outputs, OpenMMLab's model zoo, files whose SHA256 you checked.
"""

import hashlib
import http.client
import os
import os.path as osp
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Callable, Optional, Union

import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'CheckpointDownloadError',
    'CheckpointHashError',
    'download_checkpoint',
    'file_url_to_path',
    'get_checkpoint_cache_dir',
    'get_hash_prefix',
    'load_checkpoint_file',
    'load_from_file_url',
    'load_from_http_verified',
    'load_from_local_trusted',
    'register_checkpoint_loaders',
    'sha256_of_file',
]

MapLocation = Optional[Union[str, torch.device, Callable, dict]]

# ``<name>-<sha256 prefix>[_<YYYYMMDD>].<ext>[.<ext>]``: the hash is the last
# ``-`` separated group of at least 8 hex digits right before the (optional)
# date and the extension(s), e.g. ``hrnet_w48_coco_256x192-b9e0b3ab_20200708
# .pth`` or ``rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth``.
HASH_SUFFIX_REGEX = re.compile(
    r'-(?P<hash>[0-9a-fA-F]{8,64})(?:_(?P<date>\d{8}))?(?:\.[A-Za-z0-9]+)+$'
)

_READ_CHUNK = 1 << 20


class CheckpointDownloadError(RuntimeError):
    """A checkpoint URL could not be downloaded or loaded."""


class CheckpointHashError(CheckpointDownloadError):
    """A checkpoint's SHA256 does not match the prefix in its file name."""


def get_hash_prefix(filename: str) -> Optional[str]:
    """Return the SHA256 prefix encoded in an OpenMMLab checkpoint name.

    Args:
        filename (str): A file name, path or URL (only the base name of the
            path part is looked at; query strings are ignored).

    Returns:
        str | None: The lower-case hex prefix (8 or more digits), or ``None``
        when the name carries no hash suffix.

    Examples:
        >>> get_hash_prefix('hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth')
        'b9e0b3ab'
        >>> get_hash_prefix('https://x.org/a/resnet18-5c106cde.pth?dl=1')
        '5c106cde'
        >>> get_hash_prefix('epoch_210.pth') is None
        True
    """
    path = urllib.parse.urlparse(filename).path if '://' in filename else filename
    match = HASH_SUFFIX_REGEX.search(osp.basename(path))
    return match.group('hash').lower() if match else None


def sha256_of_file(path: str) -> str:
    """Compute the hex SHA256 digest of a file, reading it in chunks.

    Args:
        path (str): The file to hash.

    Returns:
        str: The lower-case hex digest.
    """
    sha256 = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_READ_CHUNK), b''):
            sha256.update(chunk)
    return sha256.hexdigest()


def get_checkpoint_cache_dir() -> str:
    """Directory where downloaded checkpoints are cached.

    It is ``torch.hub.get_dir()/checkpoints``, the same place mmengine and
    torchvision use: ``$TORCH_HOME/hub/checkpoints`` when ``TORCH_HOME`` is
    set, otherwise ``$XDG_CACHE_HOME/torch/hub/checkpoints`` (default
    ``~/.cache/torch/hub/checkpoints``). It is read at call time, so changing
    ``TORCH_HOME`` (or calling ``torch.hub.set_dir``) takes effect at once.

    Returns:
        str: The cache directory (not created by this function).
    """
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def file_url_to_path(url: str) -> str:
    """Convert a ``file://`` URL to a local path.

    Args:
        url (str): ``file:///abs/path.pth`` or
            ``file://localhost/abs/path.pth``; percent-escapes (e.g. ``%20``)
            are decoded, as produced by ``pathlib.Path.as_uri()``.

    Returns:
        str: The local file path.

    Raises:
        ValueError: If ``url`` is not a ``file://`` URL or names a remote
            host (``file://host/...`` cannot be read as a local file).
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != 'file':
        raise ValueError(f'Not a file:// URL: {url}')
    if parsed.netloc not in ('', 'localhost'):
        raise ValueError(
            f'Cannot load {url}: a file:// URL must be absolute, '
            f'e.g. file:///abs/path/model.pth (three slashes), got host '
            f'"{parsed.netloc}". Use a plain path for relative files.'
        )
    return urllib.request.url2pathname(parsed.path)


def _torch_load_trusted(filename: str, map_location: MapLocation) -> dict:
    """``torch.load`` with ``weights_only=False`` (see module docstring)."""
    return torch.load(filename, map_location=map_location, weights_only=False)


def load_from_local_trusted(filename: str, map_location: MapLocation = None) -> dict:
    """Load a checkpoint from a local path (the ``''`` scheme).

    Same as mmengine's ``load_from_local`` but with ``weights_only=False``,
    so that mmengine/mmpose checkpoints (numpy arrays, ``HistoryBuffer``
    objects in ``meta``) load under torch >= 2.6. Only load trusted files:
    unpickling can execute code.

    Args:
        filename (str): Local checkpoint path (``~`` is expanded).
        map_location (str | torch.device | Callable | dict, optional): Same
            as :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return _torch_load_trusted(filename, map_location)


def load_from_file_url(filename: str, map_location: MapLocation = None) -> dict:
    """Load a checkpoint from a ``file://`` URL (the ``file://`` scheme).

    Args:
        filename (str): ``file:///abs/path.pth`` or
            ``file://localhost/abs/path.pth``.
        map_location (str | torch.device | Callable | dict, optional): Same
            as :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the URL names a remote host.
    """
    path = file_url_to_path(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} (from {filename}) can not be found.')
    return _torch_load_trusted(path, map_location)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _verify_hash(url: str, path: str, hash_prefix: str, shown: Optional[str] = None) -> None:
    """Raise :class:`CheckpointHashError` (and delete ``path``) on mismatch."""
    digest = sha256_of_file(path)
    if not digest.startswith(hash_prefix):
        _remove_quietly(path)
        raise CheckpointHashError(
            f'SHA256 mismatch for checkpoint {url}: the file name expects a '
            f'hash starting with "{hash_prefix}" but the file has "{digest}". '
            f'The file ({shown or path}) was deleted and not used. The '
            'download may be corrupted or the server may serve a different '
            'file; retry, or check the URL.'
        )


def download_checkpoint(
    url: str,
    model_dir: Optional[str] = None,
    file_name: Optional[str] = None,
    progress: bool = True,
    check_hash: bool = True,
) -> str:
    """Download a checkpoint into the cache (once) and verify its hash.

    The cache key is the file name (the base name of the URL path unless
    ``file_name`` is given): an existing file is reused without a request.
    When the name carries an OpenMMLab hash suffix (see
    :func:`get_hash_prefix`) and ``check_hash`` is True, the SHA256 of the
    file is checked after the download and on every cache hit; a mismatching
    file is deleted. A download is written to a temporary file and moved into
    place only once complete and verified, so the cache never holds a
    partial or unverified download.

    This function does no distributed synchronisation; see
    :func:`load_from_http_verified`.

    Args:
        url (str): ``http://`` or ``https://`` URL.
        model_dir (str, optional): Cache directory. Defaults to
            :func:`get_checkpoint_cache_dir`.
        file_name (str, optional): File name in the cache. Defaults to the
            base name of the URL path.
        progress (bool): Show a progress bar while downloading.
            Defaults to True.
        check_hash (bool): Verify the SHA256 prefix in the file name when
            there is one. Defaults to True.

    Returns:
        str: Path of the cached (and verified) file.

    Raises:
        CheckpointDownloadError: On HTTP errors (e.g. 404) or network errors.
        CheckpointHashError: On a SHA256 mismatch (the file is deleted).
    """
    if model_dir is None:
        model_dir = get_checkpoint_cache_dir()
    if file_name is None:
        file_name = osp.basename(urllib.parse.urlparse(url).path)
    if not file_name:
        raise CheckpointDownloadError(
            f'Cannot derive a cache file name from {url}; the URL path must '
            'end with a file name (e.g. .../model-1a2b3c4d_20240101.pth).'
        )
    hash_prefix = get_hash_prefix(file_name) if check_hash else None
    cached_file = osp.join(model_dir, file_name)

    if not osp.isfile(cached_file):
        os.makedirs(model_dir, exist_ok=True)
        tmp_file = f'{cached_file}.{uuid.uuid4().hex}.download'
        try:
            # torch writes to its own ``.partial`` file and moves it to
            # ``tmp_file`` only when the body was read completely.
            torch.hub.download_url_to_file(url, tmp_file, progress=progress)
            if hash_prefix is not None:
                _verify_hash(url, tmp_file, hash_prefix, shown=cached_file)
            os.replace(tmp_file, cached_file)
        except urllib.error.HTTPError as e:
            raise CheckpointDownloadError(
                f'Failed to download checkpoint {url}: HTTP {e.code} {e.reason}'
            ) from e
        except urllib.error.URLError as e:
            raise CheckpointDownloadError(f'Failed to download checkpoint {url}: {e.reason}') from e
        except (OSError, http.client.HTTPException) as e:
            raise CheckpointDownloadError(
                f'Failed to download checkpoint {url}: {type(e).__name__}: {e}'
            ) from e
        finally:
            _remove_quietly(tmp_file)
    elif hash_prefix is not None:
        _verify_hash(url, cached_file, hash_prefix)
    return cached_file


def load_from_http_verified(
    filename: str,
    map_location: MapLocation = None,
    model_dir: Optional[str] = None,
    progress: bool = os.isatty(0),
) -> dict:
    """Load a checkpoint from an ``http(s)://`` URL (hash-checked cache).

    Drop-in replacement for mmengine's ``load_from_http`` (same signature):
    the file is downloaded with :func:`download_checkpoint` into the torch hub
    cache and loaded with ``weights_only=False``. In a distributed run rank 0
    downloads first while the other ranks wait at a barrier and then read the
    cached file. If rank 0 fails, it still reaches the barrier (so no rank
    hangs) and the other ranks try themselves, so every rank raises.

    Args:
        filename (str): The checkpoint URL.
        map_location (str | torch.device | Callable | dict, optional): Same
            as :func:`torch.load`. Defaults to None.
        model_dir (str, optional): Cache directory. Defaults to
            :func:`get_checkpoint_cache_dir`.
        progress (bool): Show a download progress bar. Defaults to True when
            stdin is a terminal.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointDownloadError: On HTTP/network errors or when the file is
            not a loadable PyTorch checkpoint (e.g. an HTML page).
        CheckpointHashError: On a SHA256 mismatch.
    """
    rank, world_size = get_dist_info()
    cached_file: Optional[str] = None
    error: Optional[BaseException] = None
    if rank == 0:
        try:
            cached_file = download_checkpoint(filename, model_dir=model_dir, progress=progress)
        except Exception as e:  # re-raised after the barrier
            error = e
    if world_size > 1:
        torch.distributed.barrier()
    if error is not None:
        raise error
    if rank > 0:
        cached_file = download_checkpoint(filename, model_dir=model_dir, progress=progress)
    assert cached_file is not None
    try:
        return _torch_load_trusted(cached_file, map_location)
    except Exception as e:
        raise CheckpointDownloadError(
            f'{filename} was downloaded to {cached_file} but cannot be loaded '
            f'as a PyTorch checkpoint ({type(e).__name__}: {e}). If that file '
            'is not a checkpoint (e.g. the URL is a web page such as a Google '
            'Drive share link), delete it, download the checkpoint in a '
            'browser and pass its local path instead.'
        ) from e


def register_checkpoint_loaders() -> None:
    """Register the plugin's loaders with mmengine's ``CheckpointLoader``.

    Overrides (``force=True``) the ``''`` (local), ``http://`` and
    ``https://`` schemes and adds ``file://``. Idempotent; called when
    :mod:`fasrnet_mmpose` is imported. Other schemes keep mmengine's loaders
    because mmengine tries more specific prefixes before ``''``.
    """
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_trusted, force=True)
    CheckpointLoader.register_scheme(prefixes='file://', loader=load_from_file_url, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http_verified, force=True
    )


def load_checkpoint_file(
    path_or_url: str, map_location: MapLocation = 'cpu', logger: Optional[str] = 'current'
) -> dict:
    """Load a checkpoint (path or URL) into a dict, e.g. for tools.

    Goes through mmengine's ``CheckpointLoader``, so every scheme works:
    local paths, ``file://``, ``http(s)://`` (cached, hash-checked),
    ``open-mmlab://``, ``torchvision://``, ...

    Args:
        path_or_url (str): Local path or URL of the checkpoint.
        map_location (str | torch.device | Callable | dict, optional): Same
            as :func:`torch.load`. Defaults to ``'cpu'``.
        logger (str, optional): mmengine logger for the "Loads checkpoint
            by ... backend" message. Defaults to ``'current'``.

    Returns:
        dict: The loaded checkpoint, usually with ``state_dict`` and
        ``meta`` keys (a bare state dict for some third-party files).
    """
    return CheckpointLoader.load_checkpoint(path_or_url, map_location=map_location, logger=logger)


register_checkpoint_loaders()
