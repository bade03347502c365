import json

import numpy as np
import pytest
import yaml

from ofa.errors import OfaError
from ofa.families import read_space as space_from_dict
from ofa.families.mbconv.subnet import Subnet
from ofa.spaces import (
    check_subnet, decode, encode, gene_bounds, gene_layout, get_space, list_spaces, sample_subnet, to_subnet,
)

SPACES = ["mbv3-w1.0", "cifar-mbv3", "tiny"]


def test_builtin_spaces_are_registered():
    assert set(SPACES) <= set(list_spaces())


def test_mbv3_matches_the_once_for_all_space():
    s = get_space("mbv3-w1.0")
    assert [st.width for st in s.stages] == [24, 40, 80, 112, 160]
    assert [st.stride for st in s.stages] == [2, 2, 2, 1, 2]
    assert [st.act for st in s.stages] == ["relu", "relu", "hswish", "hswish", "hswish"]
    assert [st.se for st in s.stages] == [False, True, False, True, True]
    assert (s.stem_width, s.first_block_width, s.head_width, s.feature_width) == (16, 16, 960, 1280)
    assert s.resolutions == tuple(range(128, 225, 4))
    assert s.num_architectures == 7371**5
    assert f"{s.num_architectures:.2e}" == "2.18e+19"


def test_tiny_space_counts_by_hand():
    s = get_space("tiny")
    # per stage: depth 1 -> 4 block choices, depth 2 -> 16
    assert s.num_architectures == (4 + 16) ** 3


@pytest.mark.parametrize("name", SPACES)
def test_fingerprint_ignores_name_but_not_shape(name):
    s = get_space(name)
    d = s.to_dict()
    d["name"], d["description"] = "other", "other"
    assert space_from_dict(d).fingerprint() == s.fingerprint()
    d["stages"][0]["width"] += 8
    assert space_from_dict(d).fingerprint() != s.fingerprint()


def test_restrict_narrows_and_refuses_outside():
    s = get_space("mbv3-w1.0")
    r = s.restrict(kernels=[7], depths=[4], expands=[6], resolutions=[224])
    assert r.num_architectures == 1 and r.resolutions == (224,)
    with pytest.raises(OfaError, match="kernel choice"):
        s.restrict(kernels=[9])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("stages"), r"my.yaml.stages: missing field"),
        (lambda d: d.update(colour="red"), "my.yaml.colour: unknown field; known: name, stages"),
        (lambda d: d.update(head_widht=960), r"my.yaml.head_widht: unknown field \(did you mean 'head_width'\?\)"),
        (lambda d: d["stages"][0].update(kernel=[3]), r"stages\[0\].kernel: unknown field \(did you mean 'kernels'\?\)"),
        (lambda d: d["stages"][0].update(kernels=[4]), r"stages\[0\].kernels"),
        (lambda d: d["stages"][1].update(width=-3), r"stages\[1\].width"),
        (lambda d: d["stages"][0].update(act="gelu"), r"stages\[0\].act"),
        (lambda d: d["stages"][0].update(stride=3), r"stages\[0\].stride"),
        (lambda d: d["stages"][0].update(depths="two"), r"stages\[0\].depths"),
        (lambda d: d.update(resolutions=[]), "resolutions"),
        (lambda d: d.update(dropout=2), "dropout"),
    ],
)
def test_malformed_space_names_the_field(mutate, message):
    d = get_space("tiny").to_dict()
    mutate(d)
    with pytest.raises(OfaError, match=message) as e:
        space_from_dict(d, source="my.yaml")
    assert "\n" not in str(e.value)


def test_space_from_yaml_file(tmp_path):
    path = tmp_path / "mine.yaml"
    d = get_space("tiny").to_dict()
    d["name"] = "mine"
    path.write_text(yaml.safe_dump(d))
    assert get_space(str(path)).fingerprint() == get_space("tiny").fingerprint()
    path.write_text("name: [unclosed")
    with pytest.raises(OfaError, match="not valid YAML"):
        get_space(str(path))


def test_unknown_space():
    with pytest.raises(OfaError, match="unknown search space 'nope'; known: .*tiny"):
        get_space("nope")


@pytest.mark.parametrize("name", SPACES)
def test_subnet_forms_round_trip(name):
    s = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = sample_subnet(s, "uniform", rng)
        assert check_subnet(s, n) is n
        assert Subnet.parse(str(n)) == n
        assert Subnet.from_dict(json.loads(json.dumps(n.to_dict()))) == n
        g = encode(s, n)
        lo, hi = gene_bounds(s)
        assert g.shape == hi.shape and (g >= lo).all() and (g <= hi).all()
        assert decode(s, g) == n


def test_sampling_is_seeded_and_extremes_are_extreme():
    s = get_space("mbv3-w1.0")
    assert sample_subnet(s, "uniform", 7) == sample_subnet(s, "uniform", 7)
    assert sample_subnet(s, "uniform", 7) != sample_subnet(s, "uniform", 8)
    big, small = sample_subnet(s, "max"), sample_subnet(s, "min")
    assert big.depths == (4,) * 5 and big.resolution == 224 and set(sum(big.kernels, ())) == {7}
    assert small.depths == (2,) * 5 and small.resolution == 128 and set(sum(small.expands, ())) == {3}
    with pytest.raises(ValueError, match="seed"):
        sample_subnet(s, "uniform")


def test_uniform_sampling_covers_every_choice():
    s = get_space("tiny")
    seen = {encode(s, sample_subnet(s, "uniform", i)).tobytes() for i in range(3000)}
    assert len(seen) > 2000  # 8000 * 3 resolutions exist; collisions are rare


def test_random_genes_decode_to_valid_subnets():
    s = get_space("cifar-mbv3")
    lo, hi = gene_bounds(s)
    rng = np.random.default_rng(1)
    genes = rng.integers(lo, hi + 1, size=(50, hi.size))
    masks = gene_layout(s).in_use(genes, "kernel")
    for g, mask in zip(genes, masks):
        n = check_subnet(s, decode(s, g))
        assert mask.sum() == sum(n.depths)
        # canonical form: re-encoding zeroes the unused slots only
        assert decode(s, encode(s, n)) == n


@pytest.mark.parametrize(
    "text, message",
    [
        ("r100:k3e3,k3e3-k3e3,k3e3", "resolution 100"),
        ("r32:k7e3,k3e3,k3e3", "kernel 7"),
        ("r32:k3e9,k3e3,k3e3", "expand 9"),
        ("r32:k3e3-k3e3-k3e3,k3e3,k3e3", "depth 3"),
        ("r32:k3e3,k3e3", "2 stages"),
        ("32:k3e3", "cannot read subnet"),
        ("r32:k3x3,k3e3,k3e3", "cannot read block"),
    ],
)
def test_subnet_outside_space_is_one_clear_line(text, message):
    with pytest.raises(OfaError, match=message) as e:
        to_subnet(get_space("tiny"), text)
    assert "\n" not in str(e.value)


def test_decode_refuses_out_of_bounds_genes():
    s = get_space("tiny")
    _, hi = gene_bounds(s)
    with pytest.raises(OfaError):
        decode(s, hi + 1)
