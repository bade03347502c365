"""Training recipes: what `ofa train-supernet` does, as checked, frozen data.

A recipe is a YAML file (read with ofa.files.read_yaml: safe, no aliases) or a dict; shipped recipes live in the
top-level `pipelines/` folder and are found by bare name (`quickstart`). Every error is one line
naming the file and the field (`quickstart.yaml: phases[2].kernal: unknown field; known: ...`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping


from ofa.errors import OfaError
from ofa.fields import fail as _fail
from ofa.fields import flag as _bool
from ofa.fields import is_whole
from ofa.fields import mapping as _mapping
from ofa.fields import real as _float
from ofa.fields import text as _str
from ofa.fields import whole as _int
from ofa.files import read_yaml
from ofa.resources import data_dir
from ofa.spaces.registry import get_space
from ofa.spaces.space import SearchSpace, _number
from ofa.train.overrides import apply_overrides

OPTIMIZERS = ("sgd", "adamw")
DISTILL_KINDS = ("alpha", "kl", "none")
REGULARIZE = ("largest", "all")
INITS = ("ofa", "torch")  # the keys of ofa.supernet.supernet.INITS, named here to keep recipes torch-free
CHOICE_FIELDS = ("kernels", "depths", "expands", "resolutions")
ALL = "all"  # a phase's choice list that opens every choice of the space
_DEFAULT_WEIGHT_DECAY = {"sgd": 3e-5, "adamw": 0.05}  # once-for-all's SGD value; a common AdamW one
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class OptimizerConfig:
    """SGD (momentum, Nesterov) or AdamW; `momentum`/`nesterov` apply to SGD, `betas`/`eps` to AdamW."""

    name: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 3e-5
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

        None means no phase ever set it: the largest kernel/depth/expand, all resolutions. ALL
        means every choice of the space.
        """
        index = range(len(self.phases))[index]
        choices: dict[str, tuple | None] = {}
        for name in CHOICE_FIELDS:
            choices[name] = next(
                (getattr(p, name) for p in reversed(self.phases[: index + 1]) if getattr(p, name) is not None),
                None,
            )
        return choices

    def phase_space(self, index: int, space: SearchSpace | str | None = None) -> SearchSpace:
        """The search space phase `index` trains (subnets are sampled from it)."""
        space = get_space(self.space if space is None else space)
        choices = self.phase_choices(index)
        narrowed = space.restrict(**{k: None if v == ALL else v for k, v in choices.items()})
        largest = [name for name in ("kernels", "depths", "expands") if choices[name] is None]
        if not largest:
            return narrowed
        stages = tuple(replace(s, **{n: (max(getattr(s, n)),) for n in largest}) for s in narrowed.stages)
        return replace(narrowed, stages=stages)

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
        """Plain data that `recipe_from_dict` turns back into an equal Recipe."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "phases":
                value = [_phase_to_dict(p) for p in value]
            elif isinstance(value, (OptimizerConfig, DistillConfig)):
                value = {g.name: _plain(getattr(value, g.name)) for g in fields(value)}
            out[f.name] = value
        return out

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Recipe":
        return recipe_from_dict(apply_overrides(self.to_dict(), overrides))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _phase_to_dict(phase: Phase) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(phase, f.name))
        for f in fields(phase)
        if not (f.name in CHOICE_FIELDS and getattr(phase, f.name) is None)
    }


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _choices(value: Any, where: str, name: str) -> tuple:
    """A choice list: positive ints (expands: positive numbers); a single value is a list of one;
    'all' opens every choice of the space."""
    if value == ALL:
        return ALL
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _fail(where, "a non-empty list", value)
    if name == "expands":
        for v in values:
            _float(v, where, low=0, high=64, low_open=True, what="positive numbers up to 64")
        return tuple(sorted({_number(v) for v in values}))
    kind = {"kernels": "kernel", "depths": "depth", "resolutions": "resolution"}[name]
    for v in values:
        if not is_whole(v) or v <= 0:
            raise _fail(where, "positive integers", value)
        _int(v, where, kind)
    return tuple(sorted(set(values)))


# -- building the dataclasses ----------------------------------------------------------------------


def _optimizer(value: Any) -> OptimizerConfig:
    d = _mapping(value, "optimizer", _names(OptimizerConfig))
    name = _str(d.get("name", "sgd"), "optimizer.name", OPTIMIZERS)
    betas = d.get("betas", [0.9, 0.999])
    if not isinstance(betas, (list, tuple)) or len(betas) != 2:
        raise _fail("optimizer.betas", "two numbers in [0, 1)", betas)
    betas = tuple(_float(b, "optimizer.betas", 0, 1, high_open=True, what="two numbers in [0, 1)") for b in betas)
    return OptimizerConfig(
        name=name,
        momentum=_float(d.get("momentum", 0.9), "optimizer.momentum", 0, 1, high_open=True, what="a number in [0, 1)"),
        nesterov=_bool(d.get("nesterov", True), "optimizer.nesterov"),
        weight_decay=_float(d.get("weight_decay", _DEFAULT_WEIGHT_DECAY[name]), "optimizer.weight_decay", 0,
                            what="a number >= 0"),
        betas=betas,
        eps=_float(d.get("eps", 1e-8), "optimizer.eps", 0, low_open=True, what="a positive number"),
        no_decay_bn_bias=_bool(d.get("no_decay_bn_bias", True), "optimizer.no_decay_bn_bias"),
    )


def _distill(value: Any) -> DistillConfig:
    if isinstance(value, str):  # shorthand: `distill: kl`
        value = {"kind": value}
    d = _mapping(value, "distill", _names(DistillConfig))
    cfg = DistillConfig(
        kind=_str(d.get("kind", "alpha"), "distill.kind", DISTILL_KINDS),
        alpha_min=_float(d.get("alpha_min", -1.0), "distill.alpha_min"),
        alpha_max=_float(d.get("alpha_max", 1.0), "distill.alpha_max"),
        clip=_float(d.get("clip", 5.0), "distill.clip", 0, low_open=True, what="a positive number"),
        temperature=_float(d.get("temperature", 1.0), "distill.temperature", 0, low_open=True,
                           what="a positive number"),
    )
    if cfg.alpha_min > cfg.alpha_max:
        raise OfaError(f"distill.alpha_min ({cfg.alpha_min}) must not exceed distill.alpha_max ({cfg.alpha_max})")
    return cfg


def _phase(value: Any, index: int) -> Phase:
    where = f"phases[{index}]"
    d = _mapping(value, where, _names(Phase))
    for key in ("epochs", "lr"):
        if key not in d:
            raise OfaError(f"{where}: missing field '{key}'")
    epochs = _int(d["epochs"], f"{where}.epochs", "epochs", 1)
    warmup = _number(_float(d.get("warmup_epochs", 0), f"{where}.warmup_epochs", 0, epochs,
                            what=f"a number from 0 to epochs ({epochs})"))
    return Phase(
        name=_str(d.get("name", f"phase{index + 1}"), f"{where}.name"),
        epochs=epochs,
        lr=_float(d["lr"], f"{where}.lr", 0, low_open=True, what="a positive number"),
        warmup_epochs=warmup,
        subnets_per_step=_int(d.get("subnets_per_step", 2), f"{where}.subnets_per_step", "subnets_per_step"),
        with_smallest=_bool(d.get("with_smallest", True), f"{where}.with_smallest"),
        reorder_channels=_bool(d.get("reorder_channels", False), f"{where}.reorder_channels"),
        **{n: (None if d.get(n) is None else _choices(d[n], f"{where}.{n}", n)) for n in CHOICE_FIELDS},
    )


def _build(d: Any) -> Recipe:
    d = _mapping(d, "", _names(Recipe))
    init_from = None if d.get("init_from") is None else _str(d["init_from"], "init_from")
    if "space" not in d and init_from is not None:  # a transfer recipe trains the space of its start
        from ofa.train.run_folder import RunFolder

        d = {**d, "space": RunFolder(Path(init_from)).read_info().get("space")}
    for key in ("space", "data", "phases"):
        if key not in d:
            raise OfaError(f"{key}: missing field")
    if not isinstance(d["phases"], list) or not d["phases"]:
        raise _fail("phases", "a non-empty list of phases", d["phases"])
    phases = tuple(_phase(p, i) for i, p in enumerate(d["phases"]))
    seen: dict[str, int] = {}
    for i, p in enumerate(phases):
        if p.name in seen:
            raise OfaError(f"phases[{i}].name: '{p.name}' is already the name of phases[{seen[p.name]}]")
        seen[p.name] = i
    teacher = d.get("teacher")
    space = get_space(_str(d["space"], "space"))
    return Recipe(
        space=d["space"],
        data=None if d["data"] is None else _str(d["data"], "data"),
        phases=phases,
        resolution=_int(d.get("resolution", max(space.resolutions)), "resolution", "resolution"),
        batch_size=_int(d.get("batch_size", 64), "batch_size", "batch_size"),
        augment=_bool(d.get("augment", True), "augment"),
        lr_batch_size=_int(d.get("lr_batch_size", 256), "lr_batch_size", "batch_size"),
        optimizer=_optimizer(d.get("optimizer", {})),
        label_smoothing=_float(d.get("label_smoothing", 0.1), "label_smoothing", 0, 1, high_open=True,
                               what="a number in [0, 1)"),
        distill=_distill(d.get("distill", {})),
        teacher=None if teacher is None else _str(teacher, "teacher"),
        grad_clip=_float(d.get("grad_clip", 0.0), "grad_clip", 0, what="a number >= 0 (0: no clipping)"),
        init=_str(d.get("init", "ofa"), "init", INITS),
        zero_init_residual=_bool(d.get("zero_init_residual", False), "zero_init_residual"),
        student_weight=None if d.get("student_weight") is None else _float(
            d["student_weight"], "student_weight", 0, what="a number >= 0, or null for the plain sum"),
        regularize=_str(d.get("regularize", "all"), "regularize", REGULARIZE),
        drop_connect=_float(d.get("drop_connect", 0.0), "drop_connect", 0, 1, high_open=True,
                            what="a number in [0, 1)"),
        channels_last=_bool(d.get("channels_last", True), "channels_last"),
        val_fraction=_float(d.get("val_fraction", 0.1), "val_fraction", 0, 1, low_open=True, high_open=True,
                            what="a number between 0 and 1"),
        device=_device(d.get("device", "auto")),
        workers=_int(d.get("workers", 2), "workers", "workers"),
        checkpoint_every=_int(d.get("checkpoint_every", 500), "checkpoint_every", "steps"),
        validate_every=_int(d.get("validate_every", 1), "validate_every", "epochs"),
        bn_calib_images=_int(d.get("bn_calib_images", 2000), "bn_calib_images", "images"),
        seed=_int(d.get("seed", 0), "seed", "seed"),
        description=_str(d["description"], "description") if d.get("description") not in (None, "") else "",
        init_from=init_from,
    )


def _device(value: Any) -> str:
    if not isinstance(value, str) or not _DEVICE.fullmatch(value):
        raise _fail("device", "auto, cpu, cuda or cuda:N", value)
    return value


def _check_against_space(recipe: Recipe) -> None:
    space = get_space(recipe.space)
    for i, phase in enumerate(recipe.phases):
        try:
            phase_space = recipe.phase_space(i, space)
        except OfaError as e:
            raise OfaError(f"phases[{i}] ({phase.name}): {e}") from None
        if max(phase_space.resolutions) > recipe.resolution:
            raise OfaError(
                f"phases[{i}] ({phase.name}): resolution {max(phase_space.resolutions)} is above the loader's "
                f"resolution {recipe.resolution}; raise `resolution` or list smaller `resolutions`"
            )


def recipe_from_dict(d: Any, source: str = "recipe") -> Recipe:
    """Build and check a recipe, including every phase's space; errors start with `source`."""
    try:
        recipe = _build(d)
        _check_against_space(recipe)
    except OfaError as e:
        raise OfaError(f"{source}: {e}") from None
    return recipe


# -- files -------------------------------------------------------------------------------------------


def list_recipes() -> list[str]:
    """Names of the recipes shipped in pipelines/."""
    folder = data_dir("pipelines")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.name.endswith(".pipeline.yaml"))


def _find(name: str | Path) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix == "" and len(path.parts) == 1:
        shipped = data_dir("pipelines") / f"{name}.yaml"
        if shipped.is_file():
            return shipped
    raise OfaError(
        f"recipe not found: {str(name)!r}; shipped recipes: {', '.join(list_recipes()) or 'none'} "
        "(or give the path of a YAML file)"
    )


def load_recipe(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A recipe from a shipped name, a YAML path, or a dict, with optional dotted overrides."""
    if isinstance(source, Mapping):
        raw, label = dict(source), "recipe"
    else:
        path = _find(source)
        label = path.name
        raw = read_yaml(path, "recipe")
        if not isinstance(raw, dict):
            raise OfaError(f"{path}: expected a mapping of recipe fields at the top level")
    if overrides:
        raw = apply_overrides(raw, overrides)
    return recipe_from_dict(raw, source=label)
