"""ofa: once-for-all's elastic MobileNetV3 (`OFAMobileNetV3`), ProxylessNAS (`OFAProxylessNASNets`) and
ResNet (`OFAResNets`), as its published checkpoints hold them. Each family's `once_for_all` module
(ofa.families.mbconv.once_for_all, ofa.families.resnet.once_for_all) places its keys and tensors;
this one checks a whole checkpoint against a space and converts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa.errors import OfaError
from ofa.limits import check

if TYPE_CHECKING:
    import torch

NAME = "ofa"
WRAPPER = "state_dict"
# once-for-all's model zoo (ofa/model_zoo.py, `ofa_net`): the file's name is the network's id, but for
# its ResNet50, which lives elsewhere under another name
ZOO = "https://raw.githubusercontent.com/han-cai/files/master/ofa/ofa_nets/"
PUBLISHED = {  # name -> (space, url)
    "ofa_mbv3_d234_e346_k357_w1.0": ("mbv3-w1.0", ZOO + "ofa_mbv3_d234_e346_k357_w1.0"),
    "ofa_mbv3_d234_e346_k357_w1.2": ("mbv3-w1.2", ZOO + "ofa_mbv3_d234_e346_k357_w1.2"),
    "ofa_proxyless_d234_e346_k357_w1.3": ("proxyless-w1.3", ZOO + "ofa_proxyless_d234_e346_k357_w1.3"),
    "ofa_resnet50": ("resnet50", "https://huggingface.co/han-cai/ofa/resolve/main/ofa_supernet_resnet50"),
}


def _shape(t) -> str:
    return "x".join(map(str, t.shape)) or "a scalar"


def _num_classes(state: dict[str, "torch.Tensor"], source: str, space) -> int:
    weight = state.get("classifier.linear.weight")
    if weight is None or weight.ndim != 2:
        raise OfaError(f"{source}: no classifier (classifier.linear.weight) in the layout of once-for-all's "
                       f"{_NETWORKS[space.family]}" + _other_family(state, space))
    return check(int(weight.shape[0]), "classes", f"{source}: classifier.linear.weight")


_NETWORKS = {"mbconv": "MobileNetV3 and ProxylessNAS networks", "resnet": "ResNets (OFAResNets)"}
_FIRST_KEYS = {"mbconv": "first_conv.", "resnet": "input_stem."}  # how each family's checkpoints start


def _other_family(state: dict[str, "torch.Tensor"], space) -> str:
    for family, start in _FIRST_KEYS.items():
        if family != space.family and any(k.startswith(start) for k in state):
            fits = sorted(name for name, p in PUBLISHED.items() if _space_family(p[0]) == family)
            return (f"; it looks like once-for-all's {_NETWORKS[family]}: import it into a {family} space "
                    f"(as {', '.join(fits)})")
    return ""


def _space_family(name: str) -> str:
    from ofa.spaces import get_space

    return get_space(name).family


def _other_width(state: dict[str, "torch.Tensor"], space) -> str:
    from ofa.spaces import list_spaces

    stem = state.get("first_conv.conv.weight")
    if space.family != "mbconv" or stem is None or stem.ndim != 4 or stem.shape[0] == space.stem_width:
        return ""
    fits = [s.name for s in list_spaces().values() if s.family == "mbconv" and s.stem_width == stem.shape[0]]
    return (f" (its stem is {stem.shape[0]} channels wide, the space's {space.stem_width}: a checkpoint of another "
            f"width" + (f"; space {', '.join(fits)} has that stem" if fits else "") + ")")


def _key_layout(space):
    """The once-for-all module of the space's family (`ofa.families.<family>.once_for_all`):
    `canonical_key`, `source_key`, `our_value`."""
    import importlib

    return importlib.import_module(f"ofa.families.{space.family}.once_for_all")


def convert(state: dict[str, "torch.Tensor"], space, source: str) -> dict[str, "torch.Tensor"]:
    """Our supernet's state dict from once-for-all's; refuses a key it cannot place, a key it lacks,
    two spellings of one tensor, and any shape that differs from the space's."""
    import torch

    from ofa.supernet import build_supernet

    layout = _key_layout(space)
    canonical_key, source_key = layout.canonical_key, layout.source_key
    canonical: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = canonical_key(key)
        if name in canonical:
            raise OfaError(f"{source}: '{key}' and another key are two spellings of one tensor ({name})")
        canonical[name] = value
    num_classes = _num_classes(canonical, source, space)
    with torch.device("meta"):  # shapes and keys only: nothing is allocated or initialised
        expected = build_supernet(space, num_classes).state_dict()
    out, used = {}, set()
    for ours, like in expected.items():
        theirs = source_key(ours, space)
        value = canonical.get(theirs)
        if value is None and theirs.endswith("num_batches_tracked"):  # older torch did not save it
            value = torch.zeros((), dtype=torch.long)
        if value is None:
            missing = [k for k in map(lambda o: source_key(o, space), expected) if k not in canonical
                       and not k.endswith("num_batches_tracked")]
            raise OfaError(f"{source} is not a once-for-all checkpoint of space '{space.name}': it lacks '{theirs}'"
                           + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
                           + (_other_family(canonical, space) or _other_width(canonical, space)))
        value = layout.our_value(ours, value)
        if value.shape != like.shape:
            raise OfaError(f"{source} does not fit space '{space.name}': '{theirs}' is {_shape(value)}, the space "
                           f"needs {_shape(like)}" + _other_width(canonical, space))
        out[ours] = value.to(like.dtype).contiguous()
        used.add(theirs)
    unused = [k for k in canonical if k not in used]
    if unused:
        raise OfaError(f"{source} does not fit space '{space.name}': it holds '{unused[0]}', which the space has "
                       f"no place for" + (f" ({len(unused)} such keys)" if len(unused) > 1 else "")
                       + (_other_family(canonical, space) or _other_width(canonical, space)))
    return out
