# Copyright (c) OpenMMLab. All rights reserved.
"""``PoseTrackMAPMetric``: the official PoseTrack per-frame mAP without poseval."""

import os
import os.path as osp
from collections import OrderedDict, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.evaluation.functional import oks_nms
from mmpose.registry import METRICS
from mmpose.utils.tensor_utils import to_numpy

from ...tracking import track_video
from ..functional import (
    FORMATS,
    PT18_KEYPOINTS,
    PT18_TO_POSEVAL,
    PersonArrays,
    PoseTrackVideo,
    dummy_persons,
    evaluate_videos,
    format_table,
    list_gt_files,
    load_gt_dir,
    summarize,
    write_json,
    write_pt17,
    write_pt18,
)
from ..functional.posetrack_mot import evaluate_tracking, format_mot_table

#: The ids every data sample must carry (``PackPoseInputs(meta_keys=...)``).
REQUIRED_META_KEYS = ('vid_id', 'frame_index')
WRITERS = dict(pt17=write_pt17, pt18=write_pt18)

#: Per GT frame, the predictions of its persons (what the files hold and a tracker consumes):
#: keypoints (N, 17, 2), keypoint_scores (N, 17), bbox_scores (N,), bboxes (N, 4) xyxy.
FramePredictions = Dict[str, np.ndarray]
FRAME_KEYS = ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes')


def _get(container: Any, key: str) -> Any:
    """``container[key]`` for dicts and mmengine data elements, None if absent."""
    if isinstance(container, dict):
        return container.get(key)
    return getattr(container, key, None)


def _video_key(value: Any) -> str:
    """Normalised video id: ``'003418'``, ``3418`` and ``'3418'`` are the same video."""
    text = str(value)
    return str(int(text)) if text.isdigit() else text


def _gt_frame_keys(video: PoseTrackVideo, f: int) -> List[Tuple[str, int]]:
    """``(video id, frame number)`` keys of GT frame ``f``: the PT18 ``vid_id``, the folder name
    (``003418_mpii_test``) or its part before ``_`` (``003418``); the integer file stem."""
    parts = video.frame_names[f].replace('\\', '/').split('/')
    stem = osp.splitext(parts[-1])[0]
    if not stem.isdigit():
        return []
    ids = {video.vid_ids[f]} if video.vid_ids[f] is not None else set()
    if len(parts) > 1 and parts[-2]:
        ids |= {parts[-2], parts[-2].split('_')[0]}
    return [(_video_key(i), int(stem)) for i in ids]


@METRICS.register_module()
class PoseTrackMAPMetric(BaseMetric):
    """Official PoseTrack per-frame multi-person mAP (poseval's protocol), in-process.

    Collects top-down predictions, writes the official per-video prediction files (optional)
    and computes poseval's AP in-process; the numbers equal poseval's on the same files. Samples
    are mapped to GT frames by their metainfo ``vid_id`` and ``frame_index``; every joint is
    scored ``keypoint score x box score`` (official). Details: ``docs/evaluation.md``.
    ``gt_folder`` and ``outfile_prefix`` are checked when the metric is built, i.e. before the
    first iteration of a train or test run.

    Args:
        gt_folder (str): Folder of per-video GT files; it also defines the frames of the
            written prediction files.
        format (str): Format of the GT files, ``'pt18'`` (``images``/``annotations``)
            or ``'pt17'`` (``annolist``). Defaults to ``'pt18'``.
        outfile_format (str, optional): Format of the written prediction files;
            defaults to ``format``.
        multiply_box_score (bool): Per-joint score = keypoint score x box score
            ([OFFICIAL]); False writes the raw keypoint score. Defaults to True.
        nms_mode (str): ``'none'`` ([OFFICIAL]) or ``'oks_nms'`` (mmpose's ``oks_nms`` per
            frame with the dataset's ``sigmas``). Defaults to ``'none'``.
        nms_thr (float): OKS threshold for ``'oks_nms'``. Defaults to 0.9.
        keypoint_score_thr (float): Keypoints counted in the NMS ranking score.
            Defaults to 0.2.
        format_only (bool): Only write the prediction files and return no metrics. Requires
            ``outfile_prefix``. Defaults to False.
        outfile_prefix (str, optional): Folder for the prediction files
            (``<outfile_prefix>/<GT file name>``; its parent must exist). Defaults to None.
        track (bool): Track each video's predictions with
            :func:`~fasrnet_mmpose.tracking.track_video` (its frames with predictions, in
            order; the dataset's ``sigmas``), write those ``track_id``s into the prediction
            files and report poseval's ``MOTA``, ``MOTP``, ``MOT Pre``, ``MOT Rec`` next to the
            mAP (``docs/tracking.md``). Defaults to False (``track_id`` = index in the frame).
        track_options (dict, optional): Further ``PoseTracker`` arguments (``max_age``, ...).
            Defaults to None.
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
        name = self.__class__.__name__
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
            list_gt_files(gt_folder)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'{name}: gt_folder: {e} (set val_evaluator.gt_folder / test_evaluator.gt_folder '
                'to the folder of per-video GT files)'
            ) from None
        if outfile_prefix:
            parent = osp.dirname(osp.abspath(outfile_prefix))
            is_file = osp.exists(outfile_prefix) and not osp.isdir(outfile_prefix)
            if not osp.isdir(parent) or is_file:
                raise FileNotFoundError(
                    f'{name}: outfile_prefix {outfile_prefix!r} cannot be a folder for the '
                    f'prediction files: its parent {parent!r} is not an existing folder, or it is '
                    'a file (create the parent folder or fix the path)'
                )
            if not os.access(parent, os.W_OK):
                raise PermissionError(f'{name}: outfile_prefix: cannot write into {parent!r}')
        self.gt_folder, self.format, self.outfile_format = (
            gt_folder,
            format,
            outfile_format or format,
        )
        self.multiply_box_score, self.nms_mode, self.nms_thr = multiply_box_score, nms_mode, nms_thr
        self.keypoint_score_thr, self.format_only = keypoint_score_thr, format_only
        self.outfile_prefix = outfile_prefix
        self.track, self.track_options = bool(track), dict(track_options or {})

    # ------------------------------------------------------------------------- collecting
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Collect the predictions of one batch.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): ``pred_instances`` (``keypoints`` (N, 17, 2),
                ``keypoint_scores`` (N, 17), optional ``bboxes`` (N, 4)), ``gt_instances``
                (``bbox_scores`` (N,), optional ``bbox_scales``), metainfo ``vid_id``,
                ``frame_index``, ``id`` (``frame_id``, ``nframes`` kept when present).
        """
        for ds in data_samples:
            where = f'{self.__class__.__name__}: data sample img_path={_get(ds, "img_path")!r}'
            pred = _get(ds, 'pred_instances')
            if pred is None or _get(pred, 'keypoints') is None:
                raise ValueError(f'{where}: needs `pred_instances.keypoints`')
            ids = {k: _get(ds, k) for k in REQUIRED_META_KEYS}
            for key in (k for k, v in ids.items() if v is None):
                raise ValueError(
                    f'{where} has no {key!r} in its metainfo: add {list(REQUIRED_META_KEYS)} to '
                    'PackPoseInputs(meta_keys=...) of the val/test pipeline '
                    '(PoseTrackVideoDataset provides them)'
                )
            kpts = np.asarray(to_numpy(_get(pred, 'keypoints')), np.float64)
            kpts = kpts[None] if kpts.ndim == 2 else kpts
            n = len(kpts)
            if kpts.shape[1:] != (len(PT18_KEYPOINTS), 2):
                raise ValueError(
                    f'{where}: expected keypoints of shape (N, 17, 2), got {kpts.shape}'
                )
            scores = _get(pred, 'keypoint_scores')
            scores = np.ones(kpts.shape[:2]) if scores is None else to_numpy(scores)
            if np.size(scores) != n * kpts.shape[1]:
                raise ValueError(
                    f'{where}: keypoint_scores of shape {np.shape(scores)} do not match '
                    f'keypoints {kpts.shape}'
                )
            gt = _get(ds, 'gt_instances')
            box = self._per_instance([_get(gt, 'bbox_scores'), _get(pred, 'bbox_scores')], n, 1)
            bboxes = self._per_instance([_get(pred, 'bboxes')], n, 4)
            if bboxes is None:  # the keypoints' extent
                bboxes = np.concatenate([kpts.min(axis=1), kpts.max(axis=1)], axis=1)
            scales = self._per_instance([_get(gt, 'bbox_scales')], n, 2)
            wh = bboxes[:, 2:] - bboxes[:, :2] if scales is None else scales
            self.results.append(
                dict(
                    vid_id=ids['vid_id'],
                    frame_index=ids['frame_index'],
                    frame_id=_get(ds, 'frame_id'),
                    nframes=_get(ds, 'nframes'),
                    id=_get(ds, 'id'),
                    keypoints=kpts,
                    keypoint_scores=np.asarray(scores, np.float64).reshape(kpts.shape[:2]),
                    bbox_scores=np.ones(n) if box is None else box[:, 0],
                    bboxes=bboxes,
                    areas=wh[:, 0] * wh[:, 1],  # OKS scale for nms_mode='oks_nms'
                )
            )

    @staticmethod
    def _per_instance(candidates: list, n: int, width: int) -> Optional[np.ndarray]:
        """The first candidate with ``n * width`` values, as ``(n, width)`` float64."""
        for c in candidates:
            if c is not None and np.size(to_numpy(c)) == n * width:
                return np.asarray(to_numpy(c), np.float64).reshape(n, width)
        return None

    # ------------------------------------------------------------------------- computing
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Write the prediction files (optional) and compute the PoseTrack APs.

        Args:
            results (list): The collected results of all ranks.

        Returns:
            dict: ``Head AP`` ... ``Ankl AP``, ``AP`` and ``Total AP`` (= ``AP``, mmpose 0.x's
            name), with ``track`` also ``MOTA``, ``MOTP``, ``MOT Pre``, ``MOT Rec``; empty with
            ``format_only``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        gt_videos = load_gt_dir(self.gt_folder, self.format)
        frames = self.group_by_frame(results, gt_videos, logger)
        if self.track:
            self.track_frames(frames)

        if self.outfile_prefix:
            os.makedirs(self.outfile_prefix, exist_ok=True)
            for v, video in enumerate(gt_videos):
                per_frame = [self._written(frames.get((v, f))) for f in range(video.num_frames)]
                content = WRITERS[self.outfile_format](video, per_frame)
                write_json(osp.join(self.outfile_prefix, osp.basename(video.source)), content)
            logger.info(
                f'PoseTrack prediction files ({self.outfile_format}, '
                f'{len(gt_videos)} videos) written to {self.outfile_prefix}'
            )
        if self.format_only:
            return {}

        pred_videos = [self.predictions_to_video(gt, v, frames) for v, gt in enumerate(gt_videos)]
        res = evaluate_videos(gt_videos, pred_videos)
        logger.info(
            'PoseTrack per-frame mAP (poseval protocol), '
            f'{res["num_frames"]} labelled frames:\n' + format_table(res['ap'])
        )
        metrics = OrderedDict()
        for group, value in summarize(res['ap']).items():
            metrics['AP' if group == 'Total' else f'{group} AP'] = value
        metrics['Total AP'] = metrics['AP']
        if self.track:
            mot = evaluate_tracking(gt_videos, pred_videos)
            logger.info(
                'PoseTrack multi-person pose tracking (poseval protocol), '
                f'{mot["num_frames"]} labelled frames:\n' + format_mot_table(mot)
            )
            for name, key in zip(
                ('MOTA', 'MOTP', 'MOT Pre', 'MOT Rec'), ('mota', 'motp', 'pre', 'rec')
            ):
                metrics[name] = float(mot[key][-1])
        return metrics

    def track_frames(self, frames: Dict[Tuple[int, int], FramePredictions]) -> None:
        """Add ``track_ids`` (N,) to every frame's predictions (in place): each video's frames
        with predictions, in order, tracked by :func:`~fasrnet_mmpose.tracking.track_video`
        with the dataset's ``sigmas`` and ``track_options``."""
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is None:
            raise ValueError(
                f"{self.__class__.__name__}(track=True) needs the dataset's keypoint `sigmas` "
                "in dataset_meta (the runner sets it from the dataset's metainfo)"
            )
        by_video = defaultdict(list)
        for v, f in sorted(frames):
            by_video[v].append(f)
        keys = ('keypoints', 'keypoint_scores', 'bboxes')
        for v, fs in by_video.items():
            video = [tuple(frames[(v, f)][k] for k in keys) for f in fs]
            for f, ids in zip(fs, track_video(video, sigmas=sigmas, **self.track_options)):
                frames[(v, f)]['track_ids'] = ids

    def group_by_frame(
        self, results: list, gt_videos: List[PoseTrackVideo], logger: MMLogger
    ) -> Dict[Tuple[int, int], FramePredictions]:
        """Map every collected instance to its GT frame (warnings via ``logger``); apply NMS.

        Returns:
            dict: ``(video index, frame index)`` -> :data:`FramePredictions`, the per-frame
            input of the writers, the in-process AP and a tracker.
        """
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
                continue
            uid = (loc, repr(r['id']))
            if r['id'] is None or uid not in seen:
                seen.add(uid)
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
            p = {k: np.concatenate([r[k] for r in items]) for k in FRAME_KEYS}
            bad = ~np.isfinite(p['keypoints']).all(axis=2) | ~np.isfinite(p['keypoint_scores'])
            if bad.any():
                logger.warning(
                    f'{int(bad.sum())} non-finite keypoints/scores in frame '
                    f'{gt_videos[loc[0]].frame_names[loc[1]]!r} written as (0, 0) with score 0'
                )
                p['keypoints'][bad] = 0
                p['keypoint_scores'][bad] = 0
            p['bbox_scores'] = np.where(np.isfinite(p['bbox_scores']), p['bbox_scores'], 0.0)
            if self.nms_mode == 'oks_nms' and len(items) > 1:
                keep = self.nms_keep(p, np.concatenate([r['areas'] for r in items]))
                p = {k: v[keep] for k, v in p.items()}
            frames[loc] = p
        return frames

    def nms_keep(self, p: FramePredictions, areas: np.ndarray) -> np.ndarray:
        """Ascending indices kept by mmpose's ``oks_nms`` among a frame's instances (``areas``:
        ``(M,)`` OKS scales; ranking score: box score x mean keypoint score above the threshold)."""
        scores = p['keypoint_scores']
        above = scores > self.keypoint_score_thr
        mean = (scores * above).sum(axis=1) / np.maximum(above.sum(axis=1), 1)
        rank = mean * p['bbox_scores']
        kpts = np.concatenate([p['keypoints'], scores[..., None]], axis=2)
        db = [dict(keypoints=k, score=s, area=a) for k, s, a in zip(kpts, rank, areas)]
        sigmas = (self.dataset_meta or {}).get('sigmas')  # None: mmpose's COCO sigmas
        return np.sort(np.asarray(oks_nms(db, self.nms_thr, sigmas=sigmas), np.int64))

    def _written(self, p: Optional[FramePredictions]) -> Optional[tuple]:
        """``(keypoints, per-joint scores as written, box scores[, track ids])`` of a frame, or
        None."""
        if p is None:
            return None
        scores = p['keypoint_scores']
        if self.multiply_box_score:
            scores = scores * p['bbox_scores'][:, None]
        if 'track_ids' in p:
            return p['keypoints'], scores, p['bbox_scores'], p['track_ids']
        return p['keypoints'], scores, p['bbox_scores']

    def predictions_to_video(
        self, gt: PoseTrackVideo, v: int, frames: Dict[Tuple[int, int], FramePredictions]
    ) -> PoseTrackVideo:
        """The predictions of GT video ``v`` as poseval reads them from the written files (the
        readers' 17 -> 15 conversion and absent-joint rule, PT17's dummy points), without JSON."""
        parts, empty = [], []
        for f in range(gt.num_frames):
            written = self._written(frames.get((v, f)))
            if written is None or not len(written[0]):
                empty.append(f)
                continue
            kpts, scores = written[:2]
            part = PersonArrays.from_keypoints(np.full(len(kpts), f), kpts, scores, PT18_TO_POSEVAL)
            part.track_id[:] = written[3].tolist() if len(written) > 3 else list(range(len(kpts)))
            parts.append(part)
        if self.outfile_format == 'pt17' and empty:
            parts.append(dummy_persons(np.asarray(empty)))
        persons = PersonArrays.concatenate(parts)
        video = PoseTrackVideo(
            source=osp.basename(gt.source) + ' (predictions)',
            format=self.outfile_format,
            frame_names=list(gt.frame_names),
            image_ids=list(gt.image_ids),
            vid_ids=list(gt.vid_ids),
            num_rects=np.bincount(persons.frame, minlength=gt.num_frames),
            ignore_regions=[[] for _ in range(gt.num_frames)],
            persons=persons,
        )
        return video.sort_by_frame()
