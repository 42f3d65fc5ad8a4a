# Copyright (c) OpenMMLab. All rights reserved.
"""Loss terms, LR and validation metrics of an mmengine run (``vis_data/scalars.json``) in one PNG
(docs/training.md; mmpose's ``analyze_logs.py`` reads epoch-grouped logs and needs seaborn)."""

import argparse
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')


def find_scalars_json(path: str) -> str:
    """``path`` (a file), its ``vis_data/scalars.json`` or that of its latest run folder."""
    if osp.isfile(path):
        return path
    names = os.listdir(path) if osp.isdir(path) else []
    for folder in ['', *sorted(filter(TIMESTAMP.match, names), reverse=True)]:
        candidate = osp.join(path, folder, 'vis_data', 'scalars.json')
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f'no mmengine scalars file found under {path!r} (looked for <WORK_DIR>/<YYYYMMDD_HHMMSS>/'
        'vis_data/scalars.json; is it a training work dir with LocalVisBackend?)'
    )


def load_scalars(json_file: str) -> Tuple[List[dict], List[dict]]:
    """``(train, val)`` records of a scalars file (broken lines skipped); ``_iter`` of a val record:
    the last training ``iter`` before it, or its ``step`` in a run without epochs (steps > 0)."""
    train, val, last_iter = [], [], None
    with open(json_file, encoding='utf-8') as f:
        for line in f:
            try:
                record = dict(json.loads(line))
            except (ValueError, TypeError):  # a line cut by a killed run, or not an object
                continue
            if any(k == 'lr' or k.endswith('/lr') or 'loss' in k for k in record):
                train.append(record)
                last_iter = record.get('iter', last_iter)
            elif any('/' in k for k in record):
                val.append(dict(record, _iter=last_iter))
    by_iter = all(isinstance(r.get('step'), (int, float)) and r['step'] > 0 for r in val)
    if val and by_iter and not any('epoch' in r for r in train):
        for r in val:
            r['_iter'] = r['step']
    return train, val


def _series(records: List[dict], key: str, x_key: str) -> Tuple[list, list]:
    ok = [r for r in records if x_key in r and isinstance(r.get(key), (int, float))]
    return [r[x_key] for r in ok], [r[key] for r in ok]


def loss_keys(train: List[dict]) -> List[str]:
    """Loss-term keys (``*loss*``, ``mse_*``), the total ``loss`` first."""
    keys = {k for r in train for k in r if 'loss' in k or k.startswith('mse')}
    return sorted(keys, key=lambda k: (k != 'loss', k))


def lr_keys(train: List[dict]) -> List[str]:
    """Learning-rate keys (``lr`` or one ``<group>/lr`` per parameter group)."""
    return sorted({k for r in train for k in r if k == 'lr' or k.endswith('/lr')})


def metric_keys(val: List[dict], main: str) -> List[str]:
    """Validation keys to draw: ``main`` first, then the other ``.../... AP`` (not ``Total AP``)."""
    keys = {k for r in val for k, v in r.items() if '/' in k and isinstance(v, (int, float))}
    aps = sorted(k for k in keys if k != main and k.endswith('AP') and not k.endswith('Total AP'))
    return [main] + aps if main in keys else aps or sorted(keys)


def _best(val: List[dict], metric: str) -> Dict[str, object]:
    """``best_metric`` and its ``best_step`` (and ``best_iter`` when validation is placed)."""
    steps, values = _series(val, metric, 'step')
    if not values:
        return {}
    i = max(range(len(values)), key=values.__getitem__)
    best = dict(best_metric=values[i], best_step=steps[i])
    if val[0]['_iter'] is not None:
        best['best_iter'] = _series(val, metric, '_iter')[0][i]
    return best


def plot_log(
    path: str, out: Optional[str] = None, metric: str = 'posetrack/AP', title: Optional[str] = None
) -> str:
    """Draw the run at ``path`` (work dir, run folder or ``scalars.json``) into ``out`` (default:
    ``<work dir>/training_curves.png``): losses (log scale), LR, metrics (``metric`` bold)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    json_file = find_scalars_json(path)
    train, val = load_scalars(json_file)
    if not train and not val:
        raise ValueError(f'{json_file} holds no training or validation scalars')
    run_dir = osp.dirname(osp.dirname(json_file))  # <work_dir>/<timestamp>
    work_dir = osp.dirname(run_dir) if TIMESTAMP.match(osp.basename(run_dir)) else run_dir
    out = out or osp.join(work_dir, 'training_curves.png')
    at_iter = bool(val) and all(r['_iter'] is not None for r in val)
    epochs = 'epoch' if any('epoch' in r for r in train) else 'step'
    x_key, x_label = ('_iter', 'iteration') if at_iter else ('step', epochs)
    best, labels = _best(val, metric), {}
    if best:
        where = f'{x_label} {best["best_iter" if at_iter else "best_step"]}'
        where += f', epoch {best["best_step"]}' if at_iter and epochs == 'epoch' else ''
        labels[metric] = f'{metric} (best {best["best_metric"]:.2f} @ {where})'
    styles = {metric: dict(marker='o', lw=2.2, zorder=3), 'loss': dict(marker='.', lw=2)}
    small, tiny = dict(loc='upper right', fontsize='small'), dict(fontsize='x-small', ncol=2)
    panels = (  # title, x label, y label, records, x key, keys, style, legend (None: if several)
        ('training loss terms', 'iteration', 'loss', train, 'iter', loss_keys(train), 1.2, small),
        ('learning rate', 'iteration', 'lr', train, 'iter', lr_keys(train), None, None),
        ('validation', x_label, 'metric', val, x_key, metric_keys(val, metric), 0.8, tiny),
    )
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), constrained_layout=True)
    fig.suptitle(title or f'{osp.basename(osp.dirname(run_dir))} / {osp.basename(run_dir)}')
    for ax, (name, xlabel, ylabel, records, x, keys, lw, legend) in zip(axes, panels):
        empty = f'no {"validation" if records is val else ylabel} scalars'
        curves = [c for c in ((k, *_series(records, k, x)) for k in keys) if c[1]]
        for key, xs, ys in curves:
            style = dict(marker='.', lw=lw, alpha=0.6 if lw == 0.8 else None)
            ax.plot(xs, ys, label=labels.get(key, key), **styles.get(key, style))
        if not curves:
            ax.text(0.5, 0.5, empty, ha='center', va='center', transform=ax.transAxes)
        elif legend or len(curves) > 1:
            ax.legend(**(legend or small))
        ax.set(title=name, xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, which='both', alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if all(y > 0 for k in loss_keys(train) for y in _series(train, k, 'iter')[1]) and train:
        axes[0].set_yscale('log')
    axes[1].ticklabel_format(axis='y', style='sci', scilimits=(-2, 2))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def summarize(path: str, metric: str = 'posetrack/AP') -> Dict[str, object]:
    """First/last loss, last iteration and lr, best metric with its step (and iteration)."""
    train, val = load_scalars(find_scalars_json(path))
    iters, losses = _series(train, 'loss', 'iter')
    out = dict(first_loss=losses[0], last_loss=losses[-1], last_iter=iters[-1]) if losses else {}
    lrs = _series(train, 'lr', 'iter')[1]
    return dict(out, **dict(last_lr=lrs[-1]) if lrs else {}, **_best(val, metric))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Plot the curves of an mmengine run into a PNG.')
    parser.add_argument('work_dir', help='work dir (latest run), timestamp folder or scalars.json')
    parser.add_argument('--out', help='output PNG (default: WORK_DIR/training_curves.png)')
    parser.add_argument('--metric', default='posetrack/AP', help='main validation key')
    parser.add_argument('--title', help='figure title')
    args = parser.parse_args(argv)
    print(f'saved {plot_log(args.work_dir, args.out, args.metric, args.title)}')
    summary = summarize(args.work_dir, args.metric).items()
    if summary:
        print(', '.join(f'{k}={v:.6g}' if isinstance(v, float) else f'{k}={v}' for k, v in summary))


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    raise SystemExit(run_cli(main))
