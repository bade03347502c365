"""The gene layout: groups and offsets, bounds, the genes a subnet uses, canonical vectors."""

import numpy as np
import pytest

from ofa.spaces import decode, encode, gene_layout, get_space, sample_subnet


@pytest.mark.parametrize("name", ["tiny", "cifar-mbv3", "mbv3-w1.0"])
def test_groups_tile_the_vector_in_order(name):
    space = get_space(name)
    layout = gene_layout(space)
    assert [g.name for g in layout.groups] == ["resolution", "depth", "kernel", "expand"]
    covered = np.concatenate([np.arange(layout.size)[layout.slice(g.name)] for g in layout.groups])
    assert covered.tolist() == list(range(layout.size))
    assert len(layout.group("depth")) == len(space.stages)
    assert len(layout.group("kernel")) == len(layout.group("expand")) == sum(s.max_depth for s in space.stages)


def test_take_reads_what_encode_wrote():
    space = get_space("cifar-mbv3")
    layout = gene_layout(space)
    rng = np.random.default_rng(0)
    for _ in range(20):
        subnet = sample_subnet(space, "uniform", rng)
        genes = encode(space, subnet)[None]
        assert space.resolutions[layout.take(genes, "resolution")[0, 0]] == subnet.resolution
        assert layout.depths(genes)[0].tolist() == list(subnet.depths)
        kernels = [space.stages[i].kernels[g] for i, g in zip(layout.group("kernel").stages, layout.take(genes, "kernel")[0])]
        used = layout.in_use(genes, "kernel")[0]
        assert [k for k, u in zip(kernels, used) if u] == [k for stage in subnet.kernels for k in stage]


def test_bounds_used_and_canonical():
    space = get_space("tiny")
    layout = gene_layout(space)
    lower, upper = layout.bounds()
    rng = np.random.default_rng(1)
    genes = rng.integers(lower, upper + 1, size=(200, layout.size))
    used = layout.used(genes)
    assert used[:, layout.slice("resolution")].all() and used[:, layout.slice("depth")].all()
    canonical = layout.canonical(genes)
    assert (canonical[~used] == 0).all() and (canonical[used] == genes[used]).all()
    for row, back in zip(genes, canonical):  # unused genes change nothing, and canonical is what encode gives
        assert (encode(space, decode(space, row)) == back).all()
    # every slot gene past its stage's depth is unused, every one within it used
    depth = layout.depths(genes)
    group = layout.group("expand")
    expected = np.asarray(group.positions)[None] < depth[:, np.asarray(group.stages)]
    assert (layout.in_use(genes, "expand") == expected).all()
