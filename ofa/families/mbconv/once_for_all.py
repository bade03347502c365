"""once-for-all's elastic MobileNetV3 (`OFAMobileNetV3`) and ProxylessNAS (`OFAProxylessNASNets`) as
their checkpoints name things.

Block 0 of once-for-all's `blocks` is our fixed first block; blocks 1.. fill our stages' slots in
order (every stage has `max_depth` slots there as here). MobileNetV3's head is `final_expand_layer`
(our head's expand) and `feature_mix_layer` (its feature mix); ProxylessNAS has no feature mix, and
its `feature_mix_layer` is our head's expand (a space with `feature_width: 0`). Key spellings of every
once-for-all release are accepted, as its own loader accepts them: `.mobile_inverted_conv.` or `.conv.`
for a block's layer, `.bn.bn.` or `.bn.`, `.conv.conv.weight` or `.conv.weight`, `.linear.linear.` or
`.linear.`.

Kernel transforms: once-for-all turns a centre crop of a larger depthwise kernel into the next
smaller one with `F.linear(crop, M)`, i.e. crop @ M.T (`7to5_matrix`, `5to3_matrix`); our
ElasticDepthwise computes crop @ M. So each matrix is stored here transposed (`our_value`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from ofa.families.mbconv.space import SearchSpace

# (older or longer spelling, the one kept), applied in this order, as once-for-all's loader does
_SPELLINGS = ((".mobile_inverted_conv.", ".conv."), (".bn.bn.", ".bn."), (".conv.conv.weight", ".conv.weight"),
              (".linear.linear.", ".linear."))
_FIRST_BLOCK = {"depthwise": "depth_conv", "project": "point_linear"}
_BLOCK = (  # (our key's start inside a block, once-for-all's)
    ("expand.", "inverted_bottleneck."),
    ("depthwise.conv.weight", "depth_conv.conv.weight"),
    ("depthwise.bn.", "depth_conv.bn."),
    ("se.reduce.", "depth_conv.se.fc.reduce."),
    ("se.expand.", "depth_conv.se.fc.expand."),
    ("project.", "point_linear."),
)
_HEAD = (("expand.", "final_expand_layer."), ("mix.0.weight", "feature_mix_layer.conv.weight"),
         ("classifier.", "classifier.linear."))
_HEAD_WITHOUT_MIX = (("expand.", "feature_mix_layer."), ("classifier.", "classifier.linear."))
_TRANSFORM = re.compile(r"depthwise\.conv\.transforms\.(\d+)to(\d+)")


def canonical_key(key: str) -> str:
    """once-for-all's key in one spelling (the shortest its loader accepts)."""
    for old, new in _SPELLINGS:
        key = key.replace(old, new)
    return key


def _swap(rest: str, table: tuple[tuple[str, str], ...], our_key: str) -> str:
    for ours, theirs in table:
        if rest.startswith(ours):
            return theirs + rest[len(ours):]
    raise ValueError(f"no once-for-all counterpart for {our_key}")  # a supernet key this module forgot


def source_key(our_key: str, space: "SearchSpace") -> str:
    """once-for-all's (canonical) key of one key of our Supernet's state dict."""
    part, _, rest = our_key.partition(".")
    if part == "stem":
        return "first_conv." + rest
    if part == "first_block":
        layer, _, tail = rest.partition(".")
        return f"blocks.0.conv.{_FIRST_BLOCK[layer]}.{tail}"
    if part == "stages":
        stage, slot, rest = rest.split(".", 2)
        block = 1 + sum(s.max_depth for s in space.stages[: int(stage)]) + int(slot)
        m = _TRANSFORM.fullmatch(rest)
        inner = f"depth_conv.conv.{m[1]}to{m[2]}_matrix" if m else _swap(rest, _BLOCK, our_key)
        return f"blocks.{block}.conv.{inner}"
    if part == "head":
        return _swap(rest, _HEAD if space.feature_width else _HEAD_WITHOUT_MIX, our_key)
    raise ValueError(f"no once-for-all counterpart for {our_key}")


def our_value(our_key: str, value: "torch.Tensor") -> "torch.Tensor":
    """once-for-all's tensor for `our_key` as our supernet holds it: kernel transforms transposed."""
    return value.t() if _TRANSFORM.search(our_key) and value.ndim == 2 else value
