# Copyright (c) OpenMMLab. All rights reserved.
"""``PoseTrackMAPMetric``: the official PoseTrack per-frame mAP (and MOTA) without poseval."""

import os
import os.path as osp
from collections import OrderedDict, defaultdict
from itertools import groupby
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import orjson
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.evaluation.functional import oks_nms
from mmpose.registry import METRICS
from mmpose.utils.tensor_utils import to_numpy

from ...tracking import track_video
from ..functional import evaluate_videos, format_table, summarize
from ..functional import posetrack_data as data
from ..functional import posetrack_formats as formats
from ..functional.posetrack_mot import evaluate_tracking, format_mot_table

REQUIRED_META_KEYS = ('vid_id', 'frame_index')  # every sample's, via PackPoseInputs(meta_keys)
FORMATS = tuple(formats.WRITERS)
#: A GT frame's predictions: keypoints (N, 17, 2), keypoint_scores (N, 17), bbox_scores, bboxes.
FramePredictions = Dict[str, np.ndarray]
FRAME_KEYS = ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes')
MOT_METRICS = (('MOTA', 'mota'), ('MOTP', 'motp'), ('MOT Pre', 'pre'), ('MOT Rec', 'rec'))


def _video_key(value: Any) -> str:
    """Normalised video id: ``'003418'``, ``3418`` and ``'3418'`` are the same video."""
    return str(int(value)) if str(value).isdigit() else str(value)


def _gt_frame_keys(video: data.PoseTrackVideo, f: int) -> List[Tuple[str, int]]:
    """``(video id, frame number)`` keys of GT frame ``f`` (``vid_id``, folder name, its prefix)."""
    parts = video.frame_names[f].replace('\\', '/').split('/')
    stem, ids = osp.splitext(parts[-1])[0], {video.vid_ids[f]} - {None}
    if len(parts) > 1 and parts[-2]:
        ids |= {parts[-2], parts[-2].split('_')[0]}
    return [(_video_key(i), int(stem)) for i in ids] if stem.isdigit() else []


def _per_instance(candidates: list, n: int, width: int, default: Any = None) -> Any:
    """The first candidate with ``n * width`` values, as ``(n, width)`` float64, or ``default``."""
    for c in candidates:
        if c is not None and np.size(to_numpy(c)) == n * width:
            return np.asarray(to_numpy(c), np.float64).reshape(n, width)
    return default


@METRICS.register_module()
class PoseTrackMAPMetric(BaseMetric):
    """Official PoseTrack per-frame mAP (poseval's protocol) of top-down predictions, computed on
    exactly what the official per-video prediction files hold (``docs/evaluation.md``).

    Args:
        gt_folder (str): Folder of per-video GT files; defines the videos and frames.
        format (str): GT format, ``'pt18'`` or ``'pt17'``. Defaults to ``'pt18'``.
        outfile_format (str, optional): Format of the written files; defaults to ``format``.
        multiply_box_score (bool): Joint score x box score ([OFFICIAL]). Defaults to True.
        nms_mode (str): ``'none'`` ([OFFICIAL]) or mmpose's ``'oks_nms'``. Defaults to 'none'.
        nms_thr (float): OKS threshold of ``'oks_nms'``. Defaults to 0.9.
        keypoint_score_thr (float): Keypoints counted in the NMS ranking. Defaults to 0.2.
        format_only (bool): Only write the files (needs ``outfile_prefix``). Defaults to False.
        outfile_prefix (str, optional): Folder for the prediction files. Defaults to None.
        track (bool): Track each video, write the ids, report poseval's MOTA. Defaults to False.
        track_options (dict, optional): Further ``PoseTracker`` arguments. Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to ``'posetrack'``.
    """

    default_prefix: Optional[str] = 'posetrack'

    def __init__(
        self,
        gt_folder: str,
        format: str = 'pt18',
        outfile_format: Optional[str] = None,
        multiply_box_score: bool = True,
        nms_mode: str = 'none',
        nms_thr: float = 0.9,
        keypoint_score_thr: float = 0.2,
        format_only: bool = False,
        outfile_prefix: Optional[str] = None,
        track: bool = False,
        track_options: Optional[dict] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        name = type(self).__name__
        for ok, msg in (
            (isinstance(gt_folder, str) and gt_folder, f'{name} needs `gt_folder`, the folder of '
             'per-video GT files (it defines the videos and frames to evaluate / write)'),
            (format in FORMATS, f'format must be one of {FORMATS}, got {format!r}'),
            (outfile_format in (None, *FORMATS),
             f'outfile_format must be one of {FORMATS} or None, got {outfile_format!r}'),
            (nms_mode in ('none', 'oks_nms'),
             f"nms_mode must be 'none' or 'oks_nms', got {nms_mode!r}"),
            (outfile_prefix or not format_only,
             'format_only=True needs `outfile_prefix` (the folder to write the prediction files)'),
        ):  # fmt: skip
            if not ok:
                raise ValueError(msg)
        try:  # checked now, before the first iteration of a train/test run
            formats.list_gt_files(gt_folder)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'{name}: gt_folder: {e} (set val_evaluator.gt_folder / test_evaluator.gt_folder '
                'to the folder of per-video GT files)'
            ) from None
        parent = osp.dirname(osp.abspath(outfile_prefix or '.'))
        if outfile_prefix and (not osp.isdir(parent) or osp.isfile(outfile_prefix)):
            raise FileNotFoundError(
                f'{name}: outfile_prefix {outfile_prefix!r} cannot be a folder for the prediction '
                f'files: its parent {parent!r} is not an existing folder, or it is a file (create '
                'the parent folder or fix the path)'
            )
        if outfile_prefix and not os.access(parent, os.W_OK):
            raise PermissionError(f'{name}: outfile_prefix: cannot write into {parent!r}')
        self.gt_folder, self.format, self.outfile_prefix = gt_folder, format, outfile_prefix
        self.outfile_format, self.format_only = outfile_format or format, format_only
        self.multiply_box_score, self.nms_mode, self.nms_thr = multiply_box_score, nms_mode, nms_thr
        self.keypoint_score_thr = keypoint_score_thr
        self.track, self.track_options = bool(track), dict(track_options or {})

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Collect samples with ``pred_instances`` (``keypoints`` (N, 17, 2), ``keypoint_scores``,
        ``bboxes``), ``gt_instances`` (``bbox_scores``, ``bbox_scales``), ``REQUIRED_META_KEYS``."""
        for ds in data_samples:
            where = f'{type(self).__name__}: data sample img_path={ds.get("img_path")!r}'
            pred, gt = ds.get('pred_instances'), ds.get('gt_instances') or {}
            if pred is None or pred.get('keypoints') is None:
                raise ValueError(f'{where}: needs `pred_instances.keypoints`')
            missing = [key for key in REQUIRED_META_KEYS if ds.get(key) is None]
            if missing:
                raise ValueError(
                    f'{where} has no {missing[0]!r} in its metainfo: add '
                    f'{list(REQUIRED_META_KEYS)} to PackPoseInputs(meta_keys=...) of the val/test '
                    'pipeline (PoseTrackVideoDataset provides them)'
                )
            kpts = np.asarray(to_numpy(pred.get('keypoints')), np.float64)
            kpts = kpts[None] if kpts.ndim == 2 else kpts
            n, scores = len(kpts), pred.get('keypoint_scores')
            if kpts.shape[1:] != (17, 2):
                raise ValueError(f'{where}: keypoints must have shape (N, 17, 2), not {kpts.shape}')
            scores = np.ones((n, 17)) if scores is None else _per_instance([scores], n, 17)
            if scores is None:
                raise ValueError(f'{where}: keypoint_scores do not match keypoints {kpts.shape}')
            box_scores = [gt.get('bbox_scores'), pred.get('bbox_scores')]
            box = _per_instance(box_scores, n, 1, np.ones((n, 1)))[:, 0]
            extent = np.concatenate([kpts.min(axis=1), kpts.max(axis=1)], axis=1)
            bboxes = _per_instance([pred.get('bboxes')], n, 4, extent)
            wh = _per_instance([gt.get('bbox_scales')], n, 2, bboxes[:, 2:] - bboxes[:, :2])
            result = {key: ds.get(key) for key in ('vid_id', 'frame_index', 'id')}
            result.update(keypoints=kpts, keypoint_scores=scores, bbox_scores=box, bboxes=bboxes)
            self.results.append(dict(result, areas=wh[:, 0] * wh[:, 1]))  # OKS scale for NMS

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Write the files (optional); ``Head AP`` ... ``Ankl AP``, ``AP``, ``Total AP`` (= ``AP``),
        with ``track`` ``MOTA``, ``MOTP``, ``MOT Pre``, ``MOT Rec`` of what the files hold."""
        logger: MMLogger = MMLogger.get_current_instance()
        gt_videos = formats.load_gt_dir(self.gt_folder, self.format)
        frames = self.group_by_frame(results, gt_videos, logger)
        if self.track:
            self.track_frames(frames)
        pred_videos = []
        for v, gt in enumerate(gt_videos):
            per_frame = [self._written(frames.get((v, f))) for f in range(gt.num_frames)]
            with data.gc_paused():  # ~10^5 acyclic containers per video
                content = formats.WRITERS[self.outfile_format](gt, per_frame)
                name = osp.basename(gt.source)
                if self.outfile_prefix:
                    os.makedirs(self.outfile_prefix, exist_ok=True)
                    with open(osp.join(self.outfile_prefix, name), 'wb') as f:
                        f.write(orjson.dumps(content))
                if not self.format_only:
                    pred = formats.parse_posetrack_video(content, f'{name} (predictions)', False)
                    pred_videos.append(pred)
        if self.outfile_prefix:
            logger.info(f'{len(gt_videos)} prediction files written to {self.outfile_prefix}')
        if self.format_only:
            return {}
        res = evaluate_videos(gt_videos, pred_videos)
        logger.info(f'PoseTrack mAP (poseval protocol):\n{format_table(res["ap"])}')
        names = [f'{g} AP' if g != 'Total' else 'AP' for g in summarize(res['ap'])]
        metrics = OrderedDict(zip(names, summarize(res['ap']).values()))
        metrics['Total AP'] = metrics['AP']
        if self.track:
            mot = evaluate_tracking(gt_videos, pred_videos)
            logger.info(f'PoseTrack pose tracking (poseval protocol):\n{format_mot_table(mot)}')
            metrics.update((name, float(mot[key][-1])) for name, key in MOT_METRICS)
        return metrics

    def track_frames(self, frames: Dict[Tuple[int, int], FramePredictions]) -> None:
        """Add ``track_ids`` (N,) to every frame's predictions, each video tracked in order."""
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is None:
            raise ValueError(
                f"{type(self).__name__}(track=True) needs the dataset's keypoint `sigmas` in "
                "dataset_meta (the runner sets it from the dataset's metainfo)"
            )
        for _, keys in groupby(sorted(frames), key=lambda key: key[0]):  # by video
            preds = [frames[key] for key in keys]
            video = [(p['keypoints'], p['keypoint_scores'], p['bboxes']) for p in preds]
            for p, ids in zip(preds, track_video(video, sigmas=sigmas, **self.track_options)):
                p['track_ids'] = ids

    def group_by_frame(
        self, results: list, gt_videos: List[data.PoseTrackVideo], logger: MMLogger
    ) -> Dict[Tuple[int, int], FramePredictions]:
        """``(video index, frame index)`` -> :data:`FramePredictions` of the results, after NMS."""
        where = {}
        for v, video in enumerate(gt_videos):
            for f in range(video.num_frames):
                for key in _gt_frame_keys(video, f):
                    where.setdefault(key, (v, f))
        grouped, seen, unmatched = defaultdict(list), set(), []
        for r in results:
            try:
                loc = where.get((_video_key(r['vid_id']), int(r['frame_index'])))
            except (TypeError, ValueError):
                loc = None
            if loc is None:
                unmatched.append(r)
            elif r['id'] is None or (loc, repr(r['id'])) not in seen:  # distributed padding
                seen.add((loc, repr(r['id'])))
                grouped[loc].append(r)
        if unmatched:
            msg = (
                f'{len(unmatched)} of {len(results)} prediction samples map to no frame of the GT '
                f'folder {self.gt_folder} (matched by the metainfo vid_id + frame_index); e.g. '
                f'vid_id={unmatched[0]["vid_id"]!r}, frame_index={unmatched[0]["frame_index"]!r}'
            )
            if len(unmatched) == len(results):
                raise ValueError(msg)
            logger.warning(msg + '. They are ignored.')
        frames = {}
        for loc, items in grouped.items():
            p = {k: np.concatenate([r[k] for r in items]) for k in FRAME_KEYS + ('areas',)}
            bad = ~np.isfinite(p['keypoints']).all(axis=2) | ~np.isfinite(p['keypoint_scores'])
            if bad.any():
                logger.warning(
                    f'{int(bad.sum())} non-finite keypoints/scores in frame '
                    f'{gt_videos[loc[0]].frame_names[loc[1]]!r} written as (0, 0) with score 0'
                )
                p['keypoints'][bad], p['keypoint_scores'][bad] = 0, 0
            p['bbox_scores'] = np.where(np.isfinite(p['bbox_scores']), p['bbox_scores'], 0.0)
            nms = self.nms_mode == 'oks_nms' and len(items) > 1
            keep = self.nms_keep(p, p['areas']) if nms else slice(None)
            frames[loc] = {k: p[k][keep] for k in FRAME_KEYS}
        return frames

    def nms_keep(self, p: FramePredictions, areas: np.ndarray) -> np.ndarray:
        """Ascending indices kept by mmpose's ``oks_nms`` (``areas``: OKS scales) in a frame."""
        scores = p['keypoint_scores']
        above = scores > self.keypoint_score_thr
        rank = (scores * above).sum(axis=1) / np.maximum(above.sum(axis=1), 1) * p['bbox_scores']
        kpts = np.concatenate([p['keypoints'], scores[..., None]], axis=2)
        db = [dict(keypoints=k, score=s, area=a) for k, s, a in zip(kpts, rank, areas)]
        sigmas = (self.dataset_meta or {}).get('sigmas')  # None: mmpose's COCO sigmas
        return np.sort(np.asarray(oks_nms(db, self.nms_thr, sigmas=sigmas), np.int64))

    def _written(self, p: Optional[FramePredictions]) -> Optional[tuple]:
        """``(keypoints, joint scores as written, box scores, track ids or indices)`` or None."""
        if p is not None:
            box = p['bbox_scores'][:, None] if self.multiply_box_score else 1.0
            ids = p.get('track_ids', np.arange(len(p['bbox_scores'])))
            return p['keypoints'], p['keypoint_scores'] * box, p['bbox_scores'], ids
