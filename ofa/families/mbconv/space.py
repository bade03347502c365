"""A MobileNetV3-style search space as a typed, frozen value: what an elastic supernet of inverted
residual blocks may become."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Sequence

from ofa import fields as check_field
from ofa.errors import OfaError
from ofa.layers.shapes import make_divisible
from ofa.limits import check

ACTIVATIONS = ("relu", "hswish", "relu6")
EXPAND_RANGE = (0.05, 64)  # an expand ratio's bounds: a middle width from 1/20 to 64 times the input
# Fields added after spaces were first fingerprinted, with their defaults: a space that keeps the
# default hashes as before, so tables and runs bound to it stay valid.
_LATER_FIELDS = {"bn_eps": 1e-5}


def _number(value: Any) -> int | float:
    """Expand ratios are written as ints when they are whole (3, not 3.0)."""
    value = float(value)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class StageSpec:
    """One elastic unit: `depth` blocks at most, the first with `stride`, all `width` wide."""

    width: int
    depths: tuple[int, ...]
    kernels: tuple[int, ...]
    expands: tuple[int | float, ...]
    stride: int = 1
    act: str = "relu"
    se: bool = False

    @property
    def max_depth(self) -> int:
        return max(self.depths)


@dataclass(frozen=True)
class SearchSpace:
    """Stem, a fixed first block, elastic stages, a head, and the input resolutions."""

    name: str
    stages: tuple[StageSpec, ...]
    resolutions: tuple[int, ...]
    stem_width: int = 16
    stem_stride: int = 2
    stem_act: str = "hswish"
    first_block_width: int = 16
    first_block_act: str = "relu"
    head_width: int = 960
    feature_width: int = 1280
    head_act: str = "hswish"
    se_reduction: int = 4
    channel_divisor: int = 8
    dropout: float = 0.1
    bn_eps: float = 1e-5  # every BatchNorm's epsilon (once-for-all's ProxylessNAS networks use 1e-3)
    description: str = ""

    family = "mbconv"  # not a field: a space file without `family:` is one, and fingerprints stay as they were
    choice_fields = ("kernels", "depths", "expands", "resolutions")  # the lists training phases narrow

    # -- sizes -----------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        """Block slots of the largest subnet (the genes carry one kernel and expand per slot)."""
        return sum(s.max_depth for s in self.stages)

    @property
    def num_architectures(self) -> int:
        """Distinct subnets at one resolution: per stage, sum over depths of (kernels*expands)^d."""
        total = 1
        for s in self.stages:
            per_block = len(s.kernels) * len(s.expands)
            total *= sum(per_block**d for d in s.depths)
        return total

    def block_inputs(self) -> list[tuple[int, int]]:
        """(stage index, input channels) of every block slot, in order."""
        slots, prev = [], self.first_block_width
        for i, s in enumerate(self.stages):
            for j in range(s.max_depth):
                slots.append((i, prev if j == 0 else s.width))
            prev = s.width
        return slots

    def mid_channels(self, in_channels: int, expand: float) -> int:
        return make_divisible(round(in_channels * expand), self.channel_divisor)

    def se_channels(self, mid_channels: int) -> int:
        return make_divisible(mid_channels // self.se_reduction, self.channel_divisor)

    # -- restriction (training phases) -------------------------------------------------------
    def restrict(
        self,
        kernels: Sequence[int] | None = None,
        depths: Sequence[int] | None = None,
        expands: Sequence[float] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> "SearchSpace":
        """The same space with fewer choices open; raises if a choice is not in the space."""

        def narrowed(kind: str, allowed: tuple, wanted: Sequence | None, where: str) -> tuple:
            if wanted is None:
                return allowed
            wanted = tuple(sorted({_number(v) if kind == "expand" else int(v) for v in wanted}))
            outside = [v for v in wanted if v not in allowed]
            if outside:
                raise OfaError(
                    f"{kind} choice(s) {outside} are not in {where} of space '{self.name}' "
                    f"(allowed: {list(allowed)})"
                )
            return wanted

        stages = tuple(
            replace(
                s,
                kernels=narrowed("kernel", s.kernels, kernels, f"stage {i + 1}"),
                depths=narrowed("depth", s.depths, depths, f"stage {i + 1}"),
                expands=narrowed("expand", s.expands, expands, f"stage {i + 1}"),
            )
            for i, s in enumerate(self.stages)
        )
        res = narrowed("resolution", self.resolutions, resolutions, "the resolutions")
        return replace(self, stages=stages, resolutions=res)

    def largest_only(self, names: Sequence[str]) -> "SearchSpace":
        """The same space with only the largest choice of each named list (of kernels, depths,
        expands): what a training phase that has not opened them yet trains."""
        return replace(self, stages=tuple(replace(s, **{n: (max(getattr(s, n)),) for n in names})
                                          for s in self.stages))

    # -- identity ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
            for s in self.stages
        ]
        d["resolutions"] = list(self.resolutions)
        return d

    def fingerprint(self) -> str:
        """Short hash of everything that shapes the network (not the name or description)."""
        d = self.to_dict()
        d.pop("name"), d.pop("description")
        for key, default in _LATER_FIELDS.items():
            if d[key] == default:
                d.pop(key)
        blob = json.dumps(d, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        n = self.num_architectures
        return {
            "name": self.name,
            "description": self.description,
            "fingerprint": self.fingerprint(),
            "num_architectures": n,
            "num_architectures_sci": f"{n:.3e}",
            "log10_num_architectures": round(math.log10(n), 3),
            "num_stages": len(self.stages),
            "num_block_slots": self.num_blocks,
            "resolutions": list(self.resolutions),
            **{k: v for k, v in self.to_dict().items() if k not in ("name", "description")},
        }


# -- loading from plain data (YAML / JSON) -------------------------------------------------------

_STAGE_KEYS = tuple(f.name for f in fields(StageSpec))
SPACE_KEYS = tuple(f.name for f in fields(SearchSpace)) + ("family",)


def _act(value: Any, where: str) -> str:
    return check_field.text(value, where, choices=ACTIVATIONS)


def _stage_from_dict(d: Any, where: str) -> StageSpec:
    check_field.mapping(d, where, _STAGE_KEYS, required=("width", "depths", "kernels", "expands"))
    kernels = check_field.whole_choices(d["kernels"], f"{where}.kernels", "kernel")
    if any(k % 2 == 0 for k in kernels):
        raise check_field.fail(f"{where}.kernels", "odd kernel sizes", d["kernels"])
    expands_raw = d["expands"] if isinstance(d["expands"], list) else [d["expands"]]
    if not expands_raw:
        raise check_field.fail(f"{where}.expands", "a non-empty list of expand ratios", d["expands"])
    for e in expands_raw:
        check_field.real(e, f"{where}.expands", *EXPAND_RANGE, what=f"expand ratios from {EXPAND_RANGE[0]} to {EXPAND_RANGE[1]}")
    return StageSpec(
        width=check(d["width"], "channels", f"{where}.width"),
        depths=check_field.whole_choices(d["depths"], f"{where}.depths", "depth"),
        kernels=kernels,
        expands=tuple(sorted({_number(e) for e in expands_raw})),
        stride=check(d.get("stride", 1), "stride", f"{where}.stride"),
        act=_act(d.get("act", "relu"), f"{where}.act"),
        se=check_field.flag(d.get("se", False), f"{where}.se"),
    )


def space_from_dict(d: Any, source: str = "space") -> SearchSpace:
    """Build and validate a space; every error names the field and what was expected (ofa.fields)."""
    check_field.mapping(d, source, SPACE_KEYS, required=("name", "stages", "resolutions"))
    check_field.name(d["name"], f"{source}.name")  # it becomes part of table and folder names
    stages = check_field.items(d["stages"], f"{source}.stages", "a non-empty list of stages", longest=64)
    kwargs: dict[str, Any] = {
        "name": d["name"],
        "stages": tuple(_stage_from_dict(s, f"{source}.stages[{i}]") for i, s in enumerate(stages)),
        "resolutions": check_field.whole_choices(d["resolutions"], f"{source}.resolutions", "resolution"),
    }
    for key in ("stem_width", "stem_stride", "first_block_width", "head_width", "feature_width",
                "se_reduction", "channel_divisor"):
        if key == "feature_width" and d.get(key) == 0:  # no feature-mix layer: the classifier reads the pool
            kwargs[key] = 0
        elif key in d:
            kwargs[key] = check(d[key], "stride" if key == "stem_stride" else "channels", f"{source}.{key}")
    for key in ("stem_act", "first_block_act", "head_act"):
        if key in d:
            kwargs[key] = _act(d[key], f"{source}.{key}")
    if "dropout" in d:
        kwargs["dropout"] = check_field.real(d["dropout"], f"{source}.dropout", 0, 1, high_open=True,
                                             what="a number in [0, 1)")
    if "bn_eps" in d:
        kwargs["bn_eps"] = check_field.real(d["bn_eps"], f"{source}.bn_eps", 0, 0.1, low_open=True,
                                            what="a number in (0, 0.1]")
    if "description" in d:
        kwargs["description"] = check_field.text(d["description"], f"{source}.description", longest=2_000)
    return SearchSpace(**kwargs)
