"""An elastic ResNet space, as once-for-all's `OFAResNets` defines it: an input stem of three 3x3
convolutions (the middle one a residual block that may be skipped) and a 3x3 max pool, then
stages of bottleneck blocks (1x1 -> 3x3 -> 1x1, a shortcut that average-pools and projects where
the shape changes), a global pool and a classifier.

Elastic: each stage's depth; each block's expand ratio (its middle width is the block's output
width times the ratio); a width multiplier for the stem's middle, for the stem's output and for
each stage; whether the stem's middle block runs; the input resolution.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Sequence

from ofa import fields as check_field
from ofa.errors import OfaError
from ofa.layers.shapes import make_divisible

FAMILY = "resnet"
RATIO_RANGE = (0.01, 8.0)  # bounds of an expand ratio or a width multiplier


def number(value: Any) -> int | float:
    """Ratios are written as ints when they are whole (1, not 1.0)."""
    value = float(value)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class ResNetStage:
    """Bottleneck blocks `width` wide at multiplier 1, of which a subnet runs one of `depths`; the
    first has `stride`."""

    width: int
    depths: tuple[int, ...]
    stride: int = 1

    @property
    def max_depth(self) -> int:
        return max(self.depths)


@dataclass(frozen=True)
class ResNetSpace:
    name: str
    stages: tuple[ResNetStage, ...]
    resolutions: tuple[int, ...]
    widths: tuple[int | float, ...] = (0.65, 0.8, 1)  # width multipliers
    expands: tuple[int | float, ...] = (0.2, 0.25, 0.35)
    stem_width: int = 64  # the stem's output at multiplier 1; its middle is half that
    stem_stride: int = 2
    stem_skippable: bool = True  # whether a subnet may skip the stem's middle (residual) block
    max_pool: bool = True  # the 3x3 stride-2 max pool after the stem
    channel_divisor: int = 8
    dropout: float = 0.0
    bn_eps: float = 1e-5
    description: str = ""

    family = FAMILY
    choice_fields = ("depths", "expands", "widths", "resolutions")  # the lists training phases narrow

    # -- widths ------------------------------------------------------------------------------------
    def stem_channels(self, width: float) -> int:
        return make_divisible(self.stem_width * width, self.channel_divisor)

    def stem_mid_channels(self, width: float) -> int:
        return make_divisible(self.stem_channels(width) // 2, self.channel_divisor)

    def stage_channels(self, stage: int, width: float) -> int:
        return make_divisible(self.stages[stage].width * width, self.channel_divisor)

    def mid_channels(self, out_channels: int, expand: float) -> int:
        return make_divisible(round(out_channels * expand), self.channel_divisor)

    # -- sizes -------------------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        """Block slots of the largest subnet (the genes carry one expand ratio per slot)."""
        return sum(s.max_depth for s in self.stages)

    @property
    def num_architectures(self) -> int:
        """Distinct subnets at one resolution."""
        n_widths, n_expands = len(self.widths), len(self.expands)
        total = (2 if self.stem_skippable else 1) * n_widths * n_widths
        for s in self.stages:
            total *= n_widths * sum(n_expands**d for d in s.depths)
        return total

    # -- restriction (training phases) -------------------------------------------------------------
    def restrict(self, depths: Sequence[int] | None = None, expands: Sequence[float] | None = None,
                 widths: Sequence[float] | None = None, resolutions: Sequence[int] | None = None,
                 stem_skippable: bool | None = None) -> "ResNetSpace":
        """The same space with fewer choices open; raises if a choice is not in the space."""

        def narrowed(kind: str, allowed: tuple, wanted: Sequence | None, where: str) -> tuple:
            if wanted is None:
                return allowed
            wanted = tuple(sorted({number(v) if kind in ("expand", "width") else int(v) for v in wanted}))
            outside = [v for v in wanted if v not in allowed]
            if outside:
                raise OfaError(f"{kind} choice(s) {outside} are not in {where} of space '{self.name}' "
                               f"(allowed: {list(allowed)})")
            return wanted

        stages = tuple(replace(s, depths=narrowed("depth", s.depths, depths, f"stage {i + 1}"))
                       for i, s in enumerate(self.stages))
        return replace(self, stages=stages, expands=narrowed("expand", self.expands, expands, "the expand ratios"),
                       widths=narrowed("width", self.widths, widths, "the width multipliers"),
                       resolutions=narrowed("resolution", self.resolutions, resolutions, "the resolutions"),
                       stem_skippable=self.stem_skippable if stem_skippable is None else
                       self.stem_skippable and stem_skippable)

    def largest_only(self, names: Sequence[str]) -> "ResNetSpace":
        """The same space with only the largest choice of each named list (depths, expands, widths):
        what a training phase that has not opened them yet trains. The stem's middle block is part of
        the depth, as in once-for-all: it runs in every subnet until depths open."""
        out = self
        if "depths" in names:
            out = replace(out, stem_skippable=False,
                          stages=tuple(replace(s, depths=(max(s.depths),)) for s in out.stages))
        return replace(out, **{n: (max(getattr(out, n)),) for n in ("expands", "widths") if n in names})

    # -- identity ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {"family": FAMILY, **asdict(self)}
        d["stages"] = [{"width": s.width, "depths": list(s.depths), "stride": s.stride} for s in self.stages]
        for key in ("resolutions", "widths", "expands"):
            d[key] = list(d[key])
        return d

    def fingerprint(self) -> str:
        """Short hash of everything that shapes the network (not the name or description)."""
        d = self.to_dict()
        d.pop("name"), d.pop("description")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        n = self.num_architectures
        return {"name": self.name, "description": self.description, "fingerprint": self.fingerprint(),
                "num_architectures": n, "num_architectures_sci": f"{n:.3e}",
                "log10_num_architectures": round(math.log10(n), 3), "num_stages": len(self.stages),
                "num_block_slots": self.num_blocks,
                **{k: v for k, v in self.to_dict().items() if k not in ("name", "description")}}


# -- reading a space file -----------------------------------------------------------------------------

_STAGE_KEYS = tuple(f.name for f in fields(ResNetStage))
SPACE_KEYS = ("family",) + tuple(f.name for f in fields(ResNetSpace))


def _ratios(value: Any, where: str, what: str) -> tuple[int | float, ...]:
    values = check_field.items(value if isinstance(value, list) else [value], where, f"a non-empty list of {what}",
                               longest=64)
    out = {number(check_field.real(v, where, *RATIO_RANGE, what=f"{what} from {RATIO_RANGE[0]} to {RATIO_RANGE[1]}"))
           for v in values}
    if len(out) != len(values):
        raise check_field.fail(where, f"{what} without repeats", value)
    return tuple(sorted(out))


def _stage(d: Any, where: str) -> ResNetStage:
    check_field.mapping(d, where, _STAGE_KEYS, required=("width", "depths"))
    return ResNetStage(width=check_field.whole(d["width"], f"{where}.width", "channels"),
                       depths=check_field.whole_choices(d["depths"], f"{where}.depths", "depth"),
                       stride=check_field.whole(d.get("stride", 1), f"{where}.stride", "stride"))


def resnet_space_from_dict(d: Any, source: str = "space") -> ResNetSpace:
    """Build and check a ResNet space; every error names the field and what was expected."""
    check_field.mapping(d, source, SPACE_KEYS, required=("name", "stages", "resolutions"))
    if d.get("family", FAMILY) != FAMILY:
        raise check_field.fail(f"{source}.family", f"'{FAMILY}'", d["family"])
    stages = check_field.items(d["stages"], f"{source}.stages", "a non-empty list of stages", longest=64)
    kwargs: dict[str, Any] = {
        "name": check_field.name(d["name"], f"{source}.name"),
        "stages": tuple(_stage(s, f"{source}.stages[{i}]") for i, s in enumerate(stages)),
        "resolutions": check_field.whole_choices(d["resolutions"], f"{source}.resolutions", "resolution"),
    }
    for key in ("widths", "expands"):
        if key in d:
            kwargs[key] = _ratios(d[key], f"{source}.{key}", "width multipliers" if key == "widths" else "expand ratios")
    for key, kind in (("stem_width", "channels"), ("stem_stride", "stride"), ("channel_divisor", "channels")):
        if key in d:
            kwargs[key] = check_field.whole(d[key], f"{source}.{key}", kind)
    for key in ("stem_skippable", "max_pool"):
        if key in d:
            kwargs[key] = check_field.flag(d[key], f"{source}.{key}")
    if "dropout" in d:
        kwargs["dropout"] = check_field.real(d["dropout"], f"{source}.dropout", 0, 1, high_open=True,
                                             what="a number in [0, 1)")
    if "bn_eps" in d:
        kwargs["bn_eps"] = check_field.real(d["bn_eps"], f"{source}.bn_eps", 0, 0.1, low_open=True,
                                            what="a number in (0, 0.1]")
    if "description" in d:
        kwargs["description"] = check_field.text(d["description"], f"{source}.description", longest=2_000)
    return ResNetSpace(**kwargs)
