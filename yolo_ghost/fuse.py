"""Conv+BatchNorm folding for inference, for every block in the registry.

Three rules cover every block (a fourth turns a BatchNorm with no conv before it, a YAML ``nn.BatchNorm2d``
row, into an exact 1x1 depthwise conv): a module holding a ``conv`` (``nn.Conv2d``) and a ``bn`` (``nn.BatchNorm2d``)
applied right after it (the ultralytics ``Conv`` unit that all our blocks are made of); an ``nn.Sequential`` in
which a ``BatchNorm2d`` directly follows a ``Conv2d``; and a block-specific ``fuse_bn()`` method for the few
blocks whose BatchNorm does not sit behind a single conv (BottleneckCSP normalises a concatenation).
``fuse_model`` then checks that no BatchNorm is left, so a new block that escapes all three rules fails loudly.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.utils.torch_utils import fuse_conv_and_bn


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Return a conv with ``bn`` folded into its weight and bias (exact in eval mode)."""
    return fuse_conv_and_bn(conv, bn)


def _fuse_sequential(seq: nn.Sequential) -> None:
    names = list(seq._modules)
    for a, b in zip(names, names[1:]):
        conv, bn = seq._modules[a], seq._modules[b]
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            seq._modules[a] = fold_bn(conv, bn)
            seq._modules[b] = nn.Identity()


def bn_as_conv(bn: nn.BatchNorm2d) -> nn.Conv2d:
    """An exact 1x1 depthwise conv for a BatchNorm with no conv in front of it (a YAML ``nn.BatchNorm2d`` row)."""
    c = bn.num_features
    conv = nn.Conv2d(c, c, 1, groups=c, bias=False).to(bn.running_mean.device)
    nn.init.ones_(conv.weight)
    return fold_bn(conv, bn)


def _replace_standalone_bn(model: nn.Module) -> None:
    if isinstance(model, nn.BatchNorm2d):
        return  # a bare BatchNorm as the root cannot replace itself; fuse_model reports it
    for name, child in list(model.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            setattr(model, name, _with_yaml_attrs(bn_as_conv(child), child))
        else:
            _replace_standalone_bn(child)


def _with_yaml_attrs(new: nn.Module, old: nn.Module) -> nn.Module:
    for attr in ("i", "f", "type", "np", "yaml_row"):  # keep what BaseModel and the profiler read on a layer
        if hasattr(old, attr):
            setattr(new, attr, getattr(old, attr))
    return new


@torch.no_grad()
def fuse_model(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm of ``model`` into the convolution before it, in place, and return the model.

    Raises:
        RuntimeError: a BatchNorm is left that none of the rules could fold; the message names it so the block's
            author can add a ``fuse_bn()`` method.
    """
    was_training = model.training
    model.eval()
    for m in list(model.modules()):
        if hasattr(m, "fuse_bn") and callable(m.fuse_bn):
            m.fuse_bn()
    for m in list(model.modules()):
        conv, bn = getattr(m, "conv", None), getattr(m, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            m.conv = fold_bn(conv, bn)
            if hasattr(m, "forward_fuse"):  # ultralytics Conv: drop the attribute so its is_fused() agrees
                delattr(m, "bn")
                m.forward = m.forward_fuse
            else:
                m.bn = nn.Identity()
        elif isinstance(m, nn.Sequential):
            _fuse_sequential(m)
    _replace_standalone_bn(model)
    left = [name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if left:
        raise RuntimeError(
            f"fuse: {len(left)} BatchNorm layer(s) could not be folded, e.g. {left[:3]}; give the block a "
            "fuse_bn() method or build it from ultralytics Conv units"
        )
    model.train(was_training)
    return model


def count_batchnorms(model: nn.Module) -> int:
    """Number of BatchNorm layers in ``model`` (zero after ``fuse_model``)."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
