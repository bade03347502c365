"""Fine-tune an extracted subnet with the loss it learnt with inside the supernet, resumably.

That loss is the recipe's: distillation from the largest subnet (fed its own resolution), or the
labels where the recipe's students learn from them (`distill: none`). The learning rate is the last
phase's peak, decayed by a cosine over the fine-tuning epochs. A checkpoint is written after every
epoch; running again continues after the last finished epoch, with the same data order as an
uninterrupted run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ofa.errors import OfaError
from ofa.train.bn_calibration import resize
from ofa.train.checkpoint import checkpoint_paths, load_checkpoint, restore_rng, save_checkpoint
from ofa.train.recipe import Recipe
from ofa.train.optimizer import build_optimizer
from ofa.train.losses import distill_loss

Progress = Callable[[str, int, int], None]


def finetune(student: nn.Module, teacher: nn.Module, recipe: Recipe, epochs: int, folder: Path,
             device: torch.device, data_root: str | None = None, download: bool = False,
             progress: Progress | None = None, lr_scale: float = 1.0, data: str | None = None) -> list[dict]:
    """Train `student` in place for `epochs` on the 'train' split of `data` (default: the recipe's); returns
    one row per epoch (loss, learning rate)."""
    if epochs < 1:
        raise OfaError(f"fine-tuning needs at least one epoch, got {epochs}")
    data = recipe.dataset("train", augment=recipe.augment, root=data_root, download=download, data=data)
    resolution, teacher_resolution = student.config.resolution, teacher.config.resolution
    student.to(device)
    teacher.to(device).eval()
    optimizer = build_optimizer(student, recipe)
    peak = recipe.phase_lr(len(recipe.phases) - 1) * lr_scale
    steps_per_epoch = math.ceil(len(data.dataset) / recipe.batch_size)
    total = epochs * steps_per_epoch
    subnet_id = {"subnet_config": student.config.to_dict(), "epochs": epochs}
    history: list[dict] = []
    start_epoch = 0
    if checkpoint_paths(folder)["manifest"].is_file():
        weights, state = load_checkpoint(folder)
        if state.get("subnet_config") != subnet_id["subnet_config"] or state.get("epochs") != epochs:
            raise OfaError(f"{folder} holds fine-tuning of another subnet or length; remove it to start again")
        student.load_state_dict(weights)
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = int(state["epoch"]) + 1, list(state["history"])
        restore_rng(state["rng"])  # augmentation draws continue as if never interrupted
    for epoch in range(start_epoch, epochs):
        order = torch.Generator().manual_seed(recipe.seed * 1000 + epoch)
        loader = torch.utils.data.DataLoader(data.dataset, batch_size=recipe.batch_size, shuffle=True,
                                             generator=order, drop_last=False)
        student.train()
        losses = []
        for i, (x, y) in enumerate(loader):
            step = epoch * steps_per_epoch + i
            lr = 0.5 * peak * (1 + math.cos(math.pi * step / total))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = x.to(device), y.to(device)
            with torch.no_grad():  # the teacher at its own resolution, as it taught inside the supernet
                soft = teacher(resize(x, teacher_resolution))
            loss = distill_loss(recipe, student(resize(x, resolution)), soft, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if progress:
                progress("fine-tune", step + 1, total)
        history.append({"epoch": epoch + 1, "loss": sum(losses) / max(1, len(losses)), "lr_last": lr})
        save_checkpoint(folder, student.state_dict(),
                        {**subnet_id, "epoch": epoch, "optimizer": optimizer.state_dict(), "history": history})
    student.eval()
    return history
