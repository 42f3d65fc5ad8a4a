# Copyright (c) OpenMMLab. All rights reserved.
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA (gloo on CPU).

    mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device(LOCAL_RANK)`` and wraps the
    model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Here the process group
    is initialised first (mmengine then skips its own init) with the configured backend (``nccl``
    falls back to ``gloo``), and DDP gets ``device_ids=None`` (a CPU module). No-op with CUDA or
    another launcher.

    Args:
        cfg (Config): the run config (``launcher``, ``env_cfg.dist_cfg.backend``,
            ``model_wrapper_cfg`` are read; ``model_wrapper_cfg`` is set).
    """
    import torch
    import torch.distributed as dist

    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
        dist.init_process_group(backend='gloo' if backend == 'nccl' else backend)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False),
    )
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def teardown_distributed() -> None:
    """Destroy the default process group at the end of a run, if one exists.

    mmengine never does; with gloo on CPU an undestroyed group's background threads can abort the
    interpreter at exit ("terminate called without an active exception", exit code -6) after a
    successful run, which the launcher reports as a failed worker.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
