"""A training recipe as typed, frozen data: what `ofa train-supernet` does, phase by phase. Every
default is stated here, once; ofa.train.recipe_reader builds a recipe from plain data (checking
every field) and ofa.train.recipes finds recipes by name or file."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ofa.errors import OfaError
from ofa.spaces.registry import get_space
from ofa.spaces import Space

OPTIMIZERS = ("sgd", "adamw")
DISTILL_KINDS = ("alpha", "kl", "none")
REGULARIZE = ("largest", "all")
INITS = ("ofa", "torch")  # the keys of ofa.layers.init.INITS, named here to keep recipes torch-free
CHOICE_FIELDS = ("kernels", "depths", "expands", "widths", "resolutions")  # each family opens some
ALL = "all"  # a phase's choice list that opens every choice of the space
DEFAULT_WEIGHT_DECAY = {"sgd": 3e-5, "adamw": 0.05}  # once-for-all's SGD value; a common AdamW one


@dataclass(frozen=True)
class OptimizerConfig:
    """SGD (momentum, Nesterov) or AdamW; `momentum`/`nesterov` apply to SGD, `betas`/`eps` to AdamW."""

    name: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = DEFAULT_WEIGHT_DECAY["sgd"]  # AdamW's when the recipe names adamw
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    no_decay_bn_bias: bool = True  # no weight decay on BatchNorm weights and biases (as once-for-all)


@dataclass(frozen=True)
class DistillConfig:
    """How subnets learn from the teacher: AlphaNet's alpha-divergence, KL, or not at all."""

    kind: str = "alpha"
    alpha_min: float = -1.0
    alpha_max: float = 1.0
    clip: float = 5.0
    temperature: float = 1.0  # for kind "kl"


@dataclass(frozen=True)
class Phase:
    """One stage of progressive shrinking; a choice field left as None inherits (see Recipe)."""

    name: str
    epochs: int
    lr: float
    warmup_epochs: int | float = 0
    subnets_per_step: int = 2
    with_smallest: bool = True  # the sandwich rule's smallest subnet, besides the random ones
    reorder_channels: bool = False
    # None: inherit (see Recipe.phase_choices); ALL: every choice of the space
    kernels: tuple[int, ...] | str | None = None
    depths: tuple[int, ...] | str | None = None
    expands: tuple[int | float, ...] | str | None = None
    widths: tuple[int | float, ...] | str | None = None  # width multipliers (resnet)
    resolutions: tuple[int, ...] | str | None = None


@dataclass(frozen=True)
class Recipe:
    """A whole training run; phase learning rates are for `lr_batch_size` images (see phase_lr)."""

    space: str
    data: str | None  # None: no data set of its own (an imported supernet); --data names one
    phases: tuple[Phase, ...]
    resolution: int
    batch_size: int = 64
    augment: bool = True
    lr_batch_size: int = 256
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    label_smoothing: float = 0.1
    distill: DistillConfig = field(default_factory=DistillConfig)
    teacher: str | None = None
    # Stabilizers (BENCHMARKS.md, "Supernet quality", measures each): clip every gradient value to
    # [-grad_clip, grad_clip] (AlphaNet; 0: off); residual blocks start as the identity (BigNAS);
    # the students together weigh `student_weight` against the largest subnet's 1, shared equally
    # (None: each counts fully, the plain sum);
    # dropout and drop-connect on the largest subnet only, or on every subnet.
    grad_clip: float = 0.0
    init: str = "ofa"  # a fresh supernet's weights: once-for-all's init, or PyTorch's defaults ("torch")
    zero_init_residual: bool = False
    student_weight: float | None = None
    regularize: str = "all"
    drop_connect: float = 0.0
    channels_last: bool = True  # NHWC: 1.5-1.75x the images/s of NCHW on a 2-core CPU (BENCHMARKS.md)
    val_fraction: float = 0.1  # held out of data sets that have no validation split of their own
    device: str = "auto"
    workers: int = 2
    checkpoint_every: int = 500
    validate_every: int = 1
    bn_calib_images: int = 2000
    seed: int = 0
    description: str = ""
    # a supernet run whose weights start this one (its classifier is replaced when the classes differ)
    init_from: str | None = None

    def phase_choices(self, index: int) -> dict[str, tuple | None]:
        """The choices phase `index` opens: its own, else the nearest earlier phase's.

        None means no phase ever set it: the largest kernel/depth/expand/width, all resolutions.
        ALL means every choice of the space.
        """
        index = range(len(self.phases))[index]
        choices: dict[str, tuple | None] = {}
        for name in CHOICE_FIELDS:
            choices[name] = next(
                (getattr(p, name) for p in reversed(self.phases[: index + 1]) if getattr(p, name) is not None),
                None,
            )
        return choices

    def phase_space(self, index: int, space: Space | str | None = None) -> Space:
        """The search space phase `index` trains (subnets are sampled from it)."""
        space = get_space(self.space if space is None else space)
        choices = self.phase_choices(index)
        # `all` of a choice the space's family lacks opens nothing (a recipe for every family, as transfer);
        # a list of values for it is a mistake
        other = [n for n, v in choices.items() if v not in (None, ALL) and n not in space.choice_fields]
        if other:
            raise OfaError(f"'{other[0]}' is no choice of {space.family} spaces like '{space.name}' "
                           f"(theirs: {', '.join(space.choice_fields)})")
        narrowed = space.restrict(**{k: None if v == ALL else v for k, v in choices.items() if k in space.choice_fields})
        return narrowed.largest_only([n for n in space.choice_fields if n != "resolutions" and choices[n] is None])

    def phase_lr(self, index: int) -> float:
        """Peak learning rate of phase `index` at this batch size (linear scaling rule)."""
        return self.phases[index].lr * self.batch_size / self.lr_batch_size

    def dataset(self, split: str, *, augment: bool = False, root: str | None = None, download: bool = False,
                data: str | None = None):
        """One split of the recipe's data (or of `data`) exactly as training split it: same held-out
        fraction and seed, so "val" never holds an image the supernet trained on."""
        from ofa.data import get_dataset

        if not (data or self.data):
            raise OfaError(f"no data set: the recipe of space '{self.space}' names none (an imported supernet "
                           f"has no data of its own); pass --data, e.g. --data imagefolder:PATH")
        return get_dataset(data or self.data, split, self.resolution, augment=augment, root=root, download=download,
                           val_fraction=self.val_fraction, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that `recipe_reader.recipe_from_dict` turns back into an equal Recipe."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "phases":
                value = [_phase_to_dict(p) for p in value]
            elif isinstance(value, (OptimizerConfig, DistillConfig)):
                value = {g.name: _plain(getattr(value, g.name)) for g in fields(value)}
            out[f.name] = value
        return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _phase_to_dict(phase: Phase) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(phase, f.name))
        for f in fields(phase)
        if not (f.name in CHOICE_FIELDS and getattr(phase, f.name) is None)
    }
