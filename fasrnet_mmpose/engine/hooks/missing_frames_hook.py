# Copyright (c) OpenMMLab. All rights reserved.
"""Report once per epoch / test how many neighbour frames were missing on disk."""

import logging
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS

from ...structures.temporal_window import FALLBACK_BOUNDARY, FALLBACK_MISSING

#: above this share of missing neighbour frames the model effectively sees one frame
MISSING_SHARE_WARNING = 0.2


@HOOKS.register_module()
class MissingFramesHook(Hook):
    """Count the neighbour frames that were not on disk, over all workers and ranks.

    ``PoseTrackVideoDataset`` replaces a neighbour frame that is not on disk by the centre frame
    and flags it in the sample's ``neighbour_fallback`` metainfo (``FALLBACK_MISSING``). The
    samples are built in DataLoader worker processes, so the flags travel with the batch: this
    hook sums them in the main process (and over ranks) and logs once after every train epoch,
    validation and test::

        train epoch 1: 14 of 14 neighbour frames missing on disk (100.0 %): centre frame used

    Neighbours beyond the sequence (``FALLBACK_BOUNDARY``) are not counted: the official
    boundary rule uses the centre frame there by design. Above ``warn_share`` the line is a
    WARNING that the model is effectively single-frame (``[t, t, t]``).

    The key must be packed: ``PackPoseInputs(meta_keys=(..., 'neighbour_fallback'))``. If no
    sample of a loop carries it, the hook says so once.

    Args:
        warn_share (float): Share of missing neighbour frames above which a WARNING is logged.
            Defaults to 0.2.
    """

    priority = 'LOW'
    KEY = 'neighbour_fallback'

    def __init__(self, warn_share: float = MISSING_SHARE_WARNING) -> None:
        self.warn_share = warn_share
        self._counts: Dict[str, np.ndarray] = {}
        self._told_absent = False

    # ------------------------------------------------------------------ counting
    def _reset(self, mode: str) -> None:
        self._counts[mode] = np.zeros(3, dtype=np.int64)  # missing, looked for, samples seen

    def _count(self, mode: str, data_batch: Optional[dict]) -> None:
        samples: Sequence = (data_batch or {}).get('data_samples') or []
        flags = [s.metainfo[self.KEY] for s in samples if self.KEY in s.metainfo]
        counts = self._counts.setdefault(mode, np.zeros(3, dtype=np.int64))
        if flags:
            codes = np.concatenate([np.asarray(f).reshape(-1) for f in flags])
            counts += (
                int(np.count_nonzero(codes == FALLBACK_MISSING)),
                int(np.count_nonzero(codes != FALLBACK_BOUNDARY)),
                len(flags),
            )

    def _report(self, runner, mode: str, where: str) -> None:
        counts = torch.as_tensor(self._counts.pop(mode, np.zeros(3, dtype=np.int64)))
        all_reduce(counts, op='sum')  # no-op without distributed training
        missing, total, seen = (int(c) for c in counts)
        if seen == 0:
            if not self._told_absent:
                print_log(
                    f'MissingFramesHook: no data sample carries "{self.KEY}"; add it to the '
                    'meta_keys of PackPoseInputs to count missing neighbour frames',
                    logger='current',
                    level=logging.WARNING,
                )
                self._told_absent = True
            return
        share = missing / total if total else 0.0
        message = (
            f'{where}: {missing} of {total} neighbour frames missing on disk '
            f'({100 * share:.1f} %): centre frame used'
        )
        level = logging.INFO
        if share > self.warn_share:
            level = logging.WARNING
            message += (
                f'. More than {100 * self.warn_share:.0f} % are missing: the model is effectively '
                'single-frame ([t, t, t]); put the unlabelled neighbour frames next to the '
                'labelled ones (see docs/temporal_window.md)'
            )
        print_log(message, logger='current', level=level)

    # ------------------------------------------------------------------ hook points
    def before_train_epoch(self, runner) -> None:
        self._reset('train')

    def before_val_epoch(self, runner) -> None:
        self._reset('val')

    def before_test_epoch(self, runner) -> None:
        self._reset('test')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._count('train', data_batch)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._count('val', data_batch)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._count('test', data_batch)

    def after_train_epoch(self, runner) -> None:
        self._report(runner, 'train', f'train epoch {runner.epoch + 1}')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'val', 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'test', 'test')
