# Copyright (c) OpenMMLab. All rights reserved.
"""``PoseTrackMAPMetric``: the official PoseTrack per-frame mAP without poseval."""

import gc
import json
import os
import os.path as osp
import re
from collections import OrderedDict, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from ..functional.posetrack_eval import (
    FORMATS,
    NUM_JOINTS,
    PT18_KEYPOINTS,
    PT18_SKELETON,
    PT18_TO_POSEVAL,
    PersonArrays,
    PoseTrackVideo,
    evaluate_videos,
    format_table,
    load_gt_dir,
    summarize,
)

#: poseval joint id -> index in the 17 model keypoints
POSEVAL_TO_PT18 = np.array(
    [int(np.flatnonzero(PT18_TO_POSEVAL == j)[0]) for j in range(NUM_JOINTS)], dtype=np.int64
)
#: COCO / PoseTrack18 keypoint sigmas (mmpose's default in ``oks_iou``)
COCO_SIGMAS = (
    np.array(
        [
            0.26,
            0.25,
            0.25,
            0.35,
            0.35,
            0.79,
            0.79,
            0.72,
            0.72,
            0.62,
            0.62,
            1.07,
            1.07,
            0.87,
            0.87,
            0.89,
            0.89,
        ]
    )
    / 10.0
)
#: score of the dummy point written into frames without detections (PT17 files)
DUMMY_SCORE = -100.0


def _to_numpy(x: Any) -> np.ndarray:
    """Tensor / list / array -> float64 numpy array."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _get(container: Any, key: str) -> Any:
    """``container[key]`` for dicts and mmengine data elements, None if absent."""
    if container is None:
        return None
    if isinstance(container, dict):
        return container.get(key)
    return getattr(container, key, None)


def frame_key(path: Any) -> Optional[Tuple[str, Any]]:
    """Key identifying a frame by its video folder and frame number.

    ``.../images/val/003418_mpii_test/000007.jpg`` -> ``('003418_mpii_test', 7)``. The
    frame number is the integer value of the file stem (so 6- and 8-digit names of the
    same number agree); a non-numeric stem is kept as a string.

    Args:
        path (Any): Image path (str; for a list, its first element, the centre frame).

    Returns:
        tuple, optional: ``(folder, frame)`` or None if there is no usable path.
    """
    if isinstance(path, (list, tuple)):
        path = path[0] if path else None
    if not isinstance(path, str) or not path:
        return None
    parts = [p for p in re.split(r'[\\/]+', path) if p]
    if len(parts) < 2:
        return None
    stem = osp.splitext(parts[-1])[0]
    return parts[-2], int(stem) if stem.isdigit() else stem


@METRICS.register_module()
class PoseTrackMAPMetric(BaseMetric):
    """Official PoseTrack per-frame multi-person mAP (poseval's protocol), in-process.

    Collects top-down predictions, writes the official per-video prediction files
    (optional) and computes poseval's AP without poseval: ignore regions, head-size
    normalised PCKh@0.5, greedy person assignment, VOC all-point AP per joint (see
    ``docs/evaluation.md`` and ``fasrnet_mmpose.evaluation.functional.posetrack_eval``).
    The numbers equal poseval's on the same files.

    Predictions are mapped to GT frames by the video folder and frame number of the
    sample's ``img_path`` (robust to different data roots and zero-padding) and, when
    the path does not resolve, by ``img_id`` = the PoseTrack18 image ``id`` of the GT
    file. Predictions of frames that are not in ``gt_folder`` are dropped with a
    warning; if none can be mapped an error is raised. Duplicate samples (same frame
    and instance ``id``) are counted once.

    Per person, the 17 keypoints are mapped to poseval's 15 joints (ears dropped) and
    every joint gets the score ``keypoint_score x box score`` (``multiply_box_score``),
    the official FaSRnet/DCPose protocol; ``track_id`` is the running index of the
    person in its frame.

    Args:
        gt_folder (str): Folder of per-video GT files (e.g. ``annotations/val`` for
            PoseTrack18 or the PoseTrack17 ``annolist`` folder). It also defines the
            frames of the written prediction files (use the per-video test files, which
            list the frames, with ``format_only=True``).
        format (str): Format of the GT files, ``'pt18'`` (``images``/``annotations``)
            or ``'pt17'`` (``annolist``). Defaults to ``'pt18'``.
        outfile_format (str, optional): Format of the written prediction files;
            defaults to ``format``.
        multiply_box_score (bool): Per-joint score = keypoint score x box score
            ([OFFICIAL]); False writes the raw keypoint score. Defaults to True.
        nms_mode (str): ``'none'`` ([OFFICIAL], no suppression) or ``'oks_nms'``
            (mmpose's OKS-NMS per frame, instances ranked by box score x mean keypoint
            score above ``keypoint_score_thr``). Defaults to ``'none'``.
        nms_thr (float): OKS threshold for ``'oks_nms'``. Defaults to 0.9.
        keypoint_score_thr (float): Keypoints counted in the NMS ranking score.
            Defaults to 0.2.
        format_only (bool): Only write the prediction files (e.g. for the evaluation
            server) and return no metrics. Requires ``outfile_prefix``. Defaults to False.
        outfile_prefix (str, optional): Folder in which the per-video prediction files
            are written, named like the GT files (``<outfile_prefix>/<video>.json``).
            None writes nothing. Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names; defaults to
            ``'posetrack'`` (``posetrack/Head AP`` ... ``posetrack/AP``,
            ``posetrack/Total AP``).
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
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(gt_folder, str) or not gt_folder:
            raise ValueError(
                'PoseTrackMAPMetric needs `gt_folder`, the folder of per-video GT '
                'files (it defines the videos and frames to evaluate / write)'
            )
        if format not in FORMATS:
            raise ValueError(f'format must be one of {FORMATS}, got {format!r}')
        if outfile_format is not None and outfile_format not in FORMATS:
            raise ValueError(
                f'outfile_format must be one of {FORMATS} or None, got {outfile_format!r}'
            )
        if nms_mode not in ('none', 'oks_nms'):
            raise ValueError(f"nms_mode must be 'none' or 'oks_nms', got {nms_mode!r}")
        if format_only and not outfile_prefix:
            raise ValueError(
                'format_only=True needs `outfile_prefix` (the folder to write the '
                'prediction files to)'
            )
        self.gt_folder = gt_folder
        self.format = format
        self.outfile_format = outfile_format or format
        self.multiply_box_score = multiply_box_score
        self.nms_mode = nms_mode
        self.nms_thr = nms_thr
        self.keypoint_score_thr = keypoint_score_thr
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix

    # ------------------------------------------------------------------------- collecting
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Collect the predictions of one batch.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs with ``pred_instances``
                (``keypoints`` (N, 17, 2) in image coordinates, ``keypoint_scores``
                (N, 17)), ``gt_instances`` (``bbox_scores`` (N,), optional
                ``bbox_scales``) and the metainfo ``img_path``, ``img_id``, ``id``.
        """
        for ds in data_samples:
            pred = _get(ds, 'pred_instances')
            if pred is None or _get(pred, 'keypoints') is None:
                raise ValueError(
                    f'{self.__class__.__name__} needs `pred_instances.keypoints` '
                    f'(sample img_path={_get(ds, "img_path")!r})'
                )
            kpts = _to_numpy(_get(pred, 'keypoints'))
            if kpts.ndim == 2:
                kpts = kpts[None]
            n = len(kpts)
            if kpts.shape[1:] != (len(PT18_KEYPOINTS), 2):
                raise ValueError(
                    f'{self.__class__.__name__}: expected keypoints of shape (N, 17, 2) (the '
                    f'PoseTrack keypoints), got {kpts.shape} (img_path={_get(ds, "img_path")!r})'
                )
            scores = _get(pred, 'keypoint_scores')
            scores = np.ones(kpts.shape[:2]) if scores is None else _to_numpy(scores)
            if scores.size != kpts.shape[0] * kpts.shape[1]:
                raise ValueError(
                    f'{self.__class__.__name__}: keypoint_scores of shape {scores.shape} do not '
                    f'match keypoints {kpts.shape} (img_path={_get(ds, "img_path")!r})'
                )
            scores = scores.reshape(kpts.shape[:2])
            gt = _get(ds, 'gt_instances')
            box = None
            for src in (gt, pred):
                b = _get(src, 'bbox_scores')
                if b is not None and _to_numpy(b).size == n:
                    box = _to_numpy(b).reshape(n)
                    break
            if box is None:
                box = np.ones(n)
            area = None
            scales = _get(gt, 'bbox_scales')
            if scales is not None and _to_numpy(scales).size == 2 * n:
                area = np.prod(_to_numpy(scales).reshape(n, 2), axis=1)
            else:
                bboxes = _get(pred, 'bboxes')
                if bboxes is not None and _to_numpy(bboxes).size == 4 * n:
                    bb = _to_numpy(bboxes).reshape(n, 4)
                    area = (bb[:, 2] - bb[:, 0]) * (bb[:, 3] - bb[:, 1])
            self.results.append(
                dict(
                    img_path=_get(ds, 'img_path'),
                    img_id=_get(ds, 'img_id'),
                    id=_get(ds, 'id'),
                    keypoints=kpts,
                    keypoint_scores=scores,
                    bbox_scores=box,
                    areas=area,
                )
            )

    # ------------------------------------------------------------------------- computing
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Write the prediction files (optional) and compute the PoseTrack APs.

        Args:
            results (list): The collected results of all ranks.

        Returns:
            dict: ``Head AP``, ``Shou AP``, ``Elb AP``, ``Wri AP``, ``Hip AP``,
            ``Knee AP``, ``Ankl AP``, ``AP`` and ``Total AP`` (= ``AP``, for configs
            using the mmpose 0.x name); empty with ``format_only``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        gt_videos = load_gt_dir(self.gt_folder, self.format)
        frames = self._group_by_frame(results, gt_videos, logger)

        if self.outfile_prefix:
            os.makedirs(self.outfile_prefix, exist_ok=True)
            gc_was_enabled = gc.isenabled()
            gc.disable()  # building/encoding many small dicts: see posetrack_eval._gc_paused
            try:
                for name, content in self.predictions_to_files(gt_videos, frames).items():
                    # json.dumps uses the C encoder (json.dump to a file does not)
                    text = json.dumps(content)
                    with open(osp.join(self.outfile_prefix, name), 'w', encoding='utf-8') as f:
                        f.write(text)
            finally:
                if gc_was_enabled:
                    gc.enable()
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
        for name, value in summarize(res['ap']).items():
            if name == 'Total':
                metrics['AP'] = value
                metrics['Total AP'] = value
            else:
                metrics[f'{name} AP'] = value
        return metrics

    def _group_by_frame(
        self, results: list, gt_videos: List[PoseTrackVideo], logger: MMLogger
    ) -> Dict[Tuple[int, int], dict]:
        """Map every collected instance to a GT frame; apply NMS.

        Returns:
            dict: ``(video index, frame index)`` -> dict of stacked ``keypoints``
            (M, 17, 2), ``keypoint_scores`` (M, 17), ``bbox_scores`` (M,).
        """
        by_key, by_id = {}, {}
        for v, video in enumerate(gt_videos):
            for f, (name, iid) in enumerate(zip(video.frame_names, video.image_ids)):
                key = frame_key(name)
                if key is not None:
                    by_key.setdefault(key, (v, f))
                if iid is not None:
                    try:
                        by_id.setdefault(iid, (v, f))
                    except TypeError:
                        pass

        grouped = defaultdict(list)
        seen = set()
        unmatched, conflicts = [], 0
        for r in results:
            n = len(r['keypoints'])
            loc_path = by_key.get(frame_key(r['img_path']))
            loc_id = None
            try:
                loc_id = by_id.get(r['img_id'])
            except TypeError:
                pass
            loc = loc_path or loc_id
            if loc_path is not None and loc_id is not None and loc_path != loc_id:
                conflicts += n
            if loc is None:
                unmatched.append((r['img_path'], r['img_id']))
                continue
            if r['id'] is not None:
                try:
                    uid = (loc, r['id'] if not isinstance(r['id'], list) else tuple(r['id']))
                    if uid in seen:
                        continue
                    seen.add(uid)
                except TypeError:
                    pass
            grouped[loc].append(r)

        if unmatched:
            msg = (
                f'{len(unmatched)} of {len(results)} prediction samples map to no frame of '
                f'the GT folder {self.gt_folder} (matched by video folder + frame number of '
                f'img_path, else by img_id); e.g. img_path={unmatched[0][0]!r}, '
                f'img_id={unmatched[0][1]!r}'
            )
            if len(unmatched) == len(results):
                raise ValueError(msg)
            logger.warning(msg + '. They are ignored.')
        if conflicts:
            logger.warning(
                f'{conflicts} predictions: img_path and img_id point to different GT '
                'frames; img_path was used'
            )

        frames = {}
        for loc, items in grouped.items():
            kpts = np.concatenate([r['keypoints'] for r in items])
            scores = np.concatenate([r['keypoint_scores'] for r in items])
            box = np.concatenate([r['bbox_scores'] for r in items])
            bad = ~np.isfinite(kpts).all(axis=2) | ~np.isfinite(scores)
            if bad.any():
                logger.warning(
                    f'{int(bad.sum())} non-finite keypoints/scores in frame '
                    f'{gt_videos[loc[0]].frame_names[loc[1]]!r} written as (0, 0) '
                    'with score 0'
                )
                kpts[bad] = 0
                scores[bad] = 0
            box = np.where(np.isfinite(box), box, 0.0)
            if self.nms_mode == 'oks_nms' and len(items) > 1:
                areas = [
                    r['areas'] if r['areas'] is not None else self._kpt_area(r['keypoints'])
                    for r in items
                ]
                keep = self._oks_nms(kpts, scores, box, np.concatenate(areas))
                kpts, scores, box = kpts[keep], scores[keep], box[keep]
            frames[loc] = dict(keypoints=kpts, keypoint_scores=scores, bbox_scores=box)
        return frames

    @staticmethod
    def _kpt_area(kpts: np.ndarray) -> np.ndarray:
        """Area of the keypoints' bounding box, per instance."""
        ext = kpts.max(axis=1) - kpts.min(axis=1)
        return ext[:, 0] * ext[:, 1]

    def _oks_nms(
        self, kpts: np.ndarray, scores: np.ndarray, box: np.ndarray, areas: np.ndarray
    ) -> np.ndarray:
        """OKS-NMS on the instances of one frame; returns the kept indices (sorted).

        Same result as ``mmpose.evaluation.functional.oks_nms`` (greedy in order of
        ``argsort()[::-1]`` of the ranking score, suppress OKS > ``nms_thr``), with the
        OKS matrix computed at once.
        """
        above = scores > self.keypoint_score_thr
        mean = np.where(
            above.any(axis=1), (scores * above).sum(axis=1) / np.maximum(above.sum(axis=1), 1), 0.0
        )
        rank = mean * box
        sigmas = COCO_SIGMAS
        if self.dataset_meta and self.dataset_meta.get('sigmas') is not None:
            meta = np.asarray(self.dataset_meta['sigmas'], np.float64)
            if len(meta) == kpts.shape[1]:
                sigmas = meta
        var = (sigmas * 2) ** 2
        d2 = ((kpts[:, None] - kpts[None]) ** 2).sum(-1)  # (n, n, K)
        scale = (areas[:, None] + areas[None]) / 2 + np.spacing(1)
        oks = np.exp(-(d2 / var / scale[..., None] / 2)).mean(-1)
        order = rank.argsort()[::-1]
        suppressed = np.zeros(len(kpts), bool)
        keep = []
        for i in order:
            if suppressed[i]:
                continue
            keep.append(i)
            suppressed |= oks[i] > self.nms_thr
        return np.sort(np.asarray(keep, np.int64))

    def _written_scores(self, p: dict) -> np.ndarray:
        """Per-joint score written for poseval: keypoint score (x box score)."""
        if self.multiply_box_score:
            return p['keypoint_scores'] * p['bbox_scores'][:, None]
        return p['keypoint_scores']

    def predictions_to_video(
        self, gt: PoseTrackVideo, v: int, frames: Dict[Tuple[int, int], dict]
    ) -> PoseTrackVideo:
        """The predictions of one GT video as poseval would read them from the files.

        Equivalent to parsing the output of :meth:`predictions_to_files` (either
        format), without the detour through JSON: 15 joints, a joint at (0, 0) with score
        0 is "not predicted", and for PoseTrack17 output the dummy point of empty frames.

        Args:
            gt (PoseTrackVideo): The GT video.
            v (int): Its index.
            frames (dict): See :meth:`_group_by_frame`.

        Returns:
            PoseTrackVideo: The predictions (track ids: running index per frame).
        """
        parts = []
        for f in range(gt.num_frames):
            p = frames.get((v, f))
            n = 0 if p is None else len(p['keypoints'])
            if n:
                pa = PersonArrays.empty(n)
                pa.frame[:] = f
                pa.xy = p['keypoints'][:, POSEVAL_TO_PT18].astype(np.float64)
                pa.score = self._written_scores(p)[:, POSEVAL_TO_PT18].astype(np.float64)
                pa.valid = ~((pa.xy[..., 0] == 0) & (pa.xy[..., 1] == 0) & (pa.score == 0))
                parts.append(pa)
            elif self.outfile_format == 'pt17':
                pa = PersonArrays.empty(1)
                pa.frame[:] = f
                pa.score[0, 0] = DUMMY_SCORE
                pa.valid[0, 0] = True
                parts.append(pa)
        persons = PersonArrays.concatenate(parts)
        return PoseTrackVideo(
            source=osp.basename(gt.source) + ' (predictions)',
            format=self.outfile_format,
            frame_names=list(gt.frame_names),
            image_ids=list(gt.image_ids),
            num_rects=np.bincount(persons.frame, minlength=gt.num_frames),
            ignore_regions=[[] for _ in range(gt.num_frames)],
            persons=persons,
            track_ids=list(range(len(persons))),
        )

    def predictions_to_files(
        self, gt_videos: List[PoseTrackVideo], frames: Dict[Tuple[int, int], dict]
    ) -> 'OrderedDict[str, dict]':
        """Build the official per-video prediction files (one per GT video).

        Args:
            gt_videos (List[PoseTrackVideo]): The GT videos (define frames and names).
            frames (dict): ``(video, frame)`` -> stacked predictions, see
                :meth:`_group_by_frame`.

        Returns:
            OrderedDict: file name (as the GT file) -> JSON content in
            ``self.outfile_format``; every file lists all frames of its GT file.
        """
        out = OrderedDict()
        for v, video in enumerate(gt_videos):
            per_frame = []
            for f in range(video.num_frames):
                p = frames.get((v, f))
                if p is None:
                    per_frame.append(None)
                    continue
                per_frame.append((p['keypoints'], self._written_scores(p), p['bbox_scores']))
            if self.outfile_format == 'pt18':
                content = self._to_pt18(video, per_frame)
            else:
                content = self._to_pt17(video, per_frame)
            out[osp.basename(video.source)] = content
        return out

    @staticmethod
    def _to_pt18(video: PoseTrackVideo, per_frame: list) -> dict:
        """PoseTrack18 ``images``/``annotations`` content (17 keypoints + scores)."""
        images, annotations = [], []
        for f, name in enumerate(video.frame_names):
            iid = video.image_ids[f] if video.image_ids[f] is not None else f
            images.append(dict(id=iid, file_name=name))
            if per_frame[f] is None:
                continue
            kpts, scores, box = per_frame[f]
            flat = np.concatenate([kpts, scores[..., None]], axis=2).reshape(len(kpts), -1)
            for t, (k, s, b) in enumerate(zip(flat.tolist(), scores.tolist(), box.tolist())):
                annotations.append(dict(image_id=iid, keypoints=k, scores=s, score=b, track_id=t))
        categories = [
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=list(PT18_KEYPOINTS),
                skeleton=PT18_SKELETON,
            )
        ]
        return dict(images=images, annotations=annotations, categories=categories)

    @staticmethod
    def _to_pt17(video: PoseTrackVideo, per_frame: list) -> dict:
        """PoseTrack17 ``annolist`` content (15 poseval joints, spec §7.3)."""
        annolist = []
        for f, name in enumerate(video.frame_names):
            rects = []
            if per_frame[f] is None or not len(per_frame[f][0]):
                # one dummy point, ranked last: adds nothing to AP (as the official writer)
                rects.append(
                    dict(
                        annopoints=[
                            dict(point=[dict(id=[0], x=[0.0], y=[0.0], score=[DUMMY_SCORE])])
                        ],
                        score=[DUMMY_SCORE],
                        track_id=[0],
                    )
                )
            else:
                kpts, scores, box = per_frame[f]
                xs = kpts[:, POSEVAL_TO_PT18, 0].tolist()
                ys = kpts[:, POSEVAL_TO_PT18, 1].tolist()
                ss = scores[:, POSEVAL_TO_PT18].tolist()
                # like poseval's PT18 converter: (0, 0) with score 0 means "not predicted"
                absent = (
                    (kpts[:, POSEVAL_TO_PT18, 0] == 0)
                    & (kpts[:, POSEVAL_TO_PT18, 1] == 0)
                    & (scores[:, POSEVAL_TO_PT18] == 0)
                ).tolist()
                for t, b in enumerate(box.tolist()):
                    points = [
                        dict(id=[j], x=[xs[t][j]], y=[ys[t][j]], score=[ss[t][j]])
                        for j in range(NUM_JOINTS)
                        if not absent[t][j]
                    ]
                    rects.append(dict(annopoints=[dict(point=points)], score=[b], track_id=[t]))
            annolist.append(dict(image=[dict(name=name)], imgnum=[f + 1], annorect=rects))
        return dict(annolist=annolist)
