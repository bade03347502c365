"""A ResNet subnet: a resolution, whether the stem's middle block runs, one width multiplier per
width position (the stem's middle, the stem's output, each stage) and one expand ratio per block.

Forms: the frozen `ResNetSubnet`, its dict, a compact string, and an integer gene vector. The
string names the stem first, then each stage with its width and its blocks:

    r224:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.25-e0.2,...

`b` after the stem's widths: its middle block runs (left out: skipped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from ofa import fields
from ofa.errors import OfaError, shown
from ofa.families.genes import GeneGroup, GeneLayout
from ofa.families.subnet_forms import PICKS, subnet_from
from ofa.families.resnet.space import RATIO_RANGE, ResNetSpace, number

STEM_WIDTHS = 2  # width positions before the stages: the stem's middle and its output
_RATIO = r"[0-9]{1,3}(?:\.[0-9]{1,6})?"


@dataclass(frozen=True)
class ResNetSubnet:
    resolution: int
    stem_block: bool
    widths: tuple[int | float, ...]
    expands: tuple[tuple[int | float, ...], ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(e) for e in self.expands)

    def to_dict(self) -> dict[str, Any]:
        return {"resolution": self.resolution, "stem_block": self.stem_block, "widths": list(self.widths),
                "depths": list(self.depths), "expands": [list(e) for e in self.expands]}

    @classmethod
    def from_dict(cls, d: Any) -> "ResNetSubnet":
        if not isinstance(d, dict) or not {"resolution", "stem_block", "widths", "expands"} <= set(d):
            raise OfaError(f"a ResNet subnet needs 'resolution', 'stem_block', 'widths' and 'expands', got {shown(d)}")

        def ratio(value: Any, where: str) -> int | float:
            return number(fields.real(value, where, *RATIO_RANGE, what="ratios"))

        widths = tuple(ratio(w, "subnet widths") for w in fields.items(d["widths"], "subnet widths", "a list", longest=64))
        expands = tuple(tuple(ratio(e, "subnet expands") for e in fields.items(stage, "subnet expands", "lists of blocks",
                                                                               longest=64))
                        for stage in fields.items(d["expands"], "subnet expands", "a list of stages", longest=64))
        if "depths" in d and [fields.whole(n, "subnet depths", "depth") for n in
                              fields.items(d["depths"], "subnet depths", "a list of depths", longest=64)] != \
                [len(e) for e in expands]:
            raise OfaError(f"subnet depths {shown(d['depths'])} disagree with its expand lists")
        return cls(fields.whole(d["resolution"], "subnet resolution", "resolution"),
                   fields.flag(d["stem_block"], "subnet stem_block"), widths, expands)

    def __str__(self) -> str:
        stem = "-".join(f"w{w}" for w in self.widths[:STEM_WIDTHS]) + ("-b" if self.stem_block else "")
        stages = [f"w{w}" + "".join(f"-e{e}" for e in es) for w, es in zip(self.widths[STEM_WIDTHS:], self.expands)]
        return f"r{self.resolution}:" + ",".join([stem, *stages])

    @classmethod
    def parse(cls, text: str) -> "ResNetSubnet":
        """Inverse of str()."""
        example = "'r224:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.2'"
        m = re.fullmatch(r"\s*r([0-9]{1,5}):(.+?)\s*", text) if len(text) < 10_000 else None
        if not m:
            raise OfaError(f"cannot read ResNet subnet {shown(text)}; expected e.g. {example}")
        stem, *stages = m.group(2).split(",")
        sm = re.fullmatch(rf"w({_RATIO})-w({_RATIO})(-b)?", stem.strip())
        if not sm:
            raise OfaError(f"cannot read the stem {shown(stem)} of ResNet subnet {shown(text)}: expected two widths "
                           f"and '-b' if its middle block runs, e.g. 'w0.65-w1-b'")
        widths, expands = [number(sm.group(1)), number(sm.group(2))], []
        for stage in stages:
            tokens = stage.strip().split("-")
            wm = re.fullmatch(rf"w({_RATIO})", tokens[0])
            blocks = [re.fullmatch(rf"e({_RATIO})", t) for t in tokens[1:]]
            if not wm or not all(blocks):
                raise OfaError(f"cannot read stage {shown(stage)} of ResNet subnet {shown(text)}: expected a width "
                               f"then one expand ratio per block, e.g. 'w0.8-e0.2-e0.25'")
            widths.append(number(wm.group(1)))
            expands.append(tuple(number(b.group(1)) for b in blocks))
        return cls(int(m.group(1)), sm.group(3) is not None, tuple(widths), tuple(expands))


def check_subnet(space: ResNetSpace, subnet: ResNetSubnet) -> ResNetSubnet:
    """Raise a one-line OfaError naming the first value outside the space."""
    if subnet.resolution not in space.resolutions:
        raise OfaError(f"resolution {subnet.resolution} is not in space '{space.name}' "
                       f"(allowed: {list(space.resolutions)})")
    if len(subnet.expands) != len(space.stages):
        raise OfaError(f"subnet has {len(subnet.expands)} stages, space '{space.name}' has {len(space.stages)}")
    if len(subnet.widths) != STEM_WIDTHS + len(space.stages):
        raise OfaError(f"subnet has {len(subnet.widths)} widths; space '{space.name}' takes "
                       f"{STEM_WIDTHS + len(space.stages)} (the stem's middle and output, then one per stage)")
    for i, w in enumerate(subnet.widths):
        if w not in space.widths:
            raise OfaError(f"width {i + 1}: multiplier {w} is not allowed (allowed: {list(space.widths)})")
    if not subnet.stem_block and not space.stem_skippable:
        raise OfaError(f"space '{space.name}' does not let a subnet skip the stem's middle block")
    for i, (stage, es) in enumerate(zip(space.stages, subnet.expands)):
        if len(es) not in stage.depths:
            raise OfaError(f"stage {i + 1}: depth {len(es)} is not allowed (allowed: {list(stage.depths)})")
        for j, e in enumerate(es):
            if e not in space.expands:
                raise OfaError(f"stage {i + 1} block {j + 1}: expand {e} is not allowed "
                               f"(allowed: {list(space.expands)})")
    return subnet


def to_subnet(space: ResNetSpace, value: "ResNetSubnet | str | dict") -> ResNetSubnet:
    """Accept a subnet, its string, its dict, or 'max' / 'min'; always checked against the space."""
    return subnet_from(space, value, ResNetSubnet, sample_subnet, check_subnet)


def sample_subnet(space: ResNetSpace, kind: str = "uniform",
                  seed: int | np.random.Generator | None = None) -> ResNetSubnet:
    """Largest, smallest, middle or uniformly random subnet; random needs a seed or a Generator."""
    n_widths = STEM_WIDTHS + len(space.stages)
    if kind in PICKS:
        pick = PICKS[kind]
        return ResNetSubnet(pick(space.resolutions), kind != "min" or not space.stem_skippable,
                            (pick(space.widths),) * n_widths,
                            tuple((pick(space.expands),) * pick(s.depths) for s in space.stages))
    if kind != "uniform":
        raise ValueError(f"unknown sample kind {kind!r}")
    if seed is None:
        raise ValueError("uniform sampling needs an explicit seed or numpy Generator")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    choose = lambda values: values[int(rng.integers(len(values)))]  # noqa: E731
    widths = tuple(choose(space.widths) for _ in range(n_widths))
    expands = tuple(tuple(choose(space.expands) for _ in range(choose(s.depths))) for s in space.stages)
    stem_block = bool(rng.integers(2)) if space.stem_skippable else True
    return ResNetSubnet(choose(space.resolutions), stem_block, widths, expands)


# -- integer genes --------------------------------------------------------------------------------
# Layout: [resolution, stem block, depth per stage, width per position, expand per block slot].


@lru_cache(maxsize=64)
def gene_layout(space: ResNetSpace) -> GeneLayout:
    slots = [(i, j) for i, stage in enumerate(space.stages) for j in range(stage.max_depth)]
    return GeneLayout((
        GeneGroup("resolution", (space.resolutions,)),
        GeneGroup("stem", ((False, True) if space.stem_skippable else (True,),)),
        GeneGroup("depth", tuple(stage.depths for stage in space.stages)),
        GeneGroup("width", (space.widths,) * (STEM_WIDTHS + len(space.stages))),
        GeneGroup("expand", (space.expands,) * len(slots), tuple(i for i, _ in slots), tuple(j for _, j in slots)),
    ))


def encode(space: ResNetSpace, subnet: ResNetSubnet) -> np.ndarray:
    check_subnet(space, subnet)
    genes = [space.resolutions.index(subnet.resolution), int(subnet.stem_block) if space.stem_skippable else 0]
    genes += [s.depths.index(len(es)) for s, es in zip(space.stages, subnet.expands)]
    genes += [space.widths.index(w) for w in subnet.widths]
    for s, es in zip(space.stages, subnet.expands):
        genes += [space.expands.index(e) for e in es] + [0] * (s.max_depth - len(es))
    return np.asarray(genes, dtype=np.int64)


def decode(space: ResNetSpace, genes: Sequence[int] | np.ndarray) -> ResNetSubnet:
    layout = gene_layout(space)
    genes = layout.checked(genes, space.name)
    expands, used = layout.take(genes, "expand")[0], layout.in_use(genes, "expand")[0]
    stage_of = np.asarray(layout.group("expand").stages)
    return ResNetSubnet(
        space.resolutions[layout.take(genes, "resolution")[0, 0]],
        layout.group("stem").values[0][layout.take(genes, "stem")[0, 0]],
        tuple(space.widths[g] for g in layout.take(genes, "width")[0]),
        tuple(tuple(space.expands[g] for g in expands[(stage_of == i) & used]) for i in range(len(space.stages))),
    )
