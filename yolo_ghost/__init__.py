"""yolo-ghost: lightweight blocks (Ghost, ShuffleNet, SE/SK, SPConv, MobileNet) for YOLOv5-style detectors.

Blocks are registered under YAML names; ``build_model`` turns a YAML into a model the ultralytics engine trains.
"""

from yolo_ghost.blocks.helpers import make_divisible
from yolo_ghost.cfg import ConfigError, list_configs
from yolo_ghost.model import YoloGhostModel, build_model, load_checkpoint
from yolo_ghost.registry import get_block, list_blocks, register_block, unregister_block

__version__ = "0.1.0"
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
