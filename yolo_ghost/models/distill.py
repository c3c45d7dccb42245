"""Feature distillation from a frozen teacher (``yolo-ghost train --distill``): ultralytics' ``DistillationModel``,
asking the head what it reads.

ultralytics' ``DistillationModel`` (``ultralytics.nn.distill_model``: feature imitation where the teacher sees
objects, as in Wang et al. 2019's fine-grained imitation, with the teacher's scores as a soft mask) wraps the student
and a frozen teacher: hooks capture both models' neck features, a 1x1 projector maps the student's onto the teacher's,
and the training loss gains a ``dis_loss`` term (the L2 at each location weighted by the teacher's best class score
there, times the ``dis`` hyperparameter). Its trainer
builds it from the ``distill_model`` argument, strips the teacher from the EMA and from every checkpoint (a saved or
exported student carries no teacher), and rebuilds it from that path on resume.

Two of its rules are written for ultralytics' anchor-free heads: which layers are imitated (the ``Detect`` head's
inputs) and where the teacher's scores come from (the head's ``scores`` output). ``HeadDistillationModel`` asks the
head both (``yolo_ghost.nn.blocks.heads``: ``head_distill_layers``, ``head_distill_scores``) and leaves everything
else to ultralytics. The import path of the class is part of the format of a distillation run's ``last.pt``.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from ultralytics.nn.distill_model import DistillationModel, FeatureHook

from yolo_ghost.nn.blocks.heads import head_distill_layers, head_distill_scores

# The name DistillationModel.loss gives its term in the loss items (and so in results.csv and the progress bar).
DIS_LOSS = "dis_loss"


class HeadScoresHook(FeatureHook):
    """The teacher head's hook: stores the scores the head declares, in the ``{"scores": logits}`` form
    ``DistillationModel.loss`` reads from ultralytics' heads (the head's own output when it declares none)."""

    def __call__(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        """Store ``module``'s declared scores for ``output`` (or ``output`` itself) under this hook's level."""
        scores = head_distill_scores(module, output)
        self.feat_dict[self.idx] = output if scores is None else {"scores": scores}


class HeadDistillationModel(DistillationModel):
    """ultralytics' ``DistillationModel`` for any yolo-ghost head: the imitated layers and the teacher's per-location
    scores are those the head declares (``distill_layers``, ``distill_scores``; the anchor-based YOLOv5 head: its
    inputs, and the best anchor's objectness x class probability at each cell).

    Args:
        teacher_model: the teacher checkpoint's path or the teacher model (frozen, never saved).
        student_model: the model being trained; its ``args`` must hold ``imgsz`` and ``dis``.
    """

    @staticmethod
    def get_distill_layers(model: nn.Module) -> list[int]:
        """The imitated layers of ``model``, then its head (``yolo_ghost.nn.blocks.heads.head_distill_layers``)."""
        head = model.model[-1]
        layers = head_distill_layers(head)
        if layers is None:
            raise ValueError(f"{type(head).__name__} is not a detection head; distillation needs a detector")
        return layers

    def _register_feature_hooks(self) -> None:
        """As ultralytics, with the teacher head's hook storing the scores that head declares."""
        super()._register_feature_hooks()
        if self.teacher_model is None:  # the EMA and checkpoints: the student's hooks only
            return
        level = len(self.teacher_feats_idx) - 1  # the head's entry, after the imitated levels
        head = self.teacher_model.model[self.teacher_feats_idx[level]]
        self._clear_feature_hooks(head)  # ultralytics' plain hook, just registered
        self._teacher_hooks[level] = head.register_forward_hook(HeadScoresHook(self._teacher_feats, level))


def student_of(model: nn.Module) -> nn.Module:
    """The student of a distillation wrapper (what is saved, exported and reported), else ``model`` itself."""
    return model.student_model if isinstance(model, DistillationModel) else model


def finished_student(model: nn.Module) -> nn.Module:
    """The student of a distillation wrapper whose training is over, its feature hooks removed (as ultralytics' ``fuse``
    and ``strip_optimizer`` remove them) so that it can be copied and profiled; any other model as it is."""
    if isinstance(model, DistillationModel):
        model._remove_feature_hooks()  # the hooks hold the last batch's features, which cannot be deep-copied
    return student_of(model)


def distill_loss_names(model: nn.Module) -> tuple[str, ...]:
    """The loss terms ``model`` adds to its head's: ``dis_loss`` for a distillation wrapper, else none."""
    return (DIS_LOSS,) if isinstance(model, DistillationModel) else ()


def teacher_mismatch(teacher: nn.Module, student: nn.Module) -> str | None:
    """Why ``teacher`` cannot teach ``student`` (each level's teacher map is imitated by the student's map of the
    same size), as a clause for an error message; None when it can.

    Refused: a teacher that is no detector or is itself a distillation wrapper (an unfinished distillation run's
    checkpoint), a different number of imitated levels, or levels of other strides.
    """
    if isinstance(teacher, DistillationModel):
        return "it is an unfinished distillation run's checkpoint; give a finished run's best.pt"
    layers = [head_distill_layers(m.model[-1]) if hasattr(m, "model") else None for m in (teacher, student)]
    if layers[0] is None:
        return (
            f"it is not a detector (its last layer is {type(teacher.model[-1]).__name__}); give a detector's checkpoint"
        )
    t_levels, s_levels = len(layers[0]) - 1, len(layers[1]) - 1
    t_stride, s_stride = ([int(x) for x in m.stride.tolist()] for m in (teacher, student))
    if t_levels != s_levels:
        return (
            f"its head reads {t_levels} feature levels (strides {t_stride}) and the student's {s_levels} "
            f"({s_stride}); give a teacher whose head has {s_levels} levels, strides {s_stride}"
        )
    if t_stride != s_stride:
        return f"its levels have strides {t_stride} and the student's {s_stride}; give a teacher with the same strides"
    return None
