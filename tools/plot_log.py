# Copyright (c) OpenMMLab. All rights reserved.
"""Draw the training curves of an mmengine run (loss terms, learning rate, validation mAP).

Reads the scalars JSON that mmengine's ``LocalVisBackend`` writes during training
(``WORK_DIR/<YYYYMMDD_HHMMSS>/vis_data/scalars.json``, one JSON object per line; the latest
timestamp folder is used) and saves a PNG with three panels:

1. loss terms vs iteration: every training key containing ``loss`` plus the unweighted FaSRnet
   terms ``mse_*`` (log scale);
2. learning rate vs iteration (``lr``, or ``<group>/lr`` for several parameter groups);
3. validation metrics vs iteration: the main key ``posetrack/AP`` (or ``--metric``) bold, the
   per-joint ``posetrack/* AP`` thin. A validation record is placed at its iteration: its
   ``step`` in iteration-based runs logged with ``LoggerHook(log_metric_by_epoch=False)``,
   otherwise (``step`` is the epoch, or 0 for iteration-based runs with mmengine's default) the
   last training iteration logged before it.

Example::

    python tools/plot_log.py work_dirs/fasrnet_hrnet-w48_1xb64-30e_posetrack17-384x288
    python tools/plot_log.py WORK_DIR --out curves.png
    python tools/plot_log.py WORK_DIR/20250101_120000/vis_data/scalars.json
"""

import argparse
import json
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')
#: training keys that are bookkeeping, not curves
NON_CURVE_KEYS = {'iter', 'epoch', 'step', 'time', 'data_time', 'memory', 'lr'}


def find_scalars_json(path: str) -> str:
    """Resolve ``path`` (a work dir, a timestamp folder or the JSON itself) to a scalars file.

    In a work dir, the latest ``<YYYYMMDD_HHMMSS>`` folder that has ``vis_data/scalars.json``
    is used (a resumed run writes a new timestamp folder).

    Args:
        path (str): Work dir, timestamp folder or ``scalars.json`` path.

    Returns:
        str: Path of the scalars JSON file.

    Raises:
        FileNotFoundError: If no scalars file is found.
    """
    if osp.isfile(path):
        return path
    candidates = [osp.join(path, 'vis_data', 'scalars.json')]
    if osp.isdir(path):
        stamps = sorted((d for d in os.listdir(path) if TIMESTAMP.match(d)), reverse=True)
        candidates += [osp.join(path, d, 'vis_data', 'scalars.json') for d in stamps]
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f'no mmengine scalars file found under {path!r} (looked for '
        '<WORK_DIR>/<YYYYMMDD_HHMMSS>/vis_data/scalars.json; is it a training work dir with '
        'LocalVisBackend?)'
    )


def load_scalars(json_file: str) -> Tuple[List[dict], List[dict]]:
    """Split an mmengine scalars file into training and validation records.

    Training records are the lines with a learning rate (``lr`` or ``*/lr``) or loss keys;
    validation records are the others that carry a metric (a key with ``/``, e.g.
    ``posetrack/AP``); each gets ``_iter``, the ``iter`` of the last training record before it
    (None if there is none), or its own ``step`` in an iteration-based run logged with
    ``log_metric_by_epoch=False`` (no ``epoch`` in the training records, every ``step`` > 0).
    Lines that are not valid JSON (a run killed while writing) are skipped.

    Args:
        json_file (str): mmengine ``scalars.json`` (one JSON object per line).

    Returns:
        tuple[list[dict], list[dict]]: ``(train_records, val_records)`` in file order.
    """
    train, val = [], []
    last_iter = None
    with open(json_file, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            keys = record.keys()
            if any(k == 'lr' or k.endswith('/lr') or 'loss' in k for k in keys):
                train.append(record)
                last_iter = record.get('iter', last_iter)
            elif any('/' in k for k in keys):
                record['_iter'] = last_iter
                val.append(record)
    if (
        val
        and not any('epoch' in r for r in train)
        and all(isinstance(r.get('step'), (int, float)) and r['step'] > 0 for r in val)
    ):
        # iteration-based run logged with log_metric_by_epoch=False: step is the iteration
        for r in val:
            r['_iter'] = r['step']
    return train, val


def _series(records: List[dict], key: str, x_key: str) -> Tuple[List[float], List[float]]:
    xs, ys = [], []
    for r in records:
        if key in r and isinstance(r[key], (int, float)) and x_key in r:
            xs.append(r[x_key])
            ys.append(r[key])
    return xs, ys


def loss_keys(train: List[dict]) -> List[str]:
    """Loss-term keys of the training records (``loss*``, ``*loss*``, ``mse_*``), sorted with
    the total ``loss`` first."""
    keys = set()
    for r in train:
        keys.update(
            k for k in r if k not in NON_CURVE_KEYS and ('loss' in k or k.startswith('mse'))
        )
    return sorted(keys, key=lambda k: (k != 'loss', k))


def lr_keys(train: List[dict]) -> List[str]:
    """Learning-rate keys (``lr`` or one ``<group>/lr`` per parameter group)."""
    keys = set()
    for r in train:
        keys.update(k for k in r if k == 'lr' or k.endswith('/lr'))
    return sorted(keys)


def metric_keys(val: List[dict], main: str) -> List[str]:
    """Validation keys to draw: ``main`` first, then the other ``.../... AP`` keys."""
    keys = set()
    for r in val:
        keys.update(k for k in r if '/' in k and isinstance(r[k], (int, float)))
    aps = sorted(k for k in keys if k != main and k.endswith('AP') and not k.endswith('Total AP'))
    if main in keys:
        return [main] + aps
    return aps or sorted(keys)


def plot_log(
    path: str, out: Optional[str] = None, metric: str = 'posetrack/AP', title: Optional[str] = None
) -> str:
    """Draw loss terms, LR and validation metrics of a run into a PNG.

    Args:
        path (str): Work dir, timestamp folder or ``scalars.json``.
        out (str, optional): Output PNG. Defaults to ``<work dir>/training_curves.png`` (next to
            the timestamp folders).
        metric (str): Main validation key. Defaults to ``'posetrack/AP'``.
        title (str, optional): Figure title. Defaults to the scalars file's run folder.

    Returns:
        str: The written PNG path.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    json_file = find_scalars_json(path)
    train, val = load_scalars(json_file)
    if not train and not val:
        raise ValueError(f'{json_file} holds no training or validation scalars')
    run_dir = osp.dirname(osp.dirname(json_file))  # <work_dir>/<timestamp>
    if out is None:
        out = osp.join(
            osp.dirname(run_dir) if TIMESTAMP.match(osp.basename(run_dir)) else run_dir,
            'training_curves.png',
        )
    by_epoch = any('epoch' in r for r in train)

    fig, (ax_loss, ax_lr, ax_val) = plt.subplots(3, 1, figsize=(9, 10), constrained_layout=True)
    fig.suptitle(title or f'{osp.basename(osp.dirname(run_dir))} / {osp.basename(run_dir)}')

    # 1. loss terms
    drawn, positive = False, True
    for key in loss_keys(train):
        xs, ys = _series(train, key, 'iter')
        if xs:
            positive = positive and all(y > 0 for y in ys)
            ax_loss.plot(xs, ys, marker='.', lw=2 if key == 'loss' else 1.2, label=key)
            drawn = True
    if drawn:
        if positive:
            ax_loss.set_yscale('log')
        ax_loss.legend(loc='upper right', fontsize='small')
    else:
        ax_loss.text(
            0.5, 0.5, 'no loss scalars', ha='center', va='center', transform=ax_loss.transAxes
        )
    ax_loss.set_title('training loss terms')
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel('loss')
    ax_loss.grid(True, which='both', alpha=0.3)

    # 2. learning rate
    keys = lr_keys(train)
    for key in keys:
        xs, ys = _series(train, key, 'iter')
        ax_lr.plot(xs, ys, marker='.', label=key)
    if not keys:
        ax_lr.text(0.5, 0.5, 'no lr scalars', ha='center', va='center', transform=ax_lr.transAxes)
    elif len(keys) > 1:
        ax_lr.legend(loc='upper right', fontsize='small')
    ax_lr.set_title('learning rate')
    ax_lr.set_xlabel('iteration')
    ax_lr.set_ylabel('lr')
    ax_lr.ticklabel_format(axis='y', style='sci', scilimits=(-2, 2))
    ax_lr.grid(True, alpha=0.3)

    # 3. validation metrics (at the training iteration they follow)
    at_iter = bool(val) and all(r.get('_iter') is not None for r in val)
    if at_iter:
        x_key, x_label = '_iter', 'iteration'
    else:
        x_key, x_label = 'step', 'epoch' if by_epoch else 'step'
    keys = metric_keys(val, metric)
    for key in keys:
        xs, ys = _series(val, key, x_key)
        main = key == metric
        label = key
        if main and ys:
            best = max(range(len(ys)), key=ys.__getitem__)
            where = f'{x_label} {xs[best]}'
            if at_iter and by_epoch:
                where += f', epoch {_series(val, key, "step")[0][best]}'
            label = f'{key} (best {ys[best]:.2f} @ {where})'
        ax_val.plot(
            xs,
            ys,
            marker='o' if main else '.',
            lw=2.2 if main else 0.8,
            alpha=1.0 if main else 0.6,
            label=label,
            zorder=3 if main else 2,
        )
    if keys:
        ax_val.legend(loc='best', fontsize='x-small', ncol=2)
    else:
        ax_val.text(
            0.5, 0.5, 'no validation scalars', ha='center', va='center', transform=ax_val.transAxes
        )
    ax_val.set_title('validation')
    ax_val.set_xlabel(x_label)
    ax_val.set_ylabel('metric')
    ax_val.grid(True, alpha=0.3)

    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_lr, ax_val):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def summarize(path: str, metric: str = 'posetrack/AP') -> Dict[str, object]:
    """Short numeric summary of a run (first/last loss, last lr, best metric)."""
    train, val = load_scalars(find_scalars_json(path))
    summary: Dict[str, object] = defaultdict(lambda: None)
    xs, ys = _series(train, 'loss', 'iter')
    if ys:
        summary.update(first_loss=ys[0], last_loss=ys[-1], last_iter=xs[-1])
    _, lrs = _series(train, 'lr', 'iter')
    if lrs:
        summary['last_lr'] = lrs[-1]
    steps, aps = _series(val, metric, 'step')
    if aps:
        best = max(range(len(aps)), key=aps.__getitem__)
        summary.update(best_metric=aps[best], best_step=steps[best])
        if val[0].get('_iter') is not None:
            summary['best_iter'] = _series(val, metric, '_iter')[0][best]
    return dict(summary)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot loss terms, learning rate and validation mAP of an mmengine run '
        '(WORK_DIR/<timestamp>/vis_data/scalars.json) into a PNG.'
    )
    parser.add_argument(
        'work_dir', help='work dir (latest timestamp run), timestamp folder, or a scalars.json file'
    )
    parser.add_argument('--out', help='output PNG (default: WORK_DIR/training_curves.png)')
    parser.add_argument(
        '--metric', default='posetrack/AP', help='main validation key (default: posetrack/AP)'
    )
    parser.add_argument('--title', help='figure title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = plot_log(args.work_dir, args.out, args.metric, args.title)
    summary = summarize(args.work_dir, args.metric)
    print(f'saved {out}')
    if summary:
        print(
            ', '.join(
                f'{k}={v:.6g}' if isinstance(v, float) else f'{k}={v}' for k, v in summary.items()
            )
        )


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    raise SystemExit(run_cli(main))
