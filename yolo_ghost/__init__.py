"""yolo-ghost: lightweight blocks (Ghost, ShuffleNet, SE/SK, SPConv, MobileNet) for YOLOv5-style detectors.

Blocks are registered under YAML names; ``build_model`` turns a YAML into a model the ultralytics engine trains.
"""

from yolo_ghost.utils.offline import go_offline

go_offline()  # before anything imports ultralytics, which decides at import whether it is online

from yolo_ghost import _moved  # noqa: E402
from yolo_ghost.cfg import ConfigError, list_configs  # noqa: E402
from yolo_ghost.models.yolo import YoloGhostModel, build_model, load_checkpoint  # noqa: E402
from yolo_ghost.nn.blocks.helpers import make_divisible  # noqa: E402
from yolo_ghost.nn.registry import get_block, list_blocks, register_block, unregister_block  # noqa: E402

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)
_moved.install()  # checkpoints and code that name a module by its path before the layer folders still load
__all__ = [
    "ConfigError",
    "YoloGhostModel",
    "__version__",
    "build_model",
    "get_block",
    "list_blocks",
    "list_configs",
    "load_checkpoint",
    "make_divisible",
    "register_block",
    "unregister_block",
]
