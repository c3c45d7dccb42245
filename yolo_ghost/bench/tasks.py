"""What the bench does differently per task, described once as data: one ``BenchTask`` per model task.

The bench (``yolo_ghost.bench.runner``) trains, scores, profiles and times configs of one task. Everything that depends on
the task is here: how a config is trained and a checkpoint scored, which per-run metrics are kept (detectors: mAP by
pycocotools; classifiers: top-1 / top-5 of the ultralytics classification validator), which of them get a Welch
interval to the baseline, the headline metric of the Pareto fronts and verdicts, the ``results.csv`` columns of the
learning curves, the default dataset and the default recipe. ``bench_task_of`` picks the task of a list of configs
and refuses a mix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_ghost.cfg import ConfigError, load_model_cfg, resolve_model_cfg
from yolo_ghost.data.resolve import resolve_data
from yolo_ghost.engine.classify import train as train_cls
from yolo_ghost.engine.detect import train as train_det
from yolo_ghost.engine.detect.train import YOLOV5_TRAIN_HYP, load_hyp, train
from yolo_ghost.engine.detect.val import evaluate
from yolo_ghost.engine.hyp import check_hyp
from yolo_ghost.engine.run import TrainTask
from yolo_ghost.models.yolo import model_task


@dataclass(frozen=True)
class BenchTask:
    """How the bench handles the configs of one task.

    Attributes:
        name: the task as ``yolo_ghost.models.yolo.model_task`` names it (``detect``, ``classify``).
        kind: the word for one config of this task in messages (``detector``, ``classifier``).
        default_data: the dataset a bench trains on when none is given.
        metrics: the per-run metric keys ``score`` returns, in table order; each row holds their mean and std.
        compared: the metrics with a Welch interval of the difference to the baseline; the first is the headline
            (Pareto fronts, verdicts, the ratio column, the plateau rule of the learning curves).
        labels: how each metric is printed.
        curve_columns: ``{curve key: results.csv column}`` of the per-epoch validation curve.
        scoring: one sentence for the report on how the metrics were obtained.
        recipe: ``data -> {"epochs", "imgsz", "batch", "workers", "hyp"}``, the default recipe; ``hyp`` is recorded in
            ``settings.json`` in full so that a resumed bench trains its remaining runs as its first ones.
        check_data: raises ``ConfigError`` for a dataset this task cannot use.
        train: trains one run: ``train(cfg, data=, epochs=, imgsz=, batch=, device=, workers=, hyp=, seed=,
            project=, name=, exist_ok=, resume=, plots=)``.
        score: ``score(checkpoint, data, imgsz, save_dir) -> {metric: value}`` on the dataset's evaluation split
            (detectors: val; classifiers: a held-out test split when there is one, else val).
        check_hyp: ``check_hyp(hyp, source)`` raises ``ConfigError`` (naming ``source``) for a recorded hyp that
            ``--hyp`` would refuse.
    """

    name: str
    kind: str
    default_data: str
    metrics: tuple[str, ...]
    compared: tuple[str, ...]
    labels: Mapping[str, str]
    curve_columns: Mapping[str, str]
    scoring: str
    recipe: Callable[[str], dict[str, Any]]
    check_data: Callable[[str], Any]
    train: Callable[..., Any]
    score: Callable[[str, str, int, Path], dict[str, float]]
    check_hyp: Callable[[Mapping[str, Any], str], Any]

    @property
    def headline(self) -> str:
        """The metric the comparison is about (mAP50-95, top-1)."""
        return self.compared[0]

    def label(self, key: str) -> str:
        """How ``key`` is printed (``map50_95`` -> ``mAP50-95``)."""
        return self.labels.get(key, key)


def _recipe_of(task: TrainTask) -> Callable[[str], dict[str, Any]]:
    """The bench's recipe of a dataset: the training task's ``Recipe`` for it, its hyp in full (over the base hyp)."""

    def recipe(data: str) -> dict[str, Any]:
        r = task.recipe(data)
        return {
            "epochs": r.epochs, "imgsz": r.imgsz, "batch": r.batch, "workers": r.workers,
            "hyp": {**task.base_hyp, **r.hyp},
        }  # fmt: skip

    return recipe


def recorded_hyp(hyp: Mapping[str, Any]) -> dict[str, Any]:
    """A bench's recorded hyperparameters as its runs trained: every key of ``YOLOV5_TRAIN_HYP`` it lacks takes
    YOLOv5's value."""
    # A recorded recipe holds every key YOLOV5_TRAIN_HYP had when its bench began; a key added since (the EMA's) takes
    # YOLOv5's value, which is how those runs trained, and not the dataset's current recipe.
    return {**YOLOV5_TRAIN_HYP, **hyp}


def _check_detector_hyp(hyp: Mapping[str, Any], source: str) -> None:
    # the check `train --hyp` applies (yolo_ghost.engine.detect.train.load_hyp), on the hyp the runs train with
    if not isinstance(hyp, Mapping):  # load_hyp would take it for a file name
        check_hyp(hyp, source)
    try:
        load_hyp(recorded_hyp(hyp))
    except ConfigError as e:
        raise ConfigError(f"{source}: {str(e).removeprefix('--hyp: ')}") from None


def _train_detector(cfg: str, hyp: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return train(cfg, hyp=None if hyp is None else recorded_hyp(hyp), **kwargs)


def _score_detector(ckpt: str, data: str, imgsz: int, save_dir: Path) -> dict[str, float]:
    metrics = evaluate(ckpt, data, imgsz=imgsz, save_dir=save_dir, verbose=False)
    coco = metrics["pycocotools"]
    return {
        "map50_95": float(coco["AP50-95"]),
        "map50": float(coco["AP50"]),
        "map75": float(coco["AP75"]),
        "ultralytics_map50_95": float(metrics["ultralytics"]["mAP50-95"]),
    }


def _score_classifier(ckpt: str, data: str, imgsz: int, save_dir: Path) -> dict[str, float]:
    m = train_cls.validate_classifier(ckpt, data=data, imgsz=imgsz, project=save_dir.parent, name=save_dir.name,
                                      exist_ok=True, split=train_cls.eval_split(data))  # fmt: skip
    return {"top1": float(m["top1"]), "top5": float(m["top5"])}


DETECT = BenchTask(
    name="detect",
    kind="detector",
    default_data="shapes",
    metrics=("map50_95", "map50", "map75", "ultralytics_map50_95"),
    compared=("map50_95", "map50"),
    labels={
        "map50_95": "mAP50-95",
        "map50": "mAP50",
        "map75": "mAP75",
        "ultralytics_map50_95": "mAP50-95 (ultralytics)",
    },
    curve_columns={"map50_95": "metrics/mAP50-95(B)", "map50": "metrics/mAP50(B)"},
    scoring="mAP by pycocotools on the val split",
    recipe=_recipe_of(train_det.DETECT),
    check_data=resolve_data,
    train=_train_detector,
    score=_score_detector,
    check_hyp=_check_detector_hyp,
)
CLASSIFY = BenchTask(
    name="classify",
    kind="classifier",
    default_data=train_cls.DEFAULT_DATA,
    metrics=("top1", "top5"),
    compared=("top1", "top5"),
    labels={"top1": "top-1", "top5": "top-5"},
    curve_columns=train_cls.CLS_CURVE_COLUMNS,
    scoring="top-1 / top-5 of best.pt on the held-out test split, or the val split when the dataset has no test split "
    "(ultralytics classification validator)",
    recipe=_recipe_of(train_cls.CLASSIFY),
    check_data=train_cls.resolve_cls_data,
    train=train_cls.train_classifier,
    score=_score_classifier,
    check_hyp=check_hyp,  # what train_classifier applies to the hyp it is given
)
TASKS: dict[str, BenchTask] = {t.name: t for t in (DETECT, CLASSIFY)}


def model_name(cfg: str | Path) -> str:
    """The row name of a config: its file stem (``yolov5s-ghost.yaml`` -> ``yolov5s-ghost``)."""
    return Path(str(cfg)).stem


# The row of a config trained with a teacher (`bench --distill CFG=TEACHER.pt`) is the config's name with this suffix.
DISTILLED = "+distill"


def bench_rows(cfgs: Sequence[str], distill: Mapping[str, str] | None = None) -> list[tuple[str, str, str | None]]:
    """The rows of a bench in report order, as ``(row name, config, teacher checkpoint or None)``: each config's own
    row, followed by its distilled row (``yolov5n-ghost+distill``) when ``distill`` (``{config name: teacher}``)
    names it, so that one bench holds a config with and without its teacher."""
    rows: list[tuple[str, str, str | None]] = []
    for cfg in cfgs:
        name = model_name(cfg)
        rows.append((name, cfg, None))
        if distill and name in distill:
            rows.append((name + DISTILLED, cfg, distill[name]))
    return rows


def get_bench_task(name: str | None) -> BenchTask:
    """The task named ``name``; ``None`` (a bench folder from before classifiers) is ``detect``."""
    try:
        return TASKS[name or "detect"]
    except KeyError:
        raise ConfigError(f"bench: unknown task {name!r}; known: {', '.join(TASKS)}") from None


def bench_task_of(cfgs: Sequence[str]) -> BenchTask:
    """The one task of ``cfgs`` (each must exist).

    Raises:
        ConfigError: a config is missing, or the configs mix tasks (one line naming one config of each).
    """
    tasks: dict[str, str] = {}
    for c in cfgs:
        resolve_model_cfg(c)  # raises with suggestions when missing
        tasks.setdefault(model_task(load_model_cfg(c)), c)
    if len(tasks) > 1:
        (ta, a), (tb, b) = list(tasks.items())[:2]
        raise ConfigError(
            f"bench: {a} is a {get_bench_task(ta).kind} config and {b} a {get_bench_task(tb).kind} config; "
            "one bench compares configs of one task, run one bench per task"
        )
    return get_bench_task(next(iter(tasks), None))
