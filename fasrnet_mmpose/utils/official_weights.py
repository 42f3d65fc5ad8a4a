# Copyright (c) OpenMMLab. All rights reserved.
"""The authors' FaSRnet weights: Google Drive download, safe unpacking, conversion, cache.

``https://drive.google.com/uc?id=<id>`` (the ``Weights`` of the official-ckpt entry of
``configs/fasrnet/metafile.yml``) is resolved by :func:`fetch_official_checkpoint`:

1. download the Drive file with ``gdown`` (imported only then; optional) into
   ``<torch hub cache>/fasrnet_official/``;
2. if it is a zip or tar archive, unpack it there, refusing any member that would land outside
   (absolute paths, ``..``, links);
3. pick the file with the official FaSRnet key structure (prefer ``epoch_28_state.pth``, the one
   the authors' config evaluates), convert it (:mod:`.official_checkpoint`), check it against the
   official-mode model and save it as ``fasrnet_official_<id>-<sha256[:8]>.pth``;
4. record both sha256 (download, converted file) in ``<id>.json``; later calls check the converted
   file against the record and use it without any network access.

The download function is :data:`DRIVE_DOWNLOAD` (``(file_id, dst_path) -> None``); tests replace
it with a loopback HTTP download.
"""

import json
import os
import os.path as osp
import shutil
import tarfile
import zipfile
from typing import Callable, List, Optional

import torch
from mmengine.logging import print_log

from .checkpoint import (
    ALLOWED_GLOBALS,
    CheckpointDownloadError,
    CheckpointHashError,
    get_checkpoint_cache_dir,
    sha256_of_file,
)
from .official_checkpoint import (
    check_against,
    convert_checkpoint_dict,
    is_official_checkpoint,
    target_shapes,
)

PREFERRED_NAME = 'epoch_28_state.pth'


def gdown_download(file_id: str, dst: str) -> None:
    """Download a Google Drive file with ``gdown`` (optional dependency, imported here)."""
    try:
        import gdown
    except ImportError as e:
        raise CheckpointDownloadError(
            f'downloading the official FaSRnet weights (Google Drive id {file_id}) needs gdown: '
            'pip install gdown, or download the file in a browser and pass its local path'
        ) from e
    try:  # gdown < 5 returns None on failure, gdown >= 5 raises
        ok = gdown.download(id=file_id, output=dst, quiet=False) is not None
        reason = 'quota, permissions or no network'
    except Exception as e:  # noqa: BLE001
        ok, reason = False, ' '.join(str(e).split())[:300]
    if not ok:
        raise CheckpointDownloadError(
            f'gdown could not download Google Drive file {file_id} ({reason}); download it in a '
            'browser and pass its local path'
        )


#: ``(file_id, dst_path) -> None``; replace it to download from elsewhere (tests).
DRIVE_DOWNLOAD: Callable[[str, str], None] = gdown_download


def _log(msg: str) -> None:
    print_log(msg, logger='current')


def _safe_members(names: List[str], links: List[str], archive: str, dst: str) -> None:
    root = osp.realpath(dst)
    for name in names + links:
        target = osp.realpath(osp.join(root, name))
        if name in links or osp.isabs(name) or not target.startswith(root + os.sep):
            raise CheckpointDownloadError(
                f'refusing to unpack {archive}: member {name!r} would land outside {dst} '
                '(absolute path, "..", or a link)'
            )


def unpack_archive(path: str, dst: str) -> Optional[List[str]]:
    """Unpack a zip/tar archive into ``dst`` after checking every member; None if no archive.

    Returns:
        list[str] | None: The unpacked regular files, or None if ``path`` is not an archive.

    Raises:
        CheckpointDownloadError: A member would land outside ``dst`` (nothing is unpacked).
    """
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            if 'data.pkl' in {osp.basename(n) for n in zf.namelist()}:
                return None  # a torch.save zip file is a checkpoint, not an archive
            infos = zf.infolist()
            links = [i.filename for i in infos if (i.external_attr >> 16) & 0o170000 == 0o120000]
            _safe_members([i.filename for i in infos], links, path, dst)
            zf.extractall(dst)
            names = [i.filename for i in infos if not i.is_dir()]
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            members = tf.getmembers()
            links = [m.name for m in members if not (m.isfile() or m.isdir())]
            _safe_members([m.name for m in members], links, path, dst)
            if hasattr(tarfile, 'data_filter'):  # Python >= 3.8.17/3.11.4: belt and braces
                tf.extractall(dst, filter='data')
            else:  # every member was checked above
                tf.extractall(dst)
            names = [m.name for m in members if m.isfile()]
    else:
        return None
    return [osp.join(dst, n) for n in names]


def _find_official(files: List[str], source: str) -> tuple:
    """The first file (``epoch_28_state.pth`` first) with the official key structure."""
    files = sorted(files, key=lambda f: (osp.basename(f) != PREFERRED_NAME, f))
    for path in files:
        try:
            with torch.serialization.safe_globals(ALLOWED_GLOBALS):
                checkpoint = torch.load(path, map_location='cpu', weights_only=True)
        except Exception:  # noqa: BLE001  (not a plain-tensor checkpoint: not the one)
            continue
        if is_official_checkpoint(checkpoint):
            return path, checkpoint
    raise CheckpointDownloadError(
        f'{source} holds no official FaSRnet checkpoint (looked at {len(files)} files: '
        f'{[osp.basename(f) for f in files][:10]}); download it in a browser and pass the path'
    )


def fetch_official_checkpoint(file_id: str, cache_dir: Optional[str] = None) -> str:
    """Download, unpack, convert and cache the official weights (see the module docstring).

    Args:
        file_id (str): Google Drive file id.
        cache_dir (str, optional): Defaults to ``<torch hub cache>/fasrnet_official``.

    Returns:
        str: The converted checkpoint (sha256 checked against the record).

    Raises:
        CheckpointHashError: The cached converted file does not match its record (deleted).
        CheckpointDownloadError: Download, unpacking or finding the checkpoint failed.
    """
    cache_dir = cache_dir or osp.join(get_checkpoint_cache_dir(), 'fasrnet_official')
    record_path = osp.join(cache_dir, f'{file_id}.json')
    if osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        converted = osp.join(cache_dir, record['converted'])
        digest = sha256_of_file(converted) if osp.isfile(converted) else 'missing'
        if digest == record['converted_sha256']:
            _log(f'official FaSRnet weights: using the cached converted file {converted}')
            return converted
        for stale in (record_path, converted):
            if osp.isfile(stale):
                os.remove(stale)
        raise CheckpointHashError(
            f'{converted} (official FaSRnet weights) has sha256 {digest}, recorded '
            f'{record["converted_sha256"]}: deleted; the next run downloads it again'
        )

    work = osp.join(cache_dir, f'{file_id}.download')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        download = osp.join(work, file_id)
        _log(f'official FaSRnet weights: downloading Google Drive file {file_id} to {download}')
        DRIVE_DOWNLOAD(file_id, download)
        downloaded_sha256 = sha256_of_file(download)
        files = unpack_archive(download, osp.join(work, 'unpacked'))
        if files is not None:
            _log(f'official FaSRnet weights: unpacked {len(files)} files from the archive')
        path, checkpoint = _find_official(files or [download], f'Google Drive file {file_id}')
        converted = convert_checkpoint_dict(checkpoint, f'gdrive:{file_id}/{osp.basename(path)}')
        check_against(converted['state_dict'], target_shapes())
        tmp = osp.join(work, 'converted.pth')
        torch.save(converted, tmp)
        converted_sha256 = sha256_of_file(tmp)
        name = f'fasrnet_official_{file_id}-{converted_sha256[:8]}.pth'
        os.replace(tmp, osp.join(cache_dir, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = dict(
        file_id=file_id,
        checkpoint=osp.basename(path),
        downloaded_sha256=downloaded_sha256,
        converted=name,
        converted_sha256=converted_sha256,
    )
    with open(record_path, 'w') as f:
        json.dump(record, f, indent=1)
    _log(
        f'official FaSRnet weights: converted {osp.basename(path)} and cached it as '
        f'{osp.join(cache_dir, name)} (sha256 {converted_sha256[:8]}..., recorded in {record_path})'
    )
    return osp.join(cache_dir, name)
