"""Deterministic, resumable batches: the order of epoch e depends only on (seed, e), each global
batch is split into equal contiguous shares per rank, and a run resumed at step s starts from
batch s without loading (or drawing random numbers for) the batches before it. Each image's
augmentation depends only on (seed, epoch, index), so neither loader processes nor a resume
mid-epoch change what a batch holds."""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Dataset, Sampler

from ofa.errors import OfaError

_MIX = 2**61 - 1  # a prime: (seed, epoch, index) -> one 61-bit seed, distinct for any realistic run


class ResumableBatchSampler(Sampler[list[int]]):
    def __init__(self, size: int, global_batch: int, seed: int, rank: int = 0, world: int = 1):
        if global_batch % world:
            raise OfaError(f"batch size {global_batch} is not divisible by {world} processes")
        if size < global_batch:
            raise OfaError(f"the data set's {size} training images are fewer than one batch of {global_batch}; "
                           f"lower batch_size or add images")
        self.size, self.global_batch, self.seed = size, global_batch, seed
        self.rank, self.world = rank, world
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start_step: int = 0) -> None:
        self.epoch, self.start = epoch, start_step

    def __len__(self) -> int:
        return self.size // self.global_batch - self.start

    def __iter__(self) -> Iterator[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        share = self.global_batch // self.world
        for step in range(self.start, self.size // self.global_batch):
            first = step * self.global_batch + self.rank * share
            yield order[first : first + share]


def steps_per_epoch(size: int, global_batch: int) -> int:
    return size // global_batch


class EpochSeededDataset(Dataset):
    """Draws each item's random augmentation from torch's generator seeded by (seed, epoch, index),
    forked so that the training process's own random state is left as it was. torchvision draws
    from the global generator: unseeded, a loader process or a resumed epoch would draw other
    crops than an uninterrupted single process (resume was inexact after mid-epoch checkpoints)."""

    def __init__(self, dataset, seed: int):
        self.dataset, self.seed, self.epoch = dataset, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(((self.seed * 1_000_003 + self.epoch) * 100_000_007 + index) % _MIX)
            return self.dataset[index]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """For a DataLoader: its loader processes' seeds come from here, not from the training
    process's generator (each new loader would otherwise draw from it)."""
    return torch.Generator().manual_seed(seed * 100_003 + epoch)
