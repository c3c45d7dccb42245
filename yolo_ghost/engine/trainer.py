"""What yolo-ghost's trainers change in the ultralytics engine, written once for the detector and the classifier.

* ``prepare_offline``: training and evaluation never reach for the network.
* ``CpuTrainerMixin``: on CPU PyTorch gets every core and the model and images are channels-last; ``last.pt`` and
  ``best.pt`` are written through temporary files and a rename.
* ``find_last`` / ``find_resumable``: the checkpoint ``--resume`` means, and the checks its recorded arguments pass.
* ``clear_errors``: the engine's input errors as one-line ``ConfigError``.

It sits below the trainers and the validator and imports neither.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from ultralytics.utils import DEFAULT_CFG, USER_CONFIG_DIR

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.errors import one_line
from yolo_ghost.utils.atomic import atomic_write


def prepare_offline() -> None:
    """Make sure training never reaches for the network.

    * ``YOLO_OFFLINE=1`` is set when yolo_ghost is imported (``yolo_ghost.utils.offline``).
    * Every dataset check of the engine runs with downloads off (``yolo_ghost.data.no_download``).
    * ultralytics' anonymous usage events are switched off in this process.
    * The plotting font: ultralytics looks for ``Arial.ttf`` in its config folder and downloads it when missing; a
      font matplotlib ships (DejaVu Sans) is placed there under those names instead, once.
    """
    from ultralytics.utils import events

    from yolo_ghost.data import no_download
    from yolo_ghost.data.image_check import install as report_real_image_errors

    no_download.install()  # no dataset check of the engine downloads, unpacks or runs a YAML's `download:`

    report_real_image_errors()  # a skipped image's reason, not "No module named 'pi_heif'" (the plugin's install)

    events.events.enabled = False
    names = ("Arial.ttf", "Arial.Unicode.ttf")
    if all((USER_CONFIG_DIR / n).exists() for n in names):
        return
    from matplotlib import font_manager

    source = Path(font_manager.findfont("DejaVu Sans", fallback_to_default=True))
    USER_CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    for n in names:
        target = USER_CONFIG_DIR / n
        if not target.exists():
            atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))


class CpuTrainerMixin:
    """Put before an ultralytics trainer class: offline, all cores and channels-last on CPU, atomic checkpoints.

    * ultralytics gives PyTorch cpu_count - 1 threads, leaving a core to the loader: on a 2-core machine that halves
      the compute, while the loader workers of the built-in datasets leave that core mostly idle.
    * ultralytics uses NHWC on CUDA only. On CPU it pays off for the depthwise convolutions of the Ghost and
      ShuffleNet blocks, whose backward pass is much slower in NCHW (docs/notes.md).
      ``channels_last=False`` turns it off; checkpoints are saved NCHW either way (ultralytics converts them).
    """

    def __init__(self, cfg: Any = DEFAULT_CFG, overrides: dict[str, Any] | None = None, _callbacks: Any = None) -> None:
        prepare_offline()
        super().__init__(cfg, overrides, _callbacks)
        if self.device.type == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)

    def _channels_last(self) -> bool:
        return self.device.type == "cpu" and self.args.channels_last is not False

    def set_model_attributes(self) -> None:
        """As ultralytics, and on CPU also put the model in channels-last (NHWC) memory layout."""
        super().set_model_attributes()
        if self._channels_last():
            self.model = self.model.to(memory_format=torch.channels_last)

    def preprocess_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        """As ultralytics; on CPU the images go channels-last like the model (see ``set_model_attributes``)."""
        batch = super().preprocess_batch(batch)
        if self._channels_last():
            batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
        return batch

    def build_optimizer(self, *args: Any, **kwargs: Any) -> torch.optim.Optimizer:
        """As ultralytics, with the multi-tensor (``foreach``) update on CPU too.

        PyTorch picks the per-parameter loop on CPU; for the few hundred small tensors of these models the loop's
        Python overhead dominates the step, and the multi-tensor update computes bit-identical values.
        """
        optimizer = super().build_optimizer(*args, **kwargs)
        if self.device.type == "cpu" and "foreach" in optimizer.defaults:
            optimizer.defaults["foreach"] = True
            for group in optimizer.param_groups:
                group["foreach"] = True
        return optimizer

    def save_model(self) -> bool:
        """Write last.pt / best.pt through temporary files, so an interrupted save leaves the previous ones intact."""
        final = {"last": self.last, "best": self.best}
        tmp = {k: p.with_name(f".{p.stem}.tmp{os.getpid()}.pt") for k, p in final.items()}
        self.last, self.best = tmp["last"], tmp["best"]
        try:
            saved = super().save_model()
        finally:
            self.last, self.best = final["last"], final["best"]
        for k, p in tmp.items():
            if p.exists():
                os.replace(p, final[k])
        return saved


def find_last(resume: bool | str | Path, project: Path) -> Path:
    """The checkpoint ``--resume`` means: the given run folder / ``last.pt``, or (``True``) the newest under
    ``project``. Raises ``ConfigError`` when there is none."""
    if isinstance(resume, (str, Path)) and not isinstance(resume, bool):
        p = Path(resume)
        for candidate in (p, p / "weights" / "last.pt", p / "last.pt"):
            if candidate.is_file():
                return candidate.resolve()
        raise ConfigError(f"--resume {str(resume)!r}: no checkpoint there (give a run folder or its weights/last.pt)")
    runs = sorted(project.glob("*/weights/last.pt"), key=os.path.getmtime)
    if not runs:
        raise ConfigError(f"--resume: no interrupted run under {project} (no */weights/last.pt)")
    return runs[-1].resolve()


def training_finished(ckpt: dict[str, Any]) -> bool:
    """Whether a loaded ``last.pt`` is the checkpoint of a finished run (the trainer strips it at the end, setting
    ``epoch`` to -1)."""
    return int(ckpt.get("epoch", 0) or 0) == -1


def find_resumable(resume: bool | str | Path, project: Path, check_data: Callable[[str], Any]) -> tuple[Path, Path]:
    """The ``last.pt`` that ``--resume`` means and its run folder, after checking what the checkpoint asks for.

    A checkpoint's ``train_args`` decide where the resumed run writes and what it reads, so they pass the checks a new
    run's flags pass: the run folder must lie inside ``project``, and ``check_data`` (the task's ``--data`` check)
    must accept the dataset. A finished run is refused here, before a trainer is made (ultralytics refuses it only
    after creating a new run folder).

    Raises:
        ConfigError: no checkpoint, a finished run, a run folder outside ``project``, or a dataset ``--data`` would
            refuse.
    """
    from yolo_ghost.models.checkpoint import read_checkpoint

    last = find_last(resume, project)
    ckpt = read_checkpoint(last)
    args = ckpt.get("train_args") if isinstance(ckpt, dict) else None
    if not isinstance(args, dict):
        raise ConfigError(f"--resume {str(last)!r}: the checkpoint records no training arguments; start a new run")
    if training_finished(ckpt):
        raise ConfigError(
            f"--resume {str(last)!r}: that run finished its {args.get('epochs', 'its')} epochs, nothing to resume; "
            f"start a new run, e.g. with --weights {last.parent / 'best.pt'}"
        )
    save_dir = Path(str(args.get("save_dir") or last.parent.parent))
    root = project.resolve()
    if root not in save_dir.resolve().parents:
        raise ConfigError(
            f"--resume {str(last)!r}: it writes to {str(save_dir)!r}, outside --project {str(root)!r}; resume it with "
            "--project set to the folder that holds that run"
        )
    if not args.get("data"):
        raise ConfigError(f"--resume {str(last)!r}: the checkpoint records no dataset; start a new run")
    check_data(str(args["data"]))
    return last, save_dir.resolve()


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn the engine's errors about unusable input into ``ConfigError`` (one line, no traceback in the CLI)."""
    try:
        yield
    except AssertionError as e:  # ultralytics asserts when a resumed run has nothing left to do
        raise ConfigError(one_line(e)) from None
    except FileNotFoundError as e:  # a missing split, or one holding no images
        raise ConfigError(f"dataset: {one_line(e)}") from None
    except ValueError as e:
        if "No labels found in" not in str(e):
            raise
        raise ConfigError(
            f"dataset: {_without_help_url(e)} (a YOLO dataset keeps one .txt per image in a labels/ folder beside "
            "images/, same path and name: images/train/0.jpg -> labels/train/0.txt)"
        ) from None
    except RuntimeError as e:
        if str(e).startswith("No valid images found in"):  # every image of a split skipped, one reason a line
            head, _, issues = str(e).partition("\n")
            first = one_line(Exception(issues.strip().splitlines()[0])) if issues.strip() else ""
            raise ConfigError(
                f"dataset: {one_line(Exception(head)).rstrip('.')}: every image was skipped as corrupt"
                + (f"; the first: {first}" if first else "")
            ) from None
        if not str(e).startswith("Dataset "):  # ultralytics wraps every dataset-check failure so
            raise
        raise ConfigError(one_line(e)) from None


def _without_help_url(e: BaseException) -> str:
    return re.sub(r"\s*See https?://\S+[^.]*\.?", "", one_line(e)).rstrip(". ") + "."
