# Copyright (c) OpenMMLab. All rights reserved.
import contextlib
from typing import Iterator

from mmengine.logging import MMLogger


@contextlib.contextmanager
def mmlogger_level(level: int) -> Iterator[MMLogger]:
    """Run a block with mmengine's current ``MMLogger`` at ``level``, restoring its level after.

    The command-line tools use it to quiet the INFO messages of mmengine/mmpose (and of the
    plugin's metric) while they print their own output, e.g.::

        with mmlogger_level(logging.WARNING):
            return _run(args)

    Args:
        level (int): A ``logging`` level such as ``logging.WARNING``.

    Yields:
        MMLogger: The current instance (``MMLogger.get_current_instance()``).
    """
    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield logger
    finally:
        logger.setLevel(previous)
