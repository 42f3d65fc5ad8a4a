# Copyright (c) OpenMMLab. All rights reserved.
"""FaSRnet for MMPose 1.x.

Importing this package registers every plugin component in mmpose's registries (scope
``mmpose``). Configs load it with::

    custom_imports = dict(imports=['fasrnet_mmpose'], allow_failed_imports=False)
"""

# Order matters: the checkpoint loaders first, others may load weights.
# isort: off
from . import utils  # noqa: F401
from . import structures  # noqa: F401
from . import datasets  # noqa: F401
from . import models  # noqa: F401
from . import evaluation  # noqa: F401
from . import engine  # noqa: F401
from . import apis  # noqa: F401
from . import visualization  # noqa: F401
from .version import __version__  # noqa: F401
# isort: on

__all__ = ['__version__']
