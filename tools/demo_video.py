# Copyright (c) OpenMMLab. All rights reserved.
"""Render FaSRnet poses on a video, image folder or camera (default: the shipped clip).

    python tools/demo_video.py [INPUT] --weights CKPT [--out-dir DIR]

Writes ``<out-dir>/<stem>_pose.mp4`` (H.264) and ``<stem>_pose.json`` (valid after every frame);
see docs/inference.md.
"""

import argparse
import logging
import os.path as osp
import sys
import time

import cv2
import torch
from mmengine.utils import ProgressBar

from fasrnet_mmpose import apis
from fasrnet_mmpose.apis.inferencers.utils.model_index import DEFAULT_MODEL, DEMO_CLIP
from fasrnet_mmpose.utils import check_device, mmlogger_level

RED = (cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2, cv2.LINE_AA)  # the random-weights stamp
RANDOM_BANNER = (
    f'\n{"!" * 79}\n!!  NO --weights GIVEN: the FaSRnet model was RANDOMLY INITIALISED.\n!!  The '
    'demo ran end to end, but the drawn poses are MEANINGLESS.\n!!  Pass --weights with a '
    f'trained/converted checkpoint (docs/model_zoo.md).\n{"!" * 79}\n'
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='FaSRnet video pose demo: a rendered video and a predictions JSON.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add('input', nargs='?', default=DEMO_CLIP, help='video, image folder, image or webcam[:id]')
    add('--config', default=DEFAULT_MODEL, help='config file or model name/alias')
    add('--weights', help='checkpoint (path, file:// or http(s)://); without: RANDOM weights')
    add('--allow-partial-weights', action='store_true', help='run with backbone/head keys missing')
    add('--out-dir', default='work_dirs/demo', help='output directory')
    det = parser.add_argument_group('person boxes (default: OpenCV HOG people detector)')
    det.add_argument('--det-config', help='mmdet detector config (or model name)')
    det.add_argument('--det-weights', help='mmdet detector checkpoint')
    det.add_argument('--det-cat-ids', type=int, nargs='+', default=[0], help='person class ids')
    det.add_argument('--bbox-file', help='JSON with person boxes per frame (docs/inference.md)')
    det.add_argument('--whole-image', action='store_true', help='one box = the whole frame')
    det.add_argument('--bbox-thr', type=float, default=0.3, help='detector score threshold')
    det.add_argument('--nms-thr', type=float, default=0.3, help='detector NMS IoU threshold')
    det.add_argument('--whole-image-fallback', action='store_true', help='whole frame if no box')
    add('--online', action='store_true', help='past frames only (no t+1): causal, no latency')
    add('--no-track', action='store_true', help='no track ids (colour and "id N" per person)')
    add('--device', default='auto', help='cpu, cuda:0, ...; auto = CUDA when available')
    add('--threads', type=int, help='torch CPU threads (1 is often fastest on a busy machine)')
    add('--max-frames', type=int, help='process only the first N frames')
    add('--fps', type=float, default=25.0, help='output frame rate for image folders')
    add('--kpt-thr', type=float, default=0.3, help='keypoints below this score are not drawn')
    add('--no-bbox', action='store_true', help='do not draw the person boxes')
    add('--show', action='store_true', help='also display the frames')
    add('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if sum(map(bool, (args.det_config, args.bbox_file, args.whole_image))) > 1:
        parser.error('--det-config, --bbox-file and --whole-image are mutually exclusive')
    if args.max_frames is not None and args.max_frames < 1:
        parser.error('--max-frames must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    check_device(args.device)
    with mmlogger_level(logging.WARNING):
        return run(args)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    try:  # a bad input or bbox file fails here, before the model is built
        source = apis.open_frame_source(args.input, max_frames=args.max_frames, fps=args.fps)
        if args.bbox_file:
            apis.load_bbox_file(args.bbox_file)
    except (FileNotFoundError, ValueError) as e:
        print(f'demo_video.py: error: {e}', file=sys.stderr)
        return 1
    det_model = args.det_config or ('whole_image' if args.bbox_file or args.whole_image else 'hog')
    detector = dict(hog='opencv_hog', whole_image='whole_image').get(
        det_model, f'mmdet:{det_model}'
    )
    detector = f'bbox_file:{args.bbox_file}' if args.bbox_file else detector
    if det_model == 'hog':
        print('Person boxes: OpenCV HOG people detector (offline, weak; see --det-config).')
    if args.det_config and not args.det_weights:
        print('WARNING: --det-config without --det-weights: a random detector?', file=sys.stderr)
    keys = ('det_weights', 'online', 'whole_image_fallback', 'allow_partial_weights')
    inferencer = apis.FaSRnetInferencer(
        args.config,
        args.weights,
        None if args.device == 'auto' else args.device,
        det_model=det_model,
        det_cat_ids=tuple(args.det_cat_ids),
        track=not args.no_track,
        **{k: getattr(args, k) for k in keys},
    )
    stem = 'webcam' if args.input.startswith('webcam') else osp.splitext(source.name)[0]
    out = osp.join(args.out_dir, f'{stem or "frames"}_pose')
    video, dataset = apis.VideoSink(out + '.mp4', source.fps), inferencer.model.dataset_meta
    meta = {k: getattr(args, k) for k in ('input', 'config', 'weights')}
    meta.update(random_init=not inferencer.weights_loaded, online=inferencer.online)
    meta.update(frame_offsets=list(inferencer.frame_offsets), detector=detector, fps=source.fps)
    meta.update(tracking=not args.no_track, dataset_name=dataset.get('dataset_name'))
    names = dataset['keypoint_id2name']
    meta['keypoint_names'] = [names[i] for i in range(dataset['num_keypoints'])]
    preds = apis.PredictionsWriter(out + '.json', meta)
    keys = ('show', 'kpt_thr', 'bbox_file', 'bbox_thr', 'nms_thr')
    kwargs = dict(return_vis=True, draw_bbox=not args.no_bbox, radius=3, thickness=2)
    kwargs.update({k: getattr(args, k) for k in keys})
    progress = None if args.no_progress else ProgressBar(len(source), file=sys.stdout)
    persons, tracks, error, start = 0, set(), None, time.perf_counter()
    try:
        for index, result in enumerate(inferencer(source, **kwargs)):
            vis = cv2.cvtColor(result['visualization'][0], cv2.COLOR_RGB2BGR)
            if not inferencer.weights_loaded:
                cv2.putText(vis, 'RANDOM WEIGHTS - poses are meaningless', (8, 22), *RED)
            video.write(vis)
            instances = result['predictions'][0]
            persons += len(instances)
            tracks.update(inst['track_id'] for inst in instances if 'track_id' in inst)
            frame = dict(frame_id=source.frame_numbers[index], width=vis.shape[1])
            frame.update(height=vis.shape[0], instances=instances)
            counts = dict(num_frames=index + 1, num_persons=persons, num_tracks=len(tracks))
            preds.add(frame, **counts, frame_size=list(video.size), video_codec=video.codec)
            if progress is not None:
                progress.update()
    except KeyboardInterrupt:  # e.g. stopping a camera: keep what was processed
        error = f'interrupted after {preds.num_frames} frames'
    except Exception as e:  # keep every finished frame, name the failing one
        done = preds.num_frames
        error = f'stopped at frame {done} ({done} finished frames are saved): '
        error += f'{type(e).__name__}: {e}'
    finally:
        video.release()
        report = source.decode_report()
        dropped = dict(boxes_dropped_outside_image=inferencer.num_dropped_boxes)
        preds.close(complete=error is None, error=error, **dropped, **report)
    fps = preds.num_frames / max(time.perf_counter() - start, 1e-9)
    print('' if progress is None else '\n', end='')
    if error is not None:
        print(f'demo_video.py: error: {error}', file=sys.stderr)
    num_tracks = '' if args.no_track else f', {len(tracks)} tracks'
    print(f'{preds.num_frames} frames, {persons} person instances{num_tracks}, {fps:.2f} frames/s')
    if report['frames_failed']:
        failed, more = report['failed_frame_numbers'], ' ...' * (report['frames_failed'] > 20)
        print(
            f'WARNING: {len(failed)} of the {report["frames_in_header"]} frames in the header '
            f'could not be decoded (frame numbers {failed[:20]}{more}); the others keep their '
            'numbers.',
            file=sys.stderr,
        )
    print(f'video:       {video.path} ({video.codec})\npredictions: {preds.path}')
    if not inferencer.weights_loaded:
        print(RANDOM_BANNER, file=sys.stderr, flush=True)
    return 0 if error is None else 1


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
