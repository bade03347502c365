"""`train_supernet`: progressive shrinking, phase by phase, each step by the sandwich rule
(ofa.train.sandwich). A `Trainer` holds one run: `resume` puts back where a run stopped, `run`
goes through `run_phase`, `run_epoch` and `step`, with `validate` and `checkpoint` between, and
`finish` writes the weights. The batches (ofa.train.loaders), the optimizer, the teacher and the
subnets watched during training (ofa.train.watched) are modules of their own.
"""

from __future__ import annotations

import contextlib
import json
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
from ofa.spaces import Space
from ofa.layers.elastic import set_batchnorm_sync
from ofa.layers.residual import zero_init_residual_bn
from ofa.supernet import build_supernet
from ofa.train.checkpoint import has_checkpoint, load_checkpoint, restore_rng, save_checkpoint
from ofa.train.distributed import World, barrier, init_world, shutdown
from ofa.train.init_from import check_start, load_start, start_weights
from ofa.train.loaders import Loaders
from ofa.train.optimizer import build_optimizer
from ofa.train.recipe import Recipe
from ofa.train.recipe_reader import recipe_from_dict
from ofa.train.run_folder import RunFolder, plot_accuracy, swap_in, work_folder
from ofa.train.sampler import steps_per_epoch
from ofa.train.sandwich import sandwich_step
from ofa.train.schedule import phase_lr
from ofa.train.stopping import StopRequests
from ofa.train.teacher import load_teacher
from ofa.train.watched import validate_subnets, validation_subnets

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
        raise OfaError(f"the recipe asks for device '{wanted}' but no CUDA GPU is available; use --torch-device cpu")
    return torch.device(wanted)


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
    """Train (or resume) a supernet run in `out`. `on_step` gets each step's progress and losses,
    `on_validate` each validation's rows; `again`: what to run to continue after SIGINT or SIGTERM
    (default: `ofa train-supernet --out OUT --resume`)."""
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
            trainer = Trainer(recipe, get_space(recipe.space), Path(out), folder, world, device, resume, data_root,
                              download)
            trainer.on_step, trainer.on_validate = on_step, on_validate
            trainer.begin(again)
            return trainer.run()
    finally:
        shutdown(world)


class Trainer:
    """One run: the model, its batches and where training stands. Every input is read in the
    constructor, before the run folder is touched: bad input must not cost a --force'd run."""

    def __init__(self, recipe: Recipe, space: Space, out: Path, folder: RunFolder, world: World,
                 device: torch.device, resuming: bool = False, data_root: str | None = None, download: bool = False):
        self.recipe, self.space, self.out, self.folder, self.world, self.device = recipe, space, out, folder, world, device
        self.resuming = resuming
        self.on_step: StepCallback | None = None
        self.on_validate: Callable[[list[dict[str, Any]]], None] | None = None
        # a resumed transfer continues from its checkpoint, not from where it started
        starting = recipe.init_from is not None and not (resuming and has_checkpoint(folder.checkpoints))
        started_from = check_start(recipe.init_from, space) if starting else None
        self.loaders = Loaders(recipe, world, data_root, download)
        self.teacher = load_teacher(recipe.teacher, device, self.loaders.train.num_classes)
        self.start = start_weights(recipe.init_from, started_from, self.loaders.train.classes, self.space)[0] if starting else None
        self.position = Position()
        self.optimizer_state: dict | None = None
        self.last_rows: list[dict[str, Any]] = []
        self.steps_per_epoch = steps_per_epoch(len(self.loaders.train.dataset), recipe.batch_size)
        self.epochs_before = [sum(p.epochs for p in recipe.phases[:i]) for i in range(len(recipe.phases))]
        self.all_steps = self.steps_per_epoch * sum(p.epochs for p in recipe.phases)
        self.watched = validation_subnets(space, recipe.seed)
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()

    # -- before the first step ------------------------------------------------------------------------

    def begin(self, again: str | None = None) -> None:
        """Make the model (fresh, transferred or resumed) and the run folder's records."""
        recipe, world = self.recipe, self.world
        if world.is_main:
            self.folder.prepare(self.resuming)
        barrier(world)
        torch.manual_seed(recipe.seed)
        np.random.seed(recipe.seed)
        self.model = build_supernet(self.space, self.loaders.train.num_classes, recipe.init).to(self.device)
        if self.start is not None:  # a transfer: every trained weight kept (the classifier where the classes match)
            load_start(self.model, self.start, recipe.init_from, self.space)
        elif recipe.zero_init_residual:
            zero_init_residual_bn(self.model)
        self.model = self.model.to(memory_format=self.loaders.memory_format)
        if self.resuming:
            self.resume()
        elif world.is_main:
            train = self.loaders.train
            self.folder.write_info({"space": self.space.name, "space_fingerprint": self.space.fingerprint(),
                                    "num_classes": train.num_classes, "classes": list(train.classes),
                                    "data": recipe.data}, recipe.to_dict())
        self.net = self._wrapped()
        command = f"train-supernet --out {shlex.quote(str(self.out))} --resume"
        self.command = again or (f"torchrun ... -m ofa {command}" if world.distributed else f"ofa {command}")

    def resume(self) -> None:
        """Put back the weights, position, random state and optimizer of the last checkpoint (a run
        stopped before its first checkpoint starts again from the beginning, as it was begun)."""
        folder = self.folder
        found = has_checkpoint(folder.checkpoints)
        if found:
            weights, state = load_checkpoint(folder.checkpoints, expect={"space_fingerprint": self.space.fingerprint()})
        started = state.get("recipe") if found else folder.read_recipe()
        if _plain(_as_now(started)) != _plain(self.recipe.to_dict()):
            raise OfaError(f"{folder.root}: the recipe differs from the one this run started with "
                           f"(see {folder.recipe}); resume without changing it")
        if folder.weights.is_file():  # its results stay as they are
            raise OfaError(f"{folder.root} has finished training: there is nothing to resume (retrain it with "
                           f"--force instead of --resume)")
        if found:
            try:
                self.model.load_state_dict(weights)
            except RuntimeError as e:
                raise OfaError(f"checkpoint in {folder.checkpoints} does not fit the supernet: "
                               f"{str(e).splitlines()[0]}") from None
            try:
                self.position = Position(**state["position"])
                restore_rng(state["rng"])
            except (TypeError, ValueError, KeyError) as e:
                raise OfaError(f"checkpoint in {folder.checkpoints} holds a malformed training state "
                               f"({type(e).__name__}); it cannot be resumed") from None
            self.optimizer_state = state.get("optimizer")
        if self.world.is_main:
            folder.truncate_metrics(self.position.global_step)

    def _wrapped(self) -> nn.Module:
        """The model as each step calls it: under DDP when distributed (one wrapper for the whole run:
        a second DDP on the same module would reduce twice)."""
        if not self.world.distributed:
            return self.model
        set_batchnorm_sync(self.model, torch.distributed.group.WORLD)
        with warnings.catch_warnings():  # broadcast_buffers=False is still the way to skip buffer syncs
            warnings.simplefilter("ignore", FutureWarning)
            return torch.nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=True,
                                                             broadcast_buffers=False)

    # -- the loop -------------------------------------------------------------------------------------

    def run(self) -> TrainResult:
        with StopRequests(self.world, self._stopped_at_once) as self.stops:
            for phase_index in range(self.position.phase, len(self.recipe.phases)):
                self.run_phase(phase_index)
        return self.finish()

    def run_phase(self, index: int) -> None:
        phase, model = self.recipe.phases[index], self.model
        if self.position.at_phase_start and phase.reorder_channels:
            model.reorder_channels()
        self.phase_space = self.recipe.phase_space(index, self.space)
        optimizer = build_optimizer(model, self.recipe)
        if self.optimizer_state is not None and not self.position.at_phase_start:
            optimizer.load_state_dict(self.optimizer_state)
        self.optimizer_state = None
        model.train()
        for epoch in range(self.position.epoch, phase.epochs):
            self.run_epoch(index, epoch, optimizer)
        self.position = Position(index + 1, 0, 0, self.position.global_step)
        self.checkpoint(None)

    def run_epoch(self, index: int, epoch: int, optimizer: torch.optim.Optimizer) -> None:
        recipe, phase = self.recipe, self.recipe.phases[index]
        sums: dict[str, float] = {}
        started, images, lr = time.perf_counter(), 0, 0.0
        batches = self.loaders.epoch(self.epochs_before[index] + epoch, self.position.step)
        for step, (x, y) in enumerate(batches, start=self.position.step):
            lr, losses = self.step(index, epoch, step, x, y, optimizer)
            images += x.shape[0] * self.world.size
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            if self.on_step and self.world.is_main:
                elapsed = time.perf_counter() - started
                self.on_step({"phase": phase.name, "phase_index": index, "phases": len(recipe.phases),
                              "epoch": epoch + 1, "epochs": phase.epochs, "step": step + 1,
                              "steps": self.steps_per_epoch, "global_step": self.position.global_step,
                              "total_steps": self.all_steps, "lr": lr, **losses,
                              "images_per_s": images / elapsed if elapsed > 0 else 0.0})
            if recipe.checkpoint_every and self.position.global_step % recipe.checkpoint_every == 0:
                self.checkpoint(optimizer)
            self.stop_if_asked(optimizer)
        n = max(1, self.position.step)
        if self.world.is_main and sums:
            self.folder.append_metrics([{"kind": "train", "phase": index, "phase_name": phase.name, "epoch": epoch + 1,
                                         "global_step": self.position.global_step, "lr": lr,
                                         **{k: v / n for k, v in sums.items()},
                                         "images_per_s": images / max(1e-9, time.perf_counter() - started)}])
        if epoch + 1 == phase.epochs or (recipe.validate_every and (epoch + 1) % recipe.validate_every == 0):
            self.last_rows = self.validate(index, epoch)
        self.position = Position(index, epoch + 1, 0, self.position.global_step)
        self.stop_if_asked(optimizer)

    def step(self, index: int, epoch: int, step: int, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer) -> tuple[float, dict[str, float]]:
        """One batch: the learning rate of this step of the phase, then the sandwich step."""
        recipe, phase, spe = self.recipe, self.recipe.phases[index], self.steps_per_epoch
        lr = phase_lr(recipe.phase_lr(index), epoch * spe + step, phase.epochs * spe,
                      int(round(phase.warmup_epochs * spe)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        x = x.contiguous(memory_format=self.loaders.memory_format)
        losses = sandwich_step(recipe, self.model, self.net, self.teacher, phase, self.phase_space, x, y, optimizer,
                               self.autocast, self.position.global_step)
        self.position = Position(index, epoch, step + 1, self.position.global_step + 1)
        return lr, losses

    # -- between steps --------------------------------------------------------------------------------

    def validate(self, index: int, epoch: int) -> list[dict[str, Any]]:
        """The watched subnets' accuracy, recorded in metrics.jsonl and accuracy.png."""
        recipe, rows = self.recipe, []
        if self.world.is_main:
            results = validate_subnets(self.model, self.watched, self.loaders, self.device, recipe.bn_calib_images)
            for name, r in results.items():
                rows.append({"kind": "val", "phase": index, "phase_name": recipe.phases[index].name,
                             "epoch": epoch + 1, "epoch_total": self.epochs_before[index] + epoch + 1,
                             "global_step": self.position.global_step, "name": name, **r})
            self.folder.append_metrics(rows)
            plot_accuracy(self.folder.read_metrics(), self.folder.plot, f"{self.space.name} on {recipe.data}")
            if self.on_validate:
                self.on_validate(rows)
        barrier(self.world)
        self.model.train()
        return rows

    def checkpoint(self, optimizer: torch.optim.Optimizer | None) -> None:
        if self.world.is_main:
            state = {"position": vars(self.position).copy(), "recipe": self.recipe.to_dict(),
                     "space_fingerprint": self.space.fingerprint()}
            if optimizer is not None:
                state["optimizer"] = optimizer.state_dict()
            save_checkpoint(self.folder.checkpoints, self.model.state_dict(), state)
        barrier(self.world)

    def stop_if_asked(self, optimizer: torch.optim.Optimizer) -> None:
        """On SIGINT or SIGTERM: a checkpoint here, then stop with the command that continues."""
        signum = self.stops.requested()
        if signum is None:
            return
        self.checkpoint(optimizer)
        raise Interrupted(f"stopped by {signal.Signals(signum).name} at step {self.position.global_step}; checkpoint "
                          f"written in {self.folder.checkpoints}; continue with: {self.command}", signum)

    def _stopped_at_once(self, signum: int) -> Interrupted:
        step = self.folder.step()
        last = (f"the last checkpoint (step {step}) is in {self.folder.checkpoints}" if step is not None
                else "no checkpoint yet: it starts again from the beginning")
        return Interrupted(f"stopped at once by a second {signal.Signals(signum).name}; {last}; continue with: "
                           f"{self.command}", signum)

    def finish(self) -> TrainResult:
        if self.world.is_main:
            from safetensors.torch import save

            state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
            write_atomic(self.folder.weights, save(state))
            if self.folder.root != self.out:
                swap_in(self.folder, self.out)
        barrier(self.world)
        return TrainResult(self.out, self.position.global_step, self.last_rows)


def _as_now(recipe: dict | None) -> dict | None:
    """A recipe as recorded when a run started, with fields added since then at their defaults."""
    try:
        return recipe_from_dict(recipe).to_dict()
    except OfaError:
        return recipe


