# Copyright (c) OpenMMLab. All rights reserved.
"""Render FaSRnet poses on a video (or image folder / camera).

    python tools/demo_video.py [INPUT] --weights CKPT [--out-dir DIR]

Writes ``<out-dir>/<input stem>_pose.mp4`` (H.264; skeletons drawn with mmpose's
``PoseLocalVisualizer``, one colour and ``id N`` per track) and
``<out-dir>/<input stem>_pose.json`` (per-frame keypoints, scores, boxes and
track ids; valid JSON after every frame, so a failed run keeps what it did).
INPUT defaults to the clip shipped in
``demo/resources/vtest_clip.mp4``. People are found with (first match):
``--det-config``/``--det-weights`` (an mmdet detector), ``--bbox-file``,
``--whole-image``, otherwise OpenCV's built-in HOG people detector (works
offline, no download). Without ``--weights`` the model is randomly
initialised: it runs, but the poses are meaningless (said loudly).
See docs/inference.md.
"""

import argparse
import logging
import os.path as osp
import sys
import time
from typing import List, Optional

from fasrnet_mmpose.apis.inferencers.utils.model_index import DEFAULT_MODEL, DEMO_CLIP


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='FaSRnet video pose demo: renders a video with skeletons and writes a '
        'predictions JSON.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        'input',
        nargs='?',
        default=DEMO_CLIP,
        help='video file, image folder (frames in natural order), image, or webcam[:id]',
    )
    parser.add_argument(
        '--config',
        default=DEFAULT_MODEL,
        help='FaSRnet config file, or a model name/alias of configs/fasrnet/metafile.yml',
    )
    parser.add_argument(
        '--weights',
        default=None,
        help='checkpoint: local path, file:// or http(s):// URL. Without it the model is '
        'RANDOMLY initialised (meaningless poses)',
    )
    parser.add_argument(
        '--allow-partial-weights',
        action='store_true',
        help='run even if --weights leaves backbone/head parameters unloaded (marked random_init)',
    )
    parser.add_argument('--out-dir', default='work_dirs/demo', help='output directory')
    det = parser.add_argument_group('person boxes (default: OpenCV HOG people detector)')
    det.add_argument('--det-config', default=None, help='mmdet detector config (or model name)')
    det.add_argument('--det-weights', default=None, help='mmdet detector checkpoint')
    det.add_argument(
        '--det-cat-ids', type=int, nargs='+', default=[0], help='detector class ids kept as persons'
    )
    det.add_argument(
        '--bbox-file', default=None, help='JSON with person boxes per frame (see docs/inference.md)'
    )
    det.add_argument(
        '--whole-image', action='store_true', help='one box = the whole frame (single-person clips)'
    )
    det.add_argument('--bbox-thr', type=float, default=0.3, help='detector score threshold')
    det.add_argument('--nms-thr', type=float, default=0.3, help='detector NMS IoU threshold')
    det.add_argument(
        '--whole-image-fallback',
        action='store_true',
        help='on frames without any person box, use the whole frame instead of returning no pose',
    )
    parser.add_argument(
        '--online', action='store_true', help='use past frames only (no t+1): causal, no latency'
    )
    parser.add_argument(
        '--no-track',
        action='store_true',
        help='no pose tracking (by default every person gets a track_id stable across frames, '
        'drawn as its colour and "id N")',
    )
    parser.add_argument(
        '--device', default='auto', help='cpu, cuda:0, ...; auto = CUDA when available'
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (1 is often fastest on a busy machine)',
    )
    parser.add_argument(
        '--max-frames', type=int, default=None, help='process only the first N frames'
    )
    parser.add_argument(
        '--fps', type=float, default=25.0, help='frame rate of the output for image-folder inputs'
    )
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3, help='keypoints below this score are not drawn'
    )
    parser.add_argument('--radius', type=int, default=3, help='keypoint radius')
    parser.add_argument('--thickness', type=int, default=2, help='limb thickness')
    parser.add_argument('--no-bbox', action='store_true', help='do not draw the person boxes')
    parser.add_argument('--show', action='store_true', help='also display the frames')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.det_config is not None and (args.bbox_file or args.whole_image):
        parser.error('--det-config, --bbox-file and --whole-image are mutually exclusive')
    if args.bbox_file and args.whole_image:
        parser.error('--bbox-file and --whole-image are mutually exclusive')
    if args.max_frames is not None and args.max_frames < 1:
        parser.error('--max-frames must be >= 1')
    return args


def _stem(source_name: str, input_arg: str) -> str:
    if input_arg.lower().startswith('webcam'):
        return 'webcam'
    return osp.splitext(source_name)[0] or 'frames'


def _loud(message: str) -> None:
    bar = '!' * 79
    print(f'\n{bar}\n{message}\n{bar}\n', file=sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    from fasrnet_mmpose.utils import check_device, mmlogger_level  # imports the plugin

    check_device(args.device)

    with mmlogger_level(logging.WARNING):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import cv2
    from mmengine.utils import ProgressBar

    from fasrnet_mmpose.apis import (
        FaSRnetInferencer,
        PredictionsWriter,
        VideoSink,
        load_bbox_file,
        open_frame_source,
    )

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        source = open_frame_source(args.input, max_frames=args.max_frames, fps=args.fps)
    except (FileNotFoundError, ValueError) as e:
        print(f'demo_video.py: error: {e}', file=sys.stderr)
        return 1
    if args.bbox_file is not None:
        try:
            load_bbox_file(args.bbox_file)  # a bad file fails here, before the model is built
        except (FileNotFoundError, ValueError) as e:
            print(f'demo_video.py: error: {e}', file=sys.stderr)
            return 1

    if args.det_config is not None:
        det_model, det_desc = args.det_config, f'mmdet:{args.det_config}'
        if args.det_weights is None:
            _loud(
                f'!!  --det-config without --det-weights: the detector {args.det_config} may be '
                'randomly initialised.'
            )
    elif args.bbox_file is not None:
        det_model, det_desc = 'whole_image', f'bbox_file:{args.bbox_file}'
    elif args.whole_image:
        det_model, det_desc = 'whole_image', 'whole_image'
    else:
        det_model, det_desc = 'hog', 'opencv_hog'
        print(
            'Person boxes: OpenCV HOG people detector (offline, weak: use --det-config/'
            '--det-weights with an mmdet model for real work).',
            flush=True,
        )
    inferencer = FaSRnetInferencer(
        args.config,
        weights=args.weights,
        device=None if args.device == 'auto' else args.device,
        det_model=det_model,
        det_weights=args.det_weights,
        det_cat_ids=tuple(args.det_cat_ids),
        online=args.online,
        whole_image_fallback=args.whole_image_fallback,
        allow_partial_weights=args.allow_partial_weights,
        track=not args.no_track,
    )

    stem = _stem(source.name, args.input)
    video = VideoSink(osp.join(args.out_dir, f'{stem}_pose.mp4'), source.fps)
    meta = dict(
        input=args.input,
        config=args.config,
        weights=args.weights,
        random_init=not inferencer.weights_loaded,
        online=inferencer.online,
        frame_offsets=list(inferencer.frame_offsets),
        detector=det_desc,
        tracking=not args.no_track,
        fps=source.fps,
        dataset_name=inferencer.model.dataset_meta.get('dataset_name'),
        keypoint_names=[
            inferencer.model.dataset_meta['keypoint_id2name'][i]
            for i in range(inferencer.model.dataset_meta['num_keypoints'])
        ],
    )
    preds = PredictionsWriter(osp.join(args.out_dir, f'{stem}_pose.json'), meta)
    results = inferencer(
        source,
        return_vis=True,
        show=args.show,
        draw_bbox=not args.no_bbox,
        kpt_thr=args.kpt_thr,
        radius=args.radius,
        thickness=args.thickness,
        bbox_file=args.bbox_file,
        bbox_thr=args.bbox_thr,
        nms_thr=args.nms_thr,
    )
    progress = None if args.no_progress else ProgressBar(len(source), file=sys.stdout)
    num_persons, track_ids, error, start = 0, set(), None, time.perf_counter()
    try:
        for index, result in enumerate(results):
            vis = cv2.cvtColor(result['visualization'][0], cv2.COLOR_RGB2BGR)
            if not inferencer.weights_loaded:
                cv2.putText(vis, 'RANDOM WEIGHTS - poses are meaningless', (8, 22),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2, cv2.LINE_AA)  # fmt: skip
            video.write(vis)
            instances = result['predictions'][0]
            num_persons += len(instances)
            track_ids.update(inst['track_id'] for inst in instances if 'track_id' in inst)
            h, w = result['visualization'][0].shape[:2]
            record = dict(frame_id=source.frame_numbers[index], width=w, height=h)
            preds.add(
                dict(record, instances=instances),
                num_frames=preds.num_frames + 1,
                num_persons=num_persons,
                num_tracks=len(track_ids),
                frame_size=list(video.size),
                video_codec=video.codec,
            )
            if progress is not None:
                progress.update()
    except KeyboardInterrupt:  # e.g. stopping a camera: keep what was processed
        error = f'interrupted after {preds.num_frames} frames'
    except Exception as e:  # keep every finished frame, name the failing one
        error = (
            f'stopped at frame {preds.num_frames} ({preds.num_frames} finished frames are saved): '
            f'{type(e).__name__}: {e}'
        )
    finally:
        video.release()
        report = source.decode_report()
        preds.close(
            complete=error is None,
            error=error,
            boxes_dropped_outside_image=inferencer.num_dropped_boxes,
            **report,
        )
    elapsed = time.perf_counter() - start
    if progress is not None:
        sys.stdout.write('\n')
    if error is not None:
        print(f'demo_video.py: error: {error}', file=sys.stderr)
    fps = preds.num_frames / elapsed if elapsed > 0 else float('nan')
    tracks = f', {len(track_ids)} tracks' if not args.no_track else ''
    print(f'{preds.num_frames} frames, {num_persons} person instances{tracks}, {fps:.2f} frames/s')
    if report['frames_failed']:
        print(
            f'WARNING: {report["frames_failed"]} of the {report["frames_in_header"]} frames in the '
            f'header could not be decoded (frame numbers {report["failed_frame_numbers"][:20]}'
            f'{" ..." if report["frames_failed"] > 20 else ""}); the others keep their numbers.',
            file=sys.stderr,
        )
    print(f'video:       {video.path} ({video.codec})')
    print(f'predictions: {preds.path}')
    if not inferencer.weights_loaded:
        _loud(
            '!!  NO --weights GIVEN: the FaSRnet model was RANDOMLY INITIALISED.\n'
            '!!  The demo ran end to end, but the drawn poses are MEANINGLESS.\n'
            '!!  Pass --weights with a trained/converted checkpoint (docs/model_zoo.md).'
        )
    return 0 if error is None else 1


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
