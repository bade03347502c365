"""A recipe from plain data (a parsed YAML file, or a dict): every field checked with ofa.fields,
each missing field at the default ofa.train.recipe states, and every phase's space checked. Every
error is one line naming the field (`phases[2].kernal: unknown field; known: ...`)."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
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
from ofa.spaces.registry import get_space
from ofa.families.mbconv.space import _number
from ofa.train.overrides import apply_overrides
from ofa.train.recipe import (ALL, CHOICE_FIELDS, DEFAULT_WEIGHT_DECAY, DISTILL_KINDS, INITS, OPTIMIZERS, REGULARIZE,
                              DistillConfig, OptimizerConfig, Phase, Recipe)

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def _given(d: dict, cls: type, name: str) -> Any:
    """The field `name` of plain data `d`, else the default its dataclass states."""
    if name in d:
        return d[name]
    f = next(f for f in fields(cls) if f.name == name)
    return f.default_factory() if f.default is MISSING else f.default


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _choices(value: Any, where: str, name: str) -> tuple:
    """A choice list: positive ints (expands, widths: positive numbers); a single value is a list of one;
    'all' opens every choice of the space."""
    if value == ALL:
        return ALL
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _fail(where, "a non-empty list", value)
    if name in ("expands", "widths"):
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
    get = lambda name: _given(d, OptimizerConfig, name)  # noqa: E731
    name = _str(get("name"), "optimizer.name", OPTIMIZERS)
    betas = get("betas")
    if not isinstance(betas, (list, tuple)) or len(betas) != 2:
        raise _fail("optimizer.betas", "two numbers in [0, 1)", betas)
    betas = tuple(_float(b, "optimizer.betas", 0, 1, high_open=True, what="two numbers in [0, 1)") for b in betas)
    return OptimizerConfig(
        name=name,
        momentum=_float(get("momentum"), "optimizer.momentum", 0, 1, high_open=True, what="a number in [0, 1)"),
        nesterov=_bool(get("nesterov"), "optimizer.nesterov"),
        weight_decay=_float(d.get("weight_decay", DEFAULT_WEIGHT_DECAY[name]), "optimizer.weight_decay", 0,
                            what="a number >= 0"),
        betas=betas,
        eps=_float(get("eps"), "optimizer.eps", 0, low_open=True, what="a positive number"),
        no_decay_bn_bias=_bool(get("no_decay_bn_bias"), "optimizer.no_decay_bn_bias"),
    )


def _distill(value: Any) -> DistillConfig:
    if isinstance(value, str):  # shorthand: `distill: kl`
        value = {"kind": value}
    d = _mapping(value, "distill", _names(DistillConfig))
    get = lambda name: _given(d, DistillConfig, name)  # noqa: E731
    positive = dict(low=0, low_open=True, what="a positive number")
    cfg = DistillConfig(
        kind=_str(get("kind"), "distill.kind", DISTILL_KINDS),
        alpha_min=_float(get("alpha_min"), "distill.alpha_min"),
        alpha_max=_float(get("alpha_max"), "distill.alpha_max"),
        clip=_float(get("clip"), "distill.clip", **positive),
        temperature=_float(get("temperature"), "distill.temperature", **positive),
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
    get = lambda name: _given(d, Phase, name)  # noqa: E731
    epochs = _int(d["epochs"], f"{where}.epochs", "epochs", 1)
    warmup = _number(_float(get("warmup_epochs"), f"{where}.warmup_epochs", 0, epochs,
                            what=f"a number from 0 to epochs ({epochs})"))
    return Phase(
        name=_str(d.get("name", f"phase{index + 1}"), f"{where}.name"),
        epochs=epochs,
        lr=_float(d["lr"], f"{where}.lr", 0, low_open=True, what="a positive number"),
        warmup_epochs=warmup,
        subnets_per_step=_int(get("subnets_per_step"), f"{where}.subnets_per_step", "subnets_per_step"),
        with_smallest=_bool(get("with_smallest"), f"{where}.with_smallest"),
        reorder_channels=_bool(get("reorder_channels"), f"{where}.reorder_channels"),
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
    get = lambda name: _given(d, Recipe, name)  # noqa: E731
    optional = lambda name, read: None if get(name) is None else read(get(name))  # noqa: E731
    unit = dict(low=0, high=1, high_open=True, what="a number in [0, 1)")
    space = get_space(_str(d["space"], "space"))
    return Recipe(
        space=d["space"],
        data=optional("data", lambda v: _str(v, "data")),
        phases=phases,
        resolution=_int(d.get("resolution", max(space.resolutions)), "resolution", "resolution"),
        batch_size=_int(get("batch_size"), "batch_size", "batch_size"),
        augment=_bool(get("augment"), "augment"),
        lr_batch_size=_int(get("lr_batch_size"), "lr_batch_size", "batch_size"),
        optimizer=_optimizer(d.get("optimizer", {})),
        label_smoothing=_float(get("label_smoothing"), "label_smoothing", **unit),
        distill=_distill(d.get("distill", {})),
        teacher=optional("teacher", lambda v: _str(v, "teacher")),
        grad_clip=_float(get("grad_clip"), "grad_clip", 0, what="a number >= 0 (0: no clipping)"),
        init=_str(get("init"), "init", INITS),
        zero_init_residual=_bool(get("zero_init_residual"), "zero_init_residual"),
        student_weight=optional("student_weight", lambda v: _float(
            v, "student_weight", 0, what="a number >= 0, or null for the plain sum")),
        regularize=_str(get("regularize"), "regularize", REGULARIZE),
        drop_connect=_float(get("drop_connect"), "drop_connect", **unit),
        channels_last=_bool(get("channels_last"), "channels_last"),
        val_fraction=_float(get("val_fraction"), "val_fraction", 0, 1, low_open=True, high_open=True,
                            what="a number between 0 and 1"),
        device=_device(get("device")),
        workers=_int(get("workers"), "workers", "workers"),
        checkpoint_every=_int(get("checkpoint_every"), "checkpoint_every", "steps"),
        validate_every=_int(get("validate_every"), "validate_every", "epochs"),
        bn_calib_images=_int(get("bn_calib_images"), "bn_calib_images", "images"),
        seed=_int(get("seed"), "seed", "seed"),
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


def with_overrides(recipe: Recipe, overrides: Mapping[str, Any]) -> Recipe:
    """The recipe with dotted overrides applied (`phases.0.epochs=2`), checked again."""
    return recipe_from_dict(apply_overrides(recipe.to_dict(), overrides))
