# Copyright (c) OpenMMLab. All rights reserved.
"""Official FaSRnet checkpoints: key conversion, the authors' Drive weights (docs/model_zoo.md)."""

import os
import os.path as osp
import re
import stat
import tarfile
import tempfile
import zipfile
from typing import Dict, List, Mapping, Optional, Tuple

import mmengine
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from ..models.backbones_cfg import hrnet_w48
from .checkpoint import (
    CheckpointDownloadError,
    CheckpointError,
    CheckpointHashError,
    get_checkpoint_cache_dir,
    save_hashed,
    sha256_of_file,
    torch_load_allowed,
)

#: (official, plugin) key patterns, first match wins; ``*``: the rest of the key, ``#``: a layer
#: index. The ``hm_improve.`` rows without that prefix are DCPose's head keys.
KEY_TABLE = (
    ('rough_pose_estimation_net.final_layer.*', 'head.final_layer.*'),
    ('rough_pose_estimation_net.*', 'backbone.*'),
    ('pcda_p.*', 'head.frm.pcda_p.*'),
    ('pcda_n.*', 'head.frm.pcda_n.*'),
    ('TSA_Fusion.*', 'head.frm.tsa_fusion.*'),
    ('final_layer.*', 'head.frm.heatmap_layer.*'),
    ('hm_improve.offsets_list.#.0.weight', 'head.srm.offset_convs.#.weight'),
    ('hm_improve.masks_list.#.0.weight', 'head.srm.mask_convs.#.weight'),
    ('hm_improve.modulated_deform_conv_list.#.deform_conv.weight', 'head.srm.dcns.#.weight'),
    ('hm_improve.modulated_deform_conv_list.#.deform_conv.bias', 'head.srm.dcns.#.bias'),
    ('hm_improve.diff_temporal_fuse.*', 'head.srm.diff_temporal_fuse.*'),
    ('hm_improve.support_temporal_fuse.*', 'head.srm.support_temporal_fuse.*'),
    ('hm_improve.offset_mask_combine_conv.*', 'head.srm.offset_mask_combine_conv.*'),
)
_OFFICIAL_HEADS = {'hm_improve', 'pcda_p', 'pcda_n', 'TSA_Fusion'}
_BROWSER_HINT = 'download the file in a browser and pass its local path'


def official_key_to_plugin(key: str, inverse: bool = False) -> Optional[str]:
    """The plugin key of an official key (``module.`` stripped), or back; None if unknown."""
    for official, plugin in KEY_TABLE:
        src, dst = (plugin, official) if inverse else (official, plugin)
        match = re.fullmatch(re.escape(src).replace(r'\#', r'(\d+)').replace(r'\*', '(.+)'), key)
        if match:
            groups = iter(match.groups())
            return re.sub(r'[#*]', lambda _: next(groups), dst)
    return None


def official_srm_key_to_plugin(key: str) -> str:
    """An official SRM key without ``hm_improve.`` (or a DCPose head key) -> the SRM's key."""
    plugin = official_key_to_plugin('hm_improve.' + key)
    if plugin is None:
        raise CheckpointError(f'unknown official SRM key {key!r}')
    return plugin[len('head.srm.') :]


def extract_state_dict(checkpoint: object) -> Mapping[str, torch.Tensor]:
    """The state dict of a checkpoint: its ``state_dict`` entry, or the checkpoint itself."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping) or not state or not all(map(torch.is_tensor, state.values())):
        what = list(checkpoint)[:10] if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise CheckpointError(f'checkpoint has no "state_dict" and is not a state dict ({what})')
    return state


def _format_keys(title: str, keys: List[str], limit: int = 20) -> str:
    more = [f'  ... and {len(keys) - limit} more'] if len(keys) > limit else []
    return '\n'.join([f'{title}: {len(keys)}'] + [f'  {k}' for k in keys[:limit]] + more)


def convert_state_dict(official: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename every key of an official state dict (order kept; ``module.`` stripped)."""
    keys = [re.sub(r'^(module\.)+', '', k) for k in official]
    plugin = [official_key_to_plugin(k) for k in keys]
    unknown = [k for k, p in zip(keys, plugin) if p is None]
    if unknown:
        raise CheckpointError(_format_keys('unexpected keys (not in the official model)', unknown))
    converted = dict(zip(plugin, official.values()))
    if len(converted) < len(keys):
        raise CheckpointError('duplicate keys (the same key with and without "module.")')
    return converted


def check_against(converted: Mapping, target_shapes: Mapping[str, Tuple[int, ...]]) -> None:
    """Refuse a converted state dict that would not load strictly (lists the offending keys)."""
    missing = [k for k in target_shapes if k not in converted]
    unexpected = [k for k in converted if k not in target_shapes]
    shapes = {k: tuple(v.shape) for k, v in converted.items()}
    bad = [k for k, s in target_shapes.items() if shapes.get(k, tuple(s)) != tuple(s)]
    wrong = [f'{k}: checkpoint {shapes[k]} vs model {tuple(target_shapes[k])}' for k in bad]
    problems = (
        ('missing keys (in the model, not in the checkpoint; plugin names)', missing),
        ('unexpected keys (in the checkpoint, not in the model)', unexpected),
        ('shape mismatches', wrong),
    )
    text = [_format_keys(title, keys) for title, keys in problems if keys]
    if text:
        raise CheckpointError(
            'the checkpoint does not match the official-mode FaSRnet model:\n' + '\n'.join(text)
        )


def build_official_model(config: Optional[str] = None) -> torch.nn.Module:
    """``config``'s model, or HRNet-W48 + the official-mode ``FaSRHead``."""
    register_all_modules(init_default_scope=True)
    if config is not None:
        return MODELS.build(Config.fromfile(config).model)
    model = torch.nn.Module()
    model.backbone = MODELS.build(hrnet_w48())
    model.head = MODELS.build(dict(type='FaSRHead'))  # defaults = official flags
    return model


def target_shapes(config: Optional[str] = None) -> Dict[str, Tuple[int, ...]]:
    """Key -> shape of the target model's state dict (built on the meta device)."""
    with torch.device('meta'):
        return {k: tuple(v.shape) for k, v in build_official_model(config).state_dict().items()}


def checkpoint_layout(checkpoint: object) -> Optional[str]:
    """``'official'`` (FaSRnet backbone + heads), ``'plugin'`` (``backbone``/``head``) or None."""
    try:
        keys = extract_state_dict(checkpoint)
    except CheckpointError:
        return None
    roots = {re.sub(r'^(module\.)+', '', k).split('.')[0] for k in keys}
    if 'rough_pose_estimation_net' in roots and roots & _OFFICIAL_HEADS:
        return 'official'
    return 'plugin' if {'backbone', 'head'} <= roots else None


def convert_checkpoint_dict(checkpoint: Mapping, source: str) -> Dict:
    """``{'state_dict': converted, 'meta': {'converted_from': source}}`` (renaming only)."""
    try:
        state_dict = convert_state_dict(extract_state_dict(checkpoint))
    except CheckpointError as e:
        raise CheckpointError(f'cannot convert {source}: ' + str(e).splitlines()[0]) from e
    return dict(state_dict=state_dict, meta=dict(converted_from=source))


def gdown_download(file_id: str, dst: str) -> None:
    """Download a Google Drive file with ``gdown`` (optional dependency, imported here)."""
    try:  # gdown < 5 returns None on failure, gdown >= 5 raises
        import gdown

        if gdown.download(id=file_id, output=dst, quiet=False) is None:
            raise RuntimeError('quota, permissions or no network')
    except ImportError as e:
        raise CheckpointDownloadError(
            f'downloading the official FaSRnet weights (Google Drive id {file_id}) needs gdown: '
            f'pip install gdown, or {_BROWSER_HINT}'
        ) from e
    except Exception as e:  # noqa: BLE001
        reason = ' '.join(str(e).split())[:300]
        raise CheckpointDownloadError(f'gdown failed on {file_id} ({reason}); {_BROWSER_HINT}')


def _log(msg: str) -> None:
    print_log(f'official FaSRnet weights: {msg}', logger='current')


def unpack_archive(path: str, dst: str) -> Optional[List[str]]:
    """The files of zip/tar ``path`` unpacked in ``dst`` (refused if a member leaves it) or None."""
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        members = [(i.filename, stat.S_ISLNK(i.external_attr >> 16)) for i in archive.infolist()]
    elif tarfile.is_tarfile(path):
        archive = tarfile.open(path)
        archive.extraction_filter = getattr(tarfile, 'data_filter', None)  # belt and braces
        members = [(m.name, not (m.isfile() or m.isdir())) for m in archive]  # (name, is a link)
    else:
        return None
    with archive:
        if any(osp.basename(name) == 'data.pkl' for name, _ in members):
            return None  # a torch.save zip file is a checkpoint, not an archive
        root = osp.realpath(dst)
        for name, is_link in members:
            if is_link or not osp.realpath(osp.join(root, name)).startswith(root + os.sep):
                raise CheckpointDownloadError(
                    f'refusing to unpack {path}: member {name!r} would land outside {dst} '
                    '(absolute path, "..", or a link)'
                )
        archive.extractall(dst)
    files = [osp.join(folder, f) for folder, _, names in os.walk(dst) for f in names]
    _log(f'unpacked {len(files)} files from the archive')
    return files


def fetch_official_checkpoint(file_id: str) -> str:
    """The converted official checkpoint of Drive file ``file_id``, cached and sha256-checked."""
    cache_dir = osp.join(get_checkpoint_cache_dir(), 'fasrnet_official')
    record_path = osp.join(cache_dir, f'{file_id}.json')
    if osp.isfile(record_path):
        record = mmengine.load(record_path)
        converted = osp.join(cache_dir, record['converted'])
        digest = sha256_of_file(converted) if osp.isfile(converted) else 'missing'
        if digest == record['converted_sha256']:
            _log(f'using the cached converted file {converted}')
            return converted
        for stale in (record_path, converted):
            if osp.isfile(stale):
                os.remove(stale)
        raise CheckpointHashError(
            f'{converted} (official FaSRnet weights) has sha256 {digest}, recorded '
            f'{record["converted_sha256"]}: deleted; the next run downloads it again'
        )
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        download = osp.join(work, file_id)
        _log(f'downloading Google Drive file {file_id} to {download}')
        gdown_download(file_id, download)  # patch it to download from elsewhere (tests)
        files = unpack_archive(download, osp.join(work, 'unpacked')) or [download]
        for path in sorted(files, key=lambda f: (osp.basename(f) != 'epoch_28_state.pth', f)):
            try:  # the one the authors' config evaluates first
                checkpoint = torch_load_allowed(path)
            except Exception:  # noqa: BLE001  (not a plain-tensor checkpoint: not the one)
                continue
            if checkpoint_layout(checkpoint) == 'official':
                break
        else:
            raise CheckpointDownloadError(
                f'Google Drive file {file_id} holds no official FaSRnet checkpoint (looked at '
                f'{[osp.basename(f) for f in files][:10]}); {_BROWSER_HINT}'
            )
        converted = convert_checkpoint_dict(checkpoint, f'gdrive:{file_id}/{osp.basename(path)}')
        check_against(converted['state_dict'], target_shapes())
        converted = save_hashed(converted, osp.join(cache_dir, f'fasrnet_official_{file_id}'))
        record = dict(checkpoint=osp.basename(path), downloaded_sha256=sha256_of_file(download))
        record.update(converted=osp.basename(converted), converted_sha256=sha256_of_file(converted))
    mmengine.dump(record, record_path, indent=1)
    _log(f'converted {record["checkpoint"]} and cached it as {converted} (sha256 recorded)')
    return converted
