# Copyright (c) OpenMMLab. All rights reserved.
"""Refuse, for inference and test, a checkpoint that leaves backbone or head entries unloaded
(docs/model_zoo.md, "Partial weights are refused"); training keeps mmengine's non-strict loads."""

import re
from typing import Dict, Mapping, NamedTuple, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from .checkpoint import CheckpointError


class WeightsMismatchError(CheckpointError):
    """The checkpoint leaves backbone/head entries of the model unloaded."""


class WeightsReport(NamedTuple):
    """Per component {matched, missing, unexpected, wrong_shape}; complete: nothing missing."""

    counts: Dict[str, Dict[str, int]]
    complete: bool


def check_weights(
    model: torch.nn.Module,
    checkpoint: Mapping,
    source: str,
    allow_partial: bool = False,
    components: Sequence[str] = ('backbone', 'head'),
) -> WeightsReport:
    """Count per component the model entries a checkpoint provides; raise one line if any miss.

    Args:
        model (nn.Module): The (unwrapped) model the checkpoint is loaded into.
        checkpoint (Mapping): The loaded checkpoint (``state_dict`` entry or a bare state dict).
        source (str): The checkpoint's name for the message.
        allow_partial (bool): Warn instead of raising. Defaults to False.
        components (Sequence[str]): Child modules that must be fully loaded.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    model_state, counts = model.state_dict(), {}
    for name in [c for c in components if isinstance(getattr(model, c, None), torch.nn.Module)]:
        keys = [k for k in model_state if k.startswith(name + '.')]
        wrong = sum(k in state and state[k].shape != model_state[k].shape for k in keys)
        matched = sum(k in state for k in keys) - wrong
        unexpected = sum(k.startswith(name + '.') and k not in model_state for k in state)
        counts[name] = dict(
            matched=matched, missing=len(keys) - matched, unexpected=unexpected, wrong_shape=wrong
        )
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
        print_log(
            f'{line}; running anyway (partial weights allowed): the output is like a randomly '
            'initialised model',
            logger='current',
            level=30,
        )
    return WeightsReport(counts, complete)


@HOOKS.register_module()
class CheckpointCompletenessHook(Hook):
    """Runs :func:`check_weights` on the checkpoint ``Runner.load_checkpoint`` reads (test).

    Args:
        source (str, optional): The checkpoint's name for the message.
        allow_partial (bool): Warn instead of raising. Defaults to False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, source: Optional[str] = None, allow_partial: bool = False) -> None:
        self.source, self.allow_partial = source, allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_weights(model, checkpoint, self.source or 'load_from', self.allow_partial)
