# Copyright (c) OpenMMLab. All rights reserved.
"""Refuse, for inference and test, a checkpoint that leaves backbone or head parameters unloaded.

mmengine loads checkpoints non-strictly and only logs the missing keys, so a checkpoint of another
model (a torchvision classifier, only the COCO HRNet) silently runs with random heads.
:func:`check_weights` counts, per component, the model entries the checkpoint provides (same
shape), those it misses and the checkpoint's unexpected entries, and raises one line unless
partial weights are allowed. Training keeps mmengine's non-strict ``load_from``/``init_cfg``.
"""

import re
from typing import Dict, Mapping, NamedTuple, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from .checkpoint import CheckpointError

ALLOW_HINT = 'pass --allow-partial-weights (allow_partial_weights=True) to run anyway'


class WeightsMismatchError(CheckpointError):
    """The checkpoint leaves backbone/head entries of the model unloaded."""


class WeightsReport(NamedTuple):
    """``counts``: component -> {matched, missing, unexpected, wrong_shape}; ``complete``: no
    component misses an entry."""

    counts: Dict[str, Dict[str, int]]
    complete: bool


def check_weights(
    model: torch.nn.Module,
    checkpoint: Mapping,
    source: str,
    allow_partial: bool = False,
    components: Sequence[str] = ('backbone', 'head'),
) -> WeightsReport:
    """Compare a checkpoint's state dict with ``model`` per component.

    Args:
        model (nn.Module): The model (unwrapped) the checkpoint is loaded into.
        checkpoint (Mapping): The loaded checkpoint (``state_dict`` entry or a bare state dict;
            ``module.`` prefixes are stripped as mmengine does).
        source (str): The checkpoint's name for the message.
        allow_partial (bool): Warn instead of raising. Defaults to False.
        components (Sequence[str]): Child modules that must be fully loaded.

    Returns:
        WeightsReport: the counts per component and whether all are complete.

    Raises:
        WeightsMismatchError: A component misses entries and ``allow_partial`` is False.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    model_state = model.state_dict()
    report: Dict[str, Dict[str, int]] = {}
    for name in [c for c in components if isinstance(getattr(model, c, None), torch.nn.Module)]:
        prefix = name + '.'
        keys = [k for k in model_state if k.startswith(prefix)]
        wrong = [
            k for k in keys if k in state and tuple(state[k].shape) != tuple(model_state[k].shape)
        ]
        matched = sum(k in state for k in keys) - len(wrong)
        unexpected = sum(k.startswith(prefix) and k not in model_state for k in state)
        missing = len(keys) - matched
        report[name] = dict(
            matched=matched, missing=missing, unexpected=unexpected, wrong_shape=len(wrong)
        )
    complete = all(r['missing'] == 0 for r in report.values())
    if not complete:
        counts = '; '.join(
            f'{n} {r["matched"]}/{r["matched"] + r["missing"]} matched, {r["missing"]} missing'
            + (f' ({r["wrong_shape"]} of wrong shape)' if r['wrong_shape'] else '')
            + f', {r["unexpected"]} unexpected'
            for n, r in report.items()
        )
        line = f'checkpoint {source} does not fit the model: {counts}'
        if not allow_partial:
            raise WeightsMismatchError(f'{line}; check the checkpoint/config pair, or {ALLOW_HINT}')
        print_log(
            f'{line}; running anyway (partial weights allowed): the output is like a randomly '
            'initialised model',
            logger='current',
            level=30,
        )
    return WeightsReport(report, complete)


@HOOKS.register_module()
class CheckpointCompletenessHook(Hook):
    """Runs :func:`check_weights` on the checkpoint ``Runner.load_checkpoint`` reads (test).

    Args:
        source (str): The checkpoint's name for the message.
        allow_partial (bool): Warn instead of raising. Defaults to False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, source: Optional[str] = None, allow_partial: bool = False) -> None:
        self.source = source
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_weights(model, checkpoint, self.source or 'load_from', self.allow_partial)
