"""The batches of one training run: training batches (resumable mid-epoch, the same on every rank
count), BatchNorm-calibration batches and validation batches."""

from __future__ import annotations

import torch

from ofa.errors import OfaError
from ofa.train.distributed import World
from ofa.train.recipe import Recipe
from ofa.train.sampler import EpochSeededDataset, ResumableBatchSampler, epoch_generator


class Loaders:
    def __init__(self, recipe: Recipe, world: World, data_root: str | None, download: bool):
        self.train = recipe.dataset("train", augment=recipe.augment, root=data_root, download=download)
        if not self.train.num_classes:
            raise OfaError(f"{self.train.name} holds images without class folders: training needs labels "
                           f"(PATH/<class>/<image>)")
        self.plain = recipe.dataset("train", root=data_root, download=download)
        self.val = recipe.dataset("val", root=data_root, download=download)
        self.sampler = ResumableBatchSampler(len(self.train.dataset), recipe.batch_size, recipe.seed,
                                             world.rank, world.size)
        self.items = EpochSeededDataset(self.train.dataset, recipe.seed)
        self.workers = recipe.workers
        self.recipe = recipe
        self.memory_format = torch.channels_last if recipe.channels_last else torch.contiguous_format

    def epoch(self, epoch_id: int, start_step: int):
        """Epoch `epoch_id`'s batches from `start_step` on (a resumed epoch skips what was done)."""
        self.sampler.set_position(epoch_id, start_step)
        self.items.set_epoch(epoch_id)
        return torch.utils.data.DataLoader(self.items, batch_sampler=self.sampler, num_workers=self.workers,
                                           persistent_workers=False, generator=epoch_generator(self.recipe.seed, epoch_id))

    def calibration(self, batch_size: int = 100):
        g = torch.Generator().manual_seed(self.recipe.seed)
        n = min(self.recipe.bn_calib_images, len(self.plain.dataset))
        subset = torch.utils.data.Subset(self.plain.dataset, torch.randperm(len(self.plain.dataset), generator=g)[:n].tolist())
        return torch.utils.data.DataLoader(subset, batch_size=batch_size, num_workers=self.workers)

    def validation(self, batch_size: int = 200):
        return torch.utils.data.DataLoader(self.val.dataset, batch_size=batch_size, num_workers=self.workers)
