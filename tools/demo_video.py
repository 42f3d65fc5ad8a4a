# Copyright (c) OpenMMLab. All rights reserved.
"""``python tools/demo_video.py [INPUT] --weights CKPT``: FaSRnet poses on a video (default: the
shipped clip) as ``<out-dir>/<stem>_pose.mp4`` (H.264) and ``.json`` (docs/inference.md)."""

import argparse
import logging
import os.path as osp
import sys
import time

import cv2
import torch
from mmengine.utils import track_iter_progress

from fasrnet_mmpose import apis
from fasrnet_mmpose.apis.inferencers.utils.model_index import DEFAULT_MODEL, DEMO_CLIP
from fasrnet_mmpose.utils import check_device, mmlogger_level

RED = (cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2, cv2.LINE_AA)  # the random-weights stamp
RANDOM_BANNER = f'{"!" * 79}\n!!  NO --weights GIVEN: the FaSRnet model was RANDOMLY INITIALISED: '
RANDOM_BANNER += f'the poses are MEANINGLESS (docs/model_zoo.md).\n{"!" * 79}'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add('input', nargs='?', default=DEMO_CLIP, help='video, image folder, image or webcam[:id]')
    add('--config', default=DEFAULT_MODEL, help='config file or model name/alias')
    add('--weights', help='checkpoint (path, file:// or http(s)://); without: RANDOM weights')
    add('--allow-partial-weights', action='store_true', help='run with backbone/head keys missing')
    add('--out-dir', default='work_dirs/demo', help='output directory')
    boxes = parser.add_mutually_exclusive_group().add_argument  # one person-box source
    boxes('--det-config', help='mmdet detector config or name (else: OpenCV HOG detector)')
    add('--det-weights', help='mmdet detector checkpoint')
    add('--det-cat-ids', type=int, nargs='+', default=[0], help='person class ids')
    boxes('--bbox-file', help='JSON with person boxes per frame (docs/inference.md)')
    boxes('--whole-image', action='store_true', help='one box = the whole frame')
    add('--bbox-thr', type=float, default=0.3, help='detector score threshold')
    add('--nms-thr', type=float, default=0.3, help='detector NMS IoU threshold')
    add('--whole-image-fallback', action='store_true', help='whole frame if no box')
    add('--online', action='store_true', help='past frames only (no t+1): causal, no latency')
    add('--no-track', action='store_true', help='no track ids (colour and "id N" per person)')
    add('--device', default='auto', help='cpu, cuda:0, ...; auto = CUDA when available')
    add('--threads', type=int, help='torch CPU threads (1 is often fastest on a busy machine)')
    add('--max-frames', type=int, help='process only the first N frames')
    add('--fps', type=float, default=25.0, help='output frame rate for image folders')
    add('--kpt-thr', type=float, default=0.3, help='keypoints below this score are not drawn')
    add('--no-bbox', action='store_true', help='do not draw the person boxes')
    add('--radius', type=int, default=3, help='keypoint radius')
    add('--thickness', type=int, default=2, help='limb thickness')
    add('--show', action='store_true', help='also display the frames')
    add('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


@mmlogger_level(logging.WARNING)
def main(argv=None) -> int:
    args = parse_args(argv)
    check_device(args.device)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    try:  # a bad input or bbox file fails here, before the model is built
        source = apis.open_frame_source(args.input, max_frames=args.max_frames, fps=args.fps)
        if args.bbox_file:
            apis.load_bbox_file(args.bbox_file)
    except (FileNotFoundError, ValueError) as e:
        print(f'demo_video.py: error: {e}', file=sys.stderr)
        return 1
    det_model = args.det_config or ('whole_image' if args.bbox_file or args.whole_image else 'hog')
    detector = f'mmdet:{det_model}' if args.det_config else det_model.replace('hog', 'opencv_hog')
    detector = f'bbox_file:{args.bbox_file}' if args.bbox_file else detector
    if det_model == 'hog':
        print('Person boxes: OpenCV HOG people detector (offline, weak; see --det-config).')
    keys = ('det_weights', 'online', 'whole_image_fallback', 'allow_partial_weights')
    opts = {k: getattr(args, k) for k in keys}
    opts.update(det_model=det_model, det_cat_ids=tuple(args.det_cat_ids), track=not args.no_track)
    device = None if args.device == 'auto' else args.device
    inferencer = apis.FaSRnetInferencer(args.config, args.weights, device, **opts)
    stem = 'webcam' if args.input.startswith('webcam') else osp.splitext(source.name)[0]
    out = osp.join(args.out_dir, f'{stem or "frames"}_pose')
    video, dataset = apis.VideoSink(out + '.mp4', source.fps), inferencer.model.dataset_meta
    meta = {k: getattr(args, k) for k in ('input', 'config', 'weights')}
    meta.update(random_init=not inferencer.weights_loaded, online=inferencer.online)
    meta.update(frame_offsets=list(inferencer.frame_offsets), detector=detector, fps=source.fps)
    meta.update(tracking=not args.no_track, dataset_name=dataset.get('dataset_name'))
    meta['keypoint_names'] = list(dataset['keypoint_id2name'].values())  # in id order
    preds = apis.PredictionsWriter(out + '.json', meta)
    keys = ('show', 'kpt_thr', 'bbox_file', 'bbox_thr', 'nms_thr', 'radius', 'thickness')
    kwargs = dict(return_vis=True, draw_bbox=not args.no_bbox)
    kwargs.update({k: getattr(args, k) for k in keys})
    results = inferencer(source, **kwargs)
    if not args.no_progress:
        results = track_iter_progress((results, len(source)), file=sys.stdout)
    persons, tracks, error, start = 0, set(), None, time.perf_counter()
    try:
        for index, result in enumerate(results):
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
    except (Exception, KeyboardInterrupt) as e:  # keep every finished frame, name the failing one
        n = preds.num_frames
        error = f'stopped at frame {n} ({n} finished frames are saved): {type(e).__name__}: {e}'
    finally:
        video.release()
        report = source.decode_report()
        dropped = dict(boxes_dropped_outside_image=inferencer.boxes.num_dropped)
        preds.close(complete=error is None, error=error, **dropped, **report)
    fps = preds.num_frames / max(time.perf_counter() - start, 1e-9)
    if error is not None:
        print(f'demo_video.py: error: {error}', file=sys.stderr)
    num_tracks = '' if args.no_track else f', {len(tracks)} tracks'
    print(f'{preds.num_frames} frames, {persons} person instances{num_tracks}, {fps:.2f} frames/s')
    if report['frames_failed']:
        failed, total = report['failed_frame_numbers'], report['frames_in_header']
        message = f'{len(failed)} of the {total} frames in the header could not be decoded (frame '
        message += f'numbers {failed[:20]}{" ..." * (len(failed) > 20)}); the others keep theirs.'
        print(f'WARNING: {message}', file=sys.stderr)
    print(f'video:       {video.path} ({video.codec})\npredictions: {preds.path}')
    if not inferencer.weights_loaded:
        print(RANDOM_BANNER, file=sys.stderr, flush=True)
    return 0 if error is None else 1


if __name__ == '__main__':
    from fasrnet_mmpose.utils.cli import run_cli

    sys.exit(run_cli(main))
