"""once-for-all's elastic ResNet (`OFAResNets`) as its checkpoints and its predictor name things.

Keys: once-for-all's `input_stem.0`, `.1` (a residual block around a convolution) and `.2` are our
`stem`, `stem_block` and `stem_out`; its `blocks.N` fill our stages' slots in order (every stage has
base depth + 2 slots there as here), their `downsample` is our `shortcut`; its `classifier.linear`
is our `head.linear`. Keys are compared in one spelling (see SPELLINGS), as its own loader accepts
the elastic modules' and the static ones'.

Its ResNet50 accuracy predictor (`AccuracyPredictor`): `layers.i.0` Linear layers with ReLU, a last
`layers.n` Linear without bias, and `base_acc` added to the output (top-1 as a fraction).

Subnets: once-for-all names one as `{"d": [stem, depth offsets...], "e": [expand per slot...],
"w": [width index per position...], "image_size": r}`, where `d[0]` is 2 when the stem's middle block
runs and 0 when it is skipped, and each stage's depth is its smallest depth plus its offset.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ofa.errors import OfaError, shown
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.subnet import ResNetSubnet, check_subnet

# a layer's tensors sit one level deeper in once-for-all's elastic modules than in its static ones
# (`conv1.conv.conv.weight` or `conv1.conv.weight`, `.bn.bn.` or `.bn.`, `.linear.linear.` or `.linear.`),
# and its loader accepts either: runs of one name collapse to one, whichever spelling a file has
SPELLINGS = ((re.compile(r"(?:\.conv)+\.weight$"), ".conv.weight"), (re.compile(r"(?:\.bn)+\."), ".bn."),
             (re.compile(r"(?:\.linear)+\."), ".linear."))
_STEM = {"stem": "input_stem.0", "stem_block": "input_stem.1", "stem_out": "input_stem.2"}
_BLOCK = {"conv1": "conv1", "conv2": "conv2", "conv3": "conv3", "shortcut": "downsample"}


def canonical_key(key: str) -> str:
    """once-for-all's key in one spelling (the shortest), the same for every spelling its loader accepts."""
    for pattern, short in SPELLINGS:
        key = pattern.sub(short, key)
    return key


def source_key(our_key: str, space: ResNetSpace) -> str:
    """once-for-all's (canonical) key of one key of our ResNetSupernet's state dict."""
    part, _, rest = our_key.partition(".")
    if part in _STEM:
        return canonical_key(f"{_STEM[part]}.{rest}")
    if part == "stages":
        stage, slot, layer, tail = rest.split(".", 3)
        block = sum(s.max_depth for s in space.stages[: int(stage)]) + int(slot)
        return canonical_key(f"blocks.{block}.{_BLOCK[layer]}.{tail}")
    if part == "head":
        return canonical_key(f"classifier.{rest}")
    raise ValueError(f"no once-for-all counterpart for {our_key}")  # a supernet key this module forgot


def our_value(our_key: str, value: Any) -> Any:
    """once-for-all's tensor for `our_key` as our supernet holds it: every ResNet tensor is stored alike."""
    return value


def subnet_from_arch(space: ResNetSpace, arch: Any) -> ResNetSubnet:
    """Our subnet of once-for-all's architecture dict (the form its predictor and search use)."""
    if not isinstance(arch, dict) or not {"d", "e", "w", "image_size"} <= set(arch):
        raise OfaError(f"a once-for-all ResNet architecture needs 'd', 'e', 'w' and 'image_size', got {shown(arch)}")
    d, e, w = arch["d"], arch["e"], arch["w"]
    slots = [s.max_depth for s in space.stages]
    if len(d) != 1 + len(space.stages) or len(e) != sum(slots) or len(w) != 2 + len(space.stages):
        raise OfaError(f"once-for-all architecture {shown(arch)} does not fit space '{space.name}'")
    expands, start = [], 0
    for stage, offset, n in zip(space.stages, d[1:], slots):
        expands.append(tuple(e[start : start + min(stage.depths) + offset]))
        start += n
    try:
        widths = tuple(space.widths[i] for i in w)
    except (IndexError, TypeError):
        raise OfaError(f"once-for-all architecture {shown(arch)}: width indices outside {len(space.widths)}") from None
    return check_subnet(space, ResNetSubnet(arch["image_size"], d[0] > 0, widths, tuple(expands)))


def arch_from_subnet(space: ResNetSpace, subnet: ResNetSubnet) -> dict[str, Any]:
    """Inverse of `subnet_from_arch` (skipped slots get the smallest expand ratio, as once-for-all's
    own sampler leaves them some value)."""
    check_subnet(space, subnet)
    e = []
    for stage, es in zip(space.stages, subnet.expands):
        e += list(es) + [min(space.expands)] * (stage.max_depth - len(es))
    return {"d": [2 if subnet.stem_block else 0] + [len(es) - min(s.depths) for s, es in zip(space.stages, subnet.expands)],
            "e": e, "w": [space.widths.index(w) for w in subnet.widths], "image_size": subnet.resolution}


def predictor_arrays(state: dict[str, np.ndarray], inputs: int, source: str) -> dict[str, np.ndarray]:
    """once-for-all's ResNet accuracy predictor as our MLP's arrays (ofa.predictor.models: `w{i}` of
    shape (1, in, out), `b{i}` of shape (1, out)); its `base_acc` becomes the last layer's bias."""
    hidden = sorted(int(m[1]) for k in state if (m := re.fullmatch(r"layers\.(\d+)\.0\.weight", k)))
    last = len(hidden)
    expected = {f"layers.{i}.0.{p}" for i in hidden for p in ("weight", "bias")} | {f"layers.{last}.weight", "base_acc"}
    if not hidden or hidden != list(range(last)) or set(state) != expected:
        raise OfaError(f"{source}: expected the keys of once-for-all's ResNet accuracy predictor ('layers.0.0.weight', "
                       f"..., 'layers.N.weight', 'base_acc'), got {sorted(state)[:6]}")
    arrays, width = {}, inputs
    for i in hidden:
        w, b = state[f"layers.{i}.0.weight"], state[f"layers.{i}.0.bias"]
        if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
            raise OfaError(f"{source}: layer {i} has weight shape {tuple(w.shape)} and bias {tuple(b.shape)}, expected "
                           f"(any, {width})" + (f" ({inputs} inputs in once-for-all's ResNet50 encoding)" if i == 0 else ""))
        arrays[f"w{i}"], arrays[f"b{i}"] = w.T[None].astype(np.float32), b[None].astype(np.float32)
        width = w.shape[0]
    w, base = state[f"layers.{last}.weight"], state["base_acc"]
    if w.shape != (1, width) or base.shape != (1,):
        raise OfaError(f"{source}: the output layer is {tuple(w.shape)} and base_acc {tuple(base.shape)}, expected "
                       f"(1, {width}) and (1,)")
    arrays[f"w{last}"], arrays[f"b{last}"] = w.T[None].astype(np.float32), base.reshape(1, 1).astype(np.float32)
    return arrays
