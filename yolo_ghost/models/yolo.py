"""The model classes: ultralytics ``DetectionModel`` built by the yolo-ghost builder.

Subclassing keeps everything the ultralytics engine expects (``predict``, ``loss``, ``info``, device moves,
checkpoint format), while the layers come from ``yolo_ghost.nn.builder`` instead of the ultralytics parser. The
import path of this class is part of the checkpoint format: checkpoints pickle it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from ultralytics.nn.modules.head import Detect
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils import LOGGER
from ultralytics.utils.torch_utils import initialize_weights

import yolo_ghost.nn.blocks  # noqa: F401  (registers every block)
from yolo_ghost.cfg import ConfigError, load_model_cfg
from yolo_ghost.cfg.errors import one_line
from yolo_ghost.models.checkpoint import UnsafeCheckpointError, install, trusted
from yolo_ghost.models.yaml_model import YamlModelMixin
from yolo_ghost.nn.blocks.heads import head_loss
from yolo_ghost.nn.builder import dry_forward, parse_model

install()  # every checkpoint the ultralytics engine loads from now on is read with weights_only=True

# Stride probe size: big enough for a stride-64 (P6) head, small enough that building yolov5x stays fast.
_PROBE = 128


class YoloGhostModel(YamlModelMixin, DetectionModel):
    """A YOLOv5-style detector built from a yolo-ghost YAML, trainable and runnable by the ultralytics engine.

    Args:
        cfg: a YAML path, a shipped config's bare name (``yolov5l-ghost.yaml``) or a loaded dict.
        ch: input channels.
        nc: number of classes, overriding the YAML's ``nc``.
        verbose: print the per-layer summary.
    """

    def __init__(
        self,
        cfg: str | Path | dict[str, Any] = "yolov5s.yaml",
        ch: int = 3,
        nc: int | None = None,
        verbose: bool = False,
    ) -> None:
        head = self.build_layers(cfg, ch, nc, Detect, "a detection model must end in a Detect head")
        self.inplace = self.yaml.get("inplace", True)
        head.inplace = self.inplace
        self.model.eval()  # the probe must not touch BatchNorm statistics
        feats = dry_forward(self.model, self.save, torch.zeros(1, ch, _PROBE, _PROBE))
        try:
            head.stride = torch.tensor([_PROBE / f.shape[-2] for f in feats])
            self.stride = head.stride
            self.model.train()
            head.bias_init()
            initialize_weights(self)
        except Exception as e:  # a head fed maps it cannot initialise on (wrong count or shape of inputs)
            raise ConfigError(
                f"layer {head.i} ({head.type}): cannot set up the head on inputs of shapes "
                f"{[tuple(f.shape) for f in feats]}: {one_line(e, typed=True, limit=200)}; check "
                "its 'from' and args"
            ) from None
        if verbose:
            self.info()

    def load(self, weights: dict[str, Any] | nn.Module, verbose: bool = True) -> None:
        """Copy every tensor whose name and shape match from ``weights`` (a checkpoint dict or a model) into this one.

        ``DetectionModel.load`` inspects the anchor-free head's branches (``cv2``); a head without them declares
        ``load_by_name_and_shape`` and takes the plain name-and-shape transfer (ultralytics' rule for the other layers).
        """
        if not getattr(self.model[-1], "load_by_name_and_shape", False):
            super().load(weights, verbose=verbose)
            return
        src = (weights.get("ema") or weights["model"]) if isinstance(weights, dict) else weights
        csd = src.float().state_dict()
        dst = self.state_dict()
        matched = {k: v for k, v in csd.items() if k in dst and v.shape == dst[k].shape}
        self.load_state_dict(matched, strict=False)
        if verbose:
            LOGGER.info(f"Transferred {len(matched)}/{len(dst)} items from pretrained weights")

    def init_criterion(self) -> nn.Module:
        """The loss the head declares (``make_loss``: the classic YOLOv5 loss for the anchor head), else ultralytics'."""
        criterion = head_loss(self.model[-1], self)
        return criterion if criterion is not None else super().init_criterion()


def build_model(
    cfg: str | Path | dict[str, Any], nc: int | None = None, ch: int = 3, verbose: bool = False
) -> nn.Module:
    """Build a model from a YAML (path, shipped bare name, or dict) with the yolo-ghost builder.

    Detection configs give a ``YoloGhostModel``; configs ending in a registered classification head give the
    matching classifier (see ``yolo_ghost.nn.blocks``). Raises ``ConfigError`` naming the layer on any bad row.
    """
    d = load_model_cfg(cfg)
    task = model_task(d)
    if task == "classify":
        from yolo_ghost.models.classifier import YoloGhostClassifier

        return YoloGhostClassifier(d, ch=ch, nc=nc, verbose=verbose)
    model = YoloGhostModel(d, ch=ch, nc=nc, verbose=verbose)
    if verbose:
        LOGGER.info(f"built {d.get('yaml_file', 'model')}")
    return model


def load_checkpoint(
    weights: str | Path, device: str | torch.device = "cpu", fuse: bool = False, trust: bool = False
) -> nn.Module:
    """Load a yolo-ghost (or ultralytics) ``.pt`` checkpoint as an FP32 model in eval mode, EMA weights first.

    The file is read with ``torch.load(weights_only=True)`` and the allow-list of ``yolo_ghost.models.checkpoint``;
    ``trust=True`` loads a file needing other types anyway, which runs code from the file.

    Raises:
        ConfigError: the file is missing or is not a model checkpoint; ``UnsafeCheckpointError`` (a ``ConfigError``)
        when it needs a type outside the allow-list.
    """
    from ultralytics.nn.tasks import load_checkpoint as _load

    path = Path(weights)
    if not path.is_file():
        raise ConfigError(
            f"weights {str(weights)!r} not found; give a checkpoint such as runs/train/exp/weights/best.pt"
        )
    try:
        with trusted(trust):
            model, _ = _load(path, device=device, fuse=fuse)
    except UnsafeCheckpointError:
        raise
    except Exception as e:  # torch and ultralytics raise TypeError, AttributeError, OverflowError... on bad files
        raise ConfigError(
            f"weights {str(weights)!r}: not a model checkpoint ({one_line(e, typed=True, limit=300)})"
        ) from None
    return model


def model_head(cfg: str | Path | dict[str, Any], ch: int = 3) -> nn.Module:
    """The last layer of a config, built on the meta device: no weights allocated, no forward pass.

    What a head declares (its loss, loss names and training gains, ``yolo_ghost.nn.blocks.heads``) can so be asked
    before the model exists, e.g. to set the trainer's arguments.
    """
    d = load_model_cfg(cfg)
    with torch.device("meta"):
        layers, _ = parse_model(d, ch=ch)
    return layers[-1]


def model_task(d: dict[str, Any]) -> str:
    """The task of a model YAML dict: the ``task`` of its last head block when registered, else ``detect``."""
    from yolo_ghost.nn.registry import get_block, is_registered

    try:
        name = d["head"][-1][2]
    except (KeyError, IndexError, TypeError):
        return "detect"
    if isinstance(name, str) and is_registered(name):
        return get_block(name).task
    return "detect"
