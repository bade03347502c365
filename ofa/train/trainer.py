"""`train_supernet`: progressive shrinking with the sandwich rule and in-place distillation.

Each step: the largest subnet of the phase learns from the labels; the smallest and N random
subnets learn from its detached output (alpha-divergence, KL, or labels). Every rank draws the
same subnets from a generator seeded by (seed, step), so no communication is needed for it.
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ofa.errors import Interrupted, OfaError
from ofa.files import write_atomic
from ofa.outputs import output_lock
from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet, sample_subnet
from ofa.supernet.elastic import set_batchnorm_sync
from ofa.supernet.static import set_drop_connect, zero_init_residual_bn
from ofa.supernet.supernet import Supernet
from ofa.train.bn_calibration import recalibrate_bn, resize
from ofa.train.checkpoint import has_checkpoint, load_checkpoint, restore_rng, save_checkpoint
from ofa.train.distributed import World, barrier, init_world, shutdown
from ofa.train.accuracy import evaluate
from ofa.train.init_from import check_start, load_start, start_weights
from ofa.train.losses import distill_loss, label_smoothing_ce
from ofa.train.optimizer import build_optimizer
from ofa.train.recipe import Phase, Recipe, recipe_from_dict
from ofa.train.run_folder import RunFolder, plot_accuracy, swap_in, work_folder
from ofa.train.sampler import EpochSeededDataset, ResumableBatchSampler, epoch_generator, steps_per_epoch
from ofa.train.schedule import phase_lr
from ofa.train.stopping import StopRequests
from ofa.train.teacher import load_teacher
from ofa.train.watched import validation_subnets

StepCallback = Callable[[dict[str, Any]], None]


@dataclass
class Position:
    """Where training stands: `step` batches of `epoch` of `phase` are done."""

    phase: int = 0
    epoch: int = 0
    step: int = 0
    global_step: int = 0

    @property
    def at_phase_start(self) -> bool:
        return self.epoch == 0 and self.step == 0


@dataclass
class TrainResult:
    folder: Path
    global_step: int
    final: list[dict[str, Any]] = field(default_factory=list)  # last validation rows


def _plain(data: Any) -> Any:
    """Tuples and lists compare equal after a trip through JSON."""
    return json.loads(json.dumps(data))


def pick_device(wanted: str) -> torch.device:
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise OfaError(f"the recipe asks for device '{wanted}' but no CUDA GPU is available; use --device cpu")
    return torch.device(wanted)


class _Loaders:
    """Training batches, BN-calibration batches and validation batches of one run."""

    def __init__(self, recipe: Recipe, world: World, data_root: str | None, download: bool):
        self.train = recipe.dataset("train", augment=recipe.augment, root=data_root, download=download)
        if not self.train.num_classes:
            raise OfaError(f"{self.train.name} holds images without class folders: training needs labels "
                           f"(PATH/<class>/<image>)")
        self.plain = recipe.dataset("train", root=data_root, download=download)
        self.val = recipe.dataset("val", root=data_root, download=download)
        self.sampler = ResumableBatchSampler(len(self.train.dataset), recipe.batch_size, recipe.seed,
                                             world.rank, world.size)
        self.items = EpochSeededDataset(self.train.dataset, recipe.seed)
        self.workers = recipe.workers
        self.recipe = recipe
        self.memory_format = torch.channels_last if recipe.channels_last else torch.contiguous_format

    def epoch(self, epoch_id: int, start_step: int):
        self.sampler.set_position(epoch_id, start_step)
        self.items.set_epoch(epoch_id)
        return torch.utils.data.DataLoader(self.items, batch_sampler=self.sampler, num_workers=self.workers,
                                           persistent_workers=False, generator=epoch_generator(self.recipe.seed, epoch_id))

    def calibration(self, batch_size: int = 100):
        g = torch.Generator().manual_seed(self.recipe.seed)
        n = min(self.recipe.bn_calib_images, len(self.plain.dataset))
        subset = torch.utils.data.Subset(self.plain.dataset, torch.randperm(len(self.plain.dataset), generator=g)[:n].tolist())
        return torch.utils.data.DataLoader(subset, batch_size=batch_size, num_workers=self.workers)

    def validation(self, batch_size: int = 200):
        return torch.utils.data.DataLoader(self.val.dataset, batch_size=batch_size, num_workers=self.workers)


def validate_subnets(model: Supernet, subnets: dict[str, Subnet], loaders: _Loaders, device: torch.device,
                     num_images: int) -> dict[str, dict[str, float]]:
    """Each subnet extracted, BN re-calibrated on training images, then evaluated; the
    supernet itself is left untouched, and no global random state is consumed."""
    results = {}
    with torch.random.fork_rng(devices=[]):
        for name, subnet in subnets.items():
            static = model.extract(subnet).to(device, memory_format=loaders.memory_format)
            recalibrate_bn(static, loaders.calibration(), num_images, subnet.resolution, device)
            acc = evaluate(static, loaders.validation(), subnet.resolution, device)
            results[name] = {"subnet": str(subnet), "top1": acc.top1, "top5": acc.top5, "loss": acc.loss}
    return results


def train_supernet(
    recipe: Recipe,
    out: str | Path,
    resume: bool = False,
    force: bool = False,
    data_root: str | None = None,
    download: bool = False,
    on_step: StepCallback | None = None,
    on_validate: Callable[[list[dict[str, Any]]], None] | None = None,
    again: str | None = None,
) -> TrainResult:
    """Train (or resume) a supernet run in `out`; see the module docstring for the step. `again`:
    what to run to continue after SIGINT or SIGTERM (default: `ofa train-supernet --out OUT --resume`)."""
    from ofa.spaces import get_space

    device = pick_device(recipe.device)
    world = init_world(device)
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank) if device.index is None else device
        torch.cuda.set_device(device)
    try:
        # before any data is read: a bad --out is one line, at once; a second command training into
        # the same --out stops there too
        folder = work_folder(Path(out), resume, force)
        with output_lock(Path(out)) if world.is_main else contextlib.nullcontext():
            return _train(recipe, Path(out), folder, resume, data_root, download, on_step, on_validate, again, device,
                          world, get_space(recipe.space))
    finally:
        shutdown(world)


def _train(recipe, out: Path, folder: RunFolder, resume, data_root, download, on_step, on_validate, again, device,
           world, space) -> TrainResult:
    # Every input is read before the run folder is touched: bad input must not cost a --force'd run.
    starting = recipe.init_from is not None and not (resume and has_checkpoint(folder.checkpoints))
    # a resumed transfer continues from its checkpoint, not from where it started
    started_from = check_start(recipe.init_from, space) if starting else None
    loaders = _Loaders(recipe, world, data_root, download)
    teacher = load_teacher(recipe.teacher, device, loaders.train.num_classes)
    start = start_weights(recipe.init_from, started_from, loaders.train.classes)[0] if starting else None
    if world.is_main:
        folder.prepare(resume)
    barrier(world)
    torch.manual_seed(recipe.seed)
    np.random.seed(recipe.seed)
    model = Supernet(space, loaders.train.num_classes, recipe.init).to(device)
    if start is not None:  # a transfer: every trained weight kept (the classifier where the classes match)
        load_start(model, start, recipe.init_from)
    elif recipe.zero_init_residual:
        zero_init_residual_bn(model)
    model = model.to(memory_format=loaders.memory_format)
    position = Position()
    optimizer_state = None
    if resume:
        # a run stopped before its first checkpoint starts again from the beginning, as it was begun
        found = has_checkpoint(folder.checkpoints)
        if found:
            weights, state = load_checkpoint(folder.checkpoints, expect={"space_fingerprint": space.fingerprint()})
        started = state.get("recipe") if found else folder.read_recipe()
        if _plain(_as_now(started)) != _plain(recipe.to_dict()):
            raise OfaError(f"{folder.root}: the recipe differs from the one this run started with "
                           f"(see {folder.recipe}); resume without changing it")
        if folder.weights.is_file():  # its results stay as they are
            raise OfaError(f"{folder.root} has finished training: there is nothing to resume (retrain it with "
                           f"--force instead of --resume)")
        if found:
            try:
                model.load_state_dict(weights)
            except RuntimeError as e:
                raise OfaError(f"checkpoint in {folder.checkpoints} does not fit the supernet: "
                               f"{str(e).splitlines()[0]}") from None
            try:
                position = Position(**state["position"])
                restore_rng(state["rng"])
            except (TypeError, ValueError, KeyError) as e:
                raise OfaError(f"checkpoint in {folder.checkpoints} holds a malformed training state "
                               f"({type(e).__name__}); it cannot be resumed") from None
            optimizer_state = state.get("optimizer")
        if world.is_main:
            folder.truncate_metrics(position.global_step)
    elif world.is_main:
        folder.write_info({"space": space.name, "space_fingerprint": space.fingerprint(),
                           "num_classes": loaders.train.num_classes, "classes": list(loaders.train.classes),
                           "data": recipe.data}, recipe.to_dict())

    net: nn.Module = model
    if world.distributed:
        # One wrapper for the whole run: a second DDP on the same module would reduce twice.
        set_batchnorm_sync(model, torch.distributed.group.WORLD)
        with warnings.catch_warnings():  # broadcast_buffers=False is still the way to skip buffer syncs
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True, broadcast_buffers=False)
    spe = steps_per_epoch(len(loaders.train.dataset), recipe.batch_size)
    epochs_before = [sum(p.epochs for p in recipe.phases[:i]) for i in range(len(recipe.phases))]
    all_steps = spe * sum(p.epochs for p in recipe.phases)
    val_nets = validation_subnets(space, recipe.seed)
    last_rows: list[dict[str, Any]] = []
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())

    def checkpoint(pos: Position, optimizer) -> None:
        if world.is_main:
            state = {"position": vars(pos).copy(), "recipe": recipe.to_dict(),
                     "space_fingerprint": space.fingerprint()}
            if optimizer is not None:
                state["optimizer"] = optimizer.state_dict()
            save_checkpoint(folder.checkpoints, model.state_dict(), state)
        barrier(world)

    def validate(pos: Position, phase_index: int, epoch: int) -> list[dict[str, Any]]:
        rows = []
        if world.is_main:
            results = validate_subnets(model, val_nets, loaders, device, recipe.bn_calib_images)
            for name, r in results.items():
                rows.append({"kind": "val", "phase": phase_index, "phase_name": recipe.phases[phase_index].name,
                             "epoch": epoch + 1, "epoch_total": epochs_before[phase_index] + epoch + 1,
                             "global_step": pos.global_step, "name": name, **r})
            folder.append_metrics(rows)
            plot_accuracy(folder.read_metrics(), folder.plot, f"{space.name} on {recipe.data}")
            if on_validate:
                on_validate(rows)
        barrier(world)
        model.train()
        return rows

    command = f"train-supernet --out {shlex.quote(str(out))} --resume"
    command = again or (f"torchrun ... -m ofa {command}" if world.distributed else f"ofa {command}")

    def stop_if_asked(pos: Position, optimizer) -> None:
        signum = stops.requested()
        if signum is None:
            return
        checkpoint(pos, optimizer)
        raise Interrupted(f"stopped by {signal.Signals(signum).name} at step {pos.global_step}; checkpoint written "
                          f"in {folder.checkpoints}; continue with: {command}", signum)

    def at_once(signum: int) -> Interrupted:
        step = folder.step()
        last = (f"the last checkpoint (step {step}) is in {folder.checkpoints}" if step is not None
                else "no checkpoint yet: it starts again from the beginning")
        return Interrupted(f"stopped at once by a second {signal.Signals(signum).name}; {last}; continue with: "
                           f"{command}", signum)

    with StopRequests(world, at_once) as stops:
        for phase_index in range(position.phase, len(recipe.phases)):
            phase = recipe.phases[phase_index]
            phase_space = recipe.phase_space(phase_index, space)
            if position.at_phase_start and phase.reorder_channels:
                model.reorder_channels()
            optimizer = build_optimizer(model, recipe)
            if optimizer_state is not None and not position.at_phase_start:
                optimizer.load_state_dict(optimizer_state)
            optimizer_state = None
            peak = recipe.phase_lr(phase_index)
            total_steps = phase.epochs * spe
            warmup_steps = int(round(phase.warmup_epochs * spe))
            model.train()
            for epoch in range(position.epoch, phase.epochs):
                sums: dict[str, float] = {}
                started, images = time.perf_counter(), 0
                for step, (x, y) in enumerate(loaders.epoch(epochs_before[phase_index] + epoch, position.step),
                                              start=position.step):
                    step_in_phase = epoch * spe + step
                    lr = phase_lr(peak, step_in_phase, total_steps, warmup_steps)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    x = x.contiguous(memory_format=loaders.memory_format)
                    losses = _sandwich_step(recipe, model, net, teacher, phase, phase_space, x, y, optimizer,
                                            autocast, position.global_step)
                    position = Position(phase_index, epoch, step + 1, position.global_step + 1)
                    images += x.shape[0] * world.size
                    for k, v in losses.items():
                        sums[k] = sums.get(k, 0.0) + v
                    if on_step and world.is_main:
                        elapsed = time.perf_counter() - started
                        on_step({"phase": phase.name, "phase_index": phase_index, "phases": len(recipe.phases),
                                 "epoch": epoch + 1, "epochs": phase.epochs, "step": step + 1, "steps": spe,
                                 "global_step": position.global_step, "total_steps": all_steps, "lr": lr, **losses,
                                 "images_per_s": images / elapsed if elapsed > 0 else 0.0})
                    if recipe.checkpoint_every and position.global_step % recipe.checkpoint_every == 0:
                        checkpoint(position, optimizer)
                    stop_if_asked(position, optimizer)
                n = max(1, position.step)
                if world.is_main and sums:
                    folder.append_metrics([{"kind": "train", "phase": phase_index, "phase_name": phase.name,
                                            "epoch": epoch + 1, "global_step": position.global_step, "lr": lr,
                                            **{k: v / n for k, v in sums.items()},
                                            "images_per_s": images / max(1e-9, time.perf_counter() - started)}])
                last_epoch = epoch + 1 == phase.epochs
                if last_epoch or (recipe.validate_every and (epoch + 1) % recipe.validate_every == 0):
                    last_rows = validate(position, phase_index, epoch)
                position = Position(phase_index, epoch + 1, 0, position.global_step)
                stop_if_asked(position, optimizer)
            position = Position(phase_index + 1, 0, 0, position.global_step)
            checkpoint(position, None)

    if world.is_main:
        from safetensors.torch import save

        write_atomic(folder.weights, save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
        if folder.root != out:
            swap_in(folder, out)
    barrier(world)
    return TrainResult(out, position.global_step, last_rows)


def _as_now(recipe: dict | None) -> dict | None:
    """A recipe as recorded when a run started, with fields added since then at their defaults."""
    try:
        return recipe_from_dict(recipe).to_dict()
    except OfaError:
        return recipe


def regularize(model: Supernet, recipe: Recipe, on: bool) -> None:
    """The space's dropout and the recipe's drop-connect, on or off."""
    model.head.dropout.p = model.space.dropout if on else 0.0
    set_drop_connect(model, recipe.drop_connect if on else 0.0)


def _sandwich_step(recipe: Recipe, model: Supernet, net: nn.Module, teacher: nn.Module | None, phase: Phase,
                   phase_space: SearchSpace, x: torch.Tensor, y: torch.Tensor,
                   optimizer: torch.optim.Optimizer, autocast, global_step: int) -> dict[str, float]:
    rng = np.random.default_rng([recipe.seed, global_step])
    optimizer.zero_grad(set_to_none=True)
    regularize(model, recipe, True)
    largest = model.set_active(sample_subnet(phase_space, "max"))
    with autocast:
        logits = net(resize(x, largest.resolution)).float()
    loss = label_smoothing_ce(logits, y, recipe.label_smoothing)
    loss.backward()
    out = {"loss_max": loss.item()}
    if teacher is not None:
        with torch.no_grad(), autocast:
            soft = teacher(resize(x, teacher.config.resolution)).float()
    else:
        soft = logits.detach()
    smallest = sample_subnet(phase_space, "min")
    students = ([smallest] if phase.with_smallest and smallest != largest else [])
    students += [sample_subnet(phase_space, "uniform", rng) for _ in range(phase.subnets_per_step)]
    if students and recipe.regularize == "largest":
        regularize(model, recipe, False)
    scale = 1.0 if recipe.student_weight is None else recipe.student_weight / max(1, len(students))
    divergences = []
    for subnet in students:
        model.set_active(subnet)
        with autocast:
            logits = net(resize(x, subnet.resolution)).float()
        loss = distill_loss(recipe, logits, soft, y)
        (loss * scale).backward()
        divergences.append(loss.item())
    if recipe.grad_clip > 0:
        torch.nn.utils.clip_grad_value_(model.parameters(), recipe.grad_clip)
    optimizer.step()
    model.set_active(largest)
    if students and students[0] == smallest:
        out["loss_min"] = divergences[0]
    if divergences:
        out["loss_subnets"] = float(np.mean(divergences))
    if not all(math.isfinite(v) for v in out.values()):
        raise OfaError(f"training diverged at step {global_step + 1} (loss {out}); lower the learning rate")
    return out
