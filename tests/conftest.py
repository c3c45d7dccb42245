"""Test session setup: keep ultralytics' settings and the dataset cache out of $HOME, never touch the network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before anything imports ultralytics: it reads these at import time.
_TMP = Path(tempfile.mkdtemp(prefix="yolo_ghost_tests_"))
os.environ.setdefault("YOLO_CONFIG_DIR", str(_TMP / "ultralytics"))
os.environ.setdefault("YOLO_GHOST_CACHE", str(_TMP / "cache"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def randomize_bn():
    """Give every BatchNorm non-trivial statistics so that fusion tests can fail."""

    def apply(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
        g = torch.Generator().manual_seed(seed)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                with torch.no_grad():
                    m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                    m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                    m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=g) * 0.1)
        return model

    return apply


@pytest.fixture
def ema_decays(monkeypatch):
    """The weight EMA's ``(update number, decay)`` at every update of the runs in the test (``yolo_ghost.engine.ema``:
    the schedule a trainer gave it, read back where ultralytics reads it)."""
    from ultralytics.utils.torch_utils import ModelEMA

    decays: list[tuple[int, float]] = []
    update = ModelEMA.update
    monkeypatch.setattr(
        ModelEMA,
        "update",
        lambda self, m: decays.append((self.updates + 1, self.decay(self.updates + 1))) or update(self, m),
    )
    return decays
