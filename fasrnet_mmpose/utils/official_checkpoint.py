# Copyright (c) OpenMMLab. All rights reserved.
"""Official FaSRnet checkpoints (Elvis-Aron/FaSRnet) -> this plugin's layout.

Key mapping (official -> plugin)::

    rough_pose_estimation_net.final_layer.*  -> head.final_layer.*      (rough heatmaps, HRNet 1x1)
    rough_pose_estimation_net.<rest>         -> backbone.<rest>         (1:1, mmpose HRNet names)
    pcda_p.* / pcda_n.*                      -> head.frm.pcda_p.* / head.frm.pcda_n.*
    TSA_Fusion.*                             -> head.frm.tsa_fusion.*
    final_layer.*  (top level, FRM 1x1!)     -> head.frm.heatmap_layer.*
    hm_improve.<srm key>                     -> head.srm.<official_srm_key_to_plugin(srm key)>

The SRM key mapping is shared with DCPose (whose head keys are the SRM keys without a prefix).
The result loads with ``strict=True`` into the official-mode model (mmpose ``HRNet`` W48 +
:class:`FaSRHead` with the official flags, docs/official_vs_fixed.md). Used by
``tools/convert_official_checkpoint.py``, by the checkpoint loaders (an official file given as a
local path is converted on the fly) and by :mod:`.official_weights` (the authors' download).
"""

import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

MODULE_PREFIX = 'module.'
OFFICIAL_BACKBONE = 'rough_pose_estimation_net.'
OFFICIAL_HEADS = ('hm_improve.', 'pcda_p.', 'pcda_n.', 'TSA_Fusion.')

# (official prefix, plugin prefix); first match wins, so the backbone's final_layer comes first and
# the top-level (FRM) final_layer is matched only as an exact top-level prefix.
_PREFIX_MAP: Tuple[Tuple[str, str], ...] = (
    (OFFICIAL_BACKBONE + 'final_layer.', 'head.final_layer.'),
    (OFFICIAL_BACKBONE, 'backbone.'),
    ('pcda_p.', 'head.frm.pcda_p.'),
    ('pcda_n.', 'head.frm.pcda_n.'),
    ('TSA_Fusion.', 'head.frm.tsa_fusion.'),
    ('final_layer.', 'head.frm.heatmap_layer.'),
)
_SRM_OFFICIAL_PREFIX = 'hm_improve.'
_SRM_PLUGIN_PREFIX = 'head.srm.'

# SRM keys that differ: (official template, plugin template, parameter names); `{}` = layer index,
# then parameter name. Both directions are read from this one table.
_SRM_KEY_TEMPLATES = (
    ('offsets_list.{}.0.{}', 'offset_convs.{}.{}', 'weight'),
    ('masks_list.{}.0.{}', 'mask_convs.{}.{}', 'weight'),
    ('modulated_deform_conv_list.{}.deform_conv.{}', 'dcns.{}.{}', 'weight|bias'),
)


def _template_regex(template: str, params: str) -> re.Pattern:
    """The regex of a key template: ``'a.{}.b.{}'`` -> ``^a\\.(\\d+)\\.b\\.(params)$``."""
    head, mid, tail = template.split('{}')
    return re.compile(f'^{re.escape(head)}(\\d+){re.escape(mid)}({params}){re.escape(tail)}$')


# (official regex, plugin template) and (plugin regex, official template)
_SRM_TO_PLUGIN = tuple((_template_regex(o, ps), p) for o, p, ps in _SRM_KEY_TEMPLATES)
_SRM_TO_OFFICIAL = tuple((_template_regex(p, ps), o) for o, p, ps in _SRM_KEY_TEMPLATES)
_RSB_CHAINS = ('diff_temporal_fuse.', 'support_temporal_fuse.', 'offset_mask_combine_conv.')


class ConversionError(ValueError):
    """Raised when a checkpoint cannot be converted or does not match the target model."""


def _convert_srm_key(key: str, to_plugin: bool) -> str:
    """Map an SRM key official -> plugin (``to_plugin``) or plugin -> official."""
    if key.startswith(_RSB_CHAINS):
        return key
    for pattern, template in _SRM_TO_PLUGIN if to_plugin else _SRM_TO_OFFICIAL:
        match = pattern.match(key)
        if match:
            return template.format(*match.groups())
    raise ConversionError(f'unknown {"official" if to_plugin else "plugin"} SRM key {key!r}')


def official_srm_key_to_plugin(key: str) -> str:
    """Map an official SRM key (FaSRnet ``hm_improve.`` stripped, or a DCPose head key).

    RSB-chain keys are identical; ``offsets_list.i.0.weight`` -> ``offset_convs.i.weight``,
    ``masks_list.i.0.weight`` -> ``mask_convs.i.weight``,
    ``modulated_deform_conv_list.i.deform_conv.{weight,bias}`` -> ``dcns.i.{weight,bias}``.
    """
    return _convert_srm_key(key, to_plugin=True)


def plugin_srm_key_to_official(key: str) -> str:
    """Inverse of :func:`official_srm_key_to_plugin`."""
    return _convert_srm_key(key, to_plugin=False)


def _convert_key(key: str, to_plugin: bool) -> str:
    """Map a whole-model key official -> plugin (``to_plugin``) or plugin -> official."""
    srm_src, srm_dst = _SRM_OFFICIAL_PREFIX, _SRM_PLUGIN_PREFIX
    if not to_plugin:
        srm_src, srm_dst = srm_dst, srm_src
    if key.startswith(srm_src):
        return srm_dst + _convert_srm_key(key[len(srm_src) :], to_plugin)
    for official, plugin in _PREFIX_MAP:
        src, dst = (official, plugin) if to_plugin else (plugin, official)
        if key.startswith(src):
            return dst + key[len(src) :]
    if to_plugin:
        raise ConversionError(f'unexpected key {key!r}: not part of the official FaSRnet model')
    raise ConversionError(f'unexpected plugin key {key!r}')


def official_key_to_plugin(key: str) -> str:
    """Map one official FaSRnet state-dict key (``module.`` already stripped) to the plugin key."""
    return _convert_key(key, to_plugin=True)


def plugin_key_to_official(key: str) -> str:
    """Inverse of :func:`official_key_to_plugin`."""
    return _convert_key(key, to_plugin=False)


def strip_module_prefix(key: str) -> str:
    """Remove any number of leading ``module.`` (DataParallel) prefixes."""
    while key.startswith(MODULE_PREFIX):
        key = key[len(MODULE_PREFIX) :]
    return key


def extract_state_dict(checkpoint: Mapping) -> Mapping:
    """Return the state dict of an official checkpoint container (or the dict itself)."""
    if not isinstance(checkpoint, Mapping):
        raise ConversionError(f'checkpoint is a {type(checkpoint).__name__}, not a dict')
    if 'state_dict' in checkpoint and isinstance(checkpoint['state_dict'], Mapping):
        return checkpoint['state_dict']
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise ConversionError(
        'checkpoint has no "state_dict" entry and is not a state dict itself '
        f'(top-level keys: {sorted(checkpoint)[:10]})'
    )


def convert_state_dict(official: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename every key of an official state dict (order preserved).

    Raises:
        ConversionError: on keys that do not belong to the official model or on duplicates.
    """
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    unknown: List[str] = []
    for key, value in official.items():
        key = strip_module_prefix(key)
        try:
            new_key = official_key_to_plugin(key)
        except ConversionError:
            unknown.append(key)
            continue
        if new_key in converted:
            raise ConversionError(f'duplicate key {key!r} (after stripping "module.")')
        converted[new_key] = value
    if unknown:
        raise ConversionError(
            _format_keys('unexpected keys (not in the official FaSRnet model)', unknown)
        )
    return converted


def _format_keys(title: str, keys: Iterable[str], limit: int = 20) -> str:
    keys = list(keys)
    lines = [f'{title}: {len(keys)}']
    lines += [f'  {k}' for k in keys[:limit]]
    if len(keys) > limit:
        lines.append(f'  ... and {len(keys) - limit} more')
    return '\n'.join(lines)


def check_against(
    converted: Mapping[str, torch.Tensor], target_shapes: Mapping[str, Tuple[int, ...]]
) -> None:
    """Refuse a converted state dict that would not load strictly into the target.

    Args:
        converted (Mapping[str, Tensor]): Plugin-named state dict.
        target_shapes (Mapping[str, tuple]): Key -> shape of the target model's state dict.

    Raises:
        ConversionError: listing missing keys, unexpected keys and shape mismatches.
    """
    missing = [k for k in target_shapes if k not in converted]
    unexpected = [k for k in converted if k not in target_shapes]
    mismatched = [
        f'{k}: checkpoint {tuple(converted[k].shape)} vs model {tuple(target_shapes[k])}'
        for k in target_shapes
        if k in converted and tuple(converted[k].shape) != tuple(target_shapes[k])
    ]
    problems = []
    if missing:
        problems.append(
            _format_keys(
                'missing keys (in the model, not in the checkpoint; shown with their plugin names)',
                missing,
            )
        )
    if unexpected:
        problems.append(
            _format_keys('unexpected keys (in the checkpoint, not in the model)', unexpected)
        )
    if mismatched:
        problems.append(_format_keys('shape mismatches', mismatched))
    if problems:
        raise ConversionError(
            'the checkpoint does not match the official-mode FaSRnet model:\n' + '\n'.join(problems)
        )


def build_official_model(config: Optional[str] = None) -> torch.nn.Module:
    """Build the target model: ``config``'s model, or HRNet-W48 + official-mode ``FaSRHead``."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    if config is not None:
        from mmengine.config import Config

        return MODELS.build(Config.fromfile(config).model)
    from mmpose.models.backbones import HRNet

    from ..models.backbones_cfg import hrnet_w48
    from ..models.heads import FaSRHead

    model = torch.nn.Module()
    model.backbone = HRNet(extra=hrnet_w48()['extra'])
    model.head = FaSRHead()  # defaults = official flags
    return model


def target_shapes(config: Optional[str] = None) -> 'OrderedDict[str, Tuple[int, ...]]':
    """Key -> shape of the target model's state dict (built on the meta device when possible)."""
    try:
        with torch.device('meta'):
            model = build_official_model(config)
    except Exception:  # noqa: BLE001  (some custom module may not support the meta device)
        model = build_official_model(config)
    return OrderedDict((k, tuple(v.shape)) for k, v in model.state_dict().items())


def _state_dict_keys(checkpoint: object) -> List[str]:
    """Keys of the state dict held by ``checkpoint`` (``module.`` stripped), [] if none."""
    try:
        return [strip_module_prefix(k) for k in extract_state_dict(checkpoint)]
    except ConversionError:
        return []


def is_official_checkpoint(checkpoint: object) -> bool:
    """Whether ``checkpoint`` has the official FaSRnet key structure (backbone + FaSRnet heads)."""
    keys = _state_dict_keys(checkpoint)
    return any(k.startswith(OFFICIAL_BACKBONE) for k in keys) and any(
        k.startswith(OFFICIAL_HEADS) for k in keys
    )


def is_plugin_checkpoint(checkpoint: object) -> bool:
    """Whether ``checkpoint`` already has this plugin's layout (``backbone.*`` + ``head.*``)."""
    keys = _state_dict_keys(checkpoint)
    return any(k.startswith('backbone.') for k in keys) and any(k.startswith('head.') for k in keys)


def convert_checkpoint_dict(checkpoint: Mapping, source: str) -> Dict:
    """``{'state_dict': converted, 'meta': ...}`` of an official checkpoint (renaming only).

    Args:
        checkpoint (Mapping): The loaded official checkpoint (or bare state dict).
        source (str): Where it came from (recorded in ``meta.converted_from``).
    """
    converted = convert_state_dict(extract_state_dict(checkpoint))
    meta = dict(
        converted_from=source,
        converter='fasrnet_mmpose.utils.official_checkpoint',
        note='load into the official-mode model (docs/official_vs_fixed.md) to reproduce the '
        'official outputs',
    )
    return dict(state_dict=converted, meta=meta)


def convert_if_official(checkpoint: object, source: str) -> object:
    """Convert an official FaSRnet checkpoint on the fly (logged); anything else unchanged."""
    if not is_official_checkpoint(checkpoint):
        return checkpoint
    try:
        converted = convert_checkpoint_dict(checkpoint, source)
    except ConversionError as e:
        first = str(e).splitlines()[0]
        raise ConversionError(
            f'{source} looks like an official FaSRnet checkpoint but cannot be converted: {first}'
        ) from e
    print_log(
        f'{source} is an official FaSRnet checkpoint: converted on the fly to the plugin layout '
        f'({len(converted["state_dict"])} entries); load it into the official-ckpt config',
        logger='current',
    )
    return converted
