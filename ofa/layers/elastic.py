"""Elastic layers: each holds the weights of its largest form and runs a smaller one on demand.

The active form is plain per-instance state, and every layer can hand out the weights of its
active form for a static copy (`static_state`). Every family builds its supernet from these.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ofa.layers.shapes import make_divisible


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over the first C channels of its buffers; updates only those slices.

    With `sync_group` set (see `set_batchnorm_sync`), training statistics are reduced over the
    process group, so N processes with batch B/N normalise exactly as one process with batch B."""

    sync_group: object = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        if self.training and self.sync_group is not None:
            return self._synced(x, c, factor)
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean[:c] if self.track_running_stats else None,
            self.running_var[:c] if self.track_running_stats else None,
            self.weight[:c], self.bias[:c], use_batch, factor, self.eps,
        )

    def _synced(self, x: torch.Tensor, c: int, factor: float) -> torch.Tensor:
        from torch.distributed.nn.functional import all_reduce

        xf = x.double()  # E[x^2] - E[x]^2 cancels badly in float32
        local = torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), xf.new_tensor([x.numel() / c])])
        with warnings.catch_warnings():  # deprecated in favour of a private module; still correct
            warnings.simplefilter("ignore", FutureWarning)
            total = all_reduce(local, group=self.sync_group)  # differentiable sum over processes
        n = total[-1]
        mean = total[:c] / n
        var = (total[c : 2 * c] / n - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.running_mean[:c].mul_(1 - factor).add_(factor * mean)
                self.running_var[:c].mul_(1 - factor).add_(factor * var * n / (n - 1).clamp_min(1))
        scale = (self.weight[:c] * torch.rsqrt(var + self.eps)).to(x.dtype)
        shift = (self.bias[:c] - mean * scale).to(x.dtype)
        return x * scale[None, :, None, None] + shift[None, :, None, None]

    def static_state(self, c: int) -> dict[str, torch.Tensor]:
        return {
            "weight": self.weight[:c], "bias": self.bias[:c],
            "running_mean": self.running_mean[:c], "running_var": self.running_var[:c],
            "num_batches_tracked": self.num_batches_tracked,
        }

    def permute_(self, order: torch.Tensor) -> None:
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            t.data.copy_(t.data[order])


class ElasticConv(nn.Module):
    """A convolution whose input and output channels are the first `cin` / `cout` of the largest:
    the input's own channel count, and `active_out` (1x1 by default)."""

    def __init__(self, max_in: int, max_out: int, kernel: int = 1, stride: int = 1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.weight = nn.Parameter(torch.empty(max_out, max_in, kernel, kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.active_out = max_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight[: self.active_out, : x.shape[1]], None, self.stride, self.kernel // 2)

    def static_state(self, cin: int, cout: int) -> dict[str, torch.Tensor]:
        return {"weight": self.weight[:cout, :cin]}


class ElasticDepthwise(nn.Module):
    """Depthwise conv whose smaller kernels are centre crops of the largest, each passed through a
    learned (k*k x k*k) transformation, initialised to identity, step by step (7 -> 5 -> 3)."""

    def __init__(self, max_channels: int, kernels: tuple[int, ...], stride: int):
        super().__init__()
        self.kernels = tuple(sorted(kernels))
        self.stride = stride
        kmax = self.kernels[-1]
        self.weight = nn.Parameter(torch.empty(max_channels, 1, kmax, kmax))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.transforms = nn.ParameterDict(
            {f"{big}to{small}": nn.Parameter(torch.eye(small * small))
             for big, small in zip(self.kernels[1:], self.kernels[:-1])}
        )
        self.active_kernel = kmax

    def kernel_weight(self, channels: int, k: int) -> torch.Tensor:
        w = self.weight[:channels]
        size = self.kernels[-1]
        for small in reversed(self.kernels[:-1]):
            if small < k:
                break
            start = (size - small) // 2
            crop = w[:, :, start : start + small, start : start + small]
            matrix = self.transforms[f"{size}to{small}"]
            w = (crop.reshape(channels, small * small) @ matrix).reshape(channels, 1, small, small)
            size = small
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, k = x.shape[1], self.active_kernel
        return F.conv2d(x, self.kernel_weight(c, k), None, self.stride, k // 2, 1, c)

    def static_state(self, channels: int, k: int) -> dict[str, torch.Tensor]:
        return {"weight": self.kernel_weight(channels, k)}


class ElasticSE(nn.Module):
    """Squeeze-excite over the first C channels, with hidden width make_divisible(C / reduction)."""

    def __init__(self, max_channels: int, reduction: int, divisor: int):
        super().__init__()
        self.reduction, self.divisor = reduction, divisor
        hidden = self.hidden(max_channels)
        self.reduce = nn.Conv2d(max_channels, hidden, 1, bias=True)
        self.expand = nn.Conv2d(hidden, max_channels, 1, bias=True)

    def hidden(self, channels: int) -> int:
        return make_divisible(channels // self.reduction, self.divisor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        h = self.hidden(c)
        s = x.mean((2, 3), keepdim=True)
        s = F.relu(F.conv2d(s, self.reduce.weight[:h, :c], self.reduce.bias[:h]))
        s = F.conv2d(s, self.expand.weight[:c, :h], self.expand.bias[:c])
        return x * F.hardsigmoid(s)

    def static_state(self, c: int) -> dict[str, torch.Tensor]:
        h = self.hidden(c)
        return {
            "reduce.weight": self.reduce.weight[:h, :c], "reduce.bias": self.reduce.bias[:h],
            "expand.weight": self.expand.weight[:c, :h], "expand.bias": self.expand.bias[:c],
        }


def set_batchnorm_sync(model: nn.Module, group: object | None) -> None:
    """Reduce training BN statistics over `group` (a process group, or WORLD); None turns it off."""
    for m in model.modules():
        if isinstance(m, ElasticBatchNorm2d):
            m.sync_group = group


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


class ElasticNetwork(nn.Module):
    """What every family's supernet shares: its own `set_active` picks the subnet that runs, and
    `active` runs one for the length of a `with` block; `stages` hold each stage's blocks, of which
    the active subnet runs the first `depth`."""

    active_subnet: Any
    stages: nn.ModuleList

    def run_stages(self, x: torch.Tensor) -> torch.Tensor:
        for blocks, depth in zip(self.stages, self.active_subnet.depths):
            for block in blocks[:depth]:
                x = block(x)
        return x

    @torch.no_grad()
    def reorder_channels(self) -> None:
        """Sort every block's expanded or middle channels by importance (before elastic-expand training)."""
        for blocks in self.stages:
            for block in blocks:
                block.reorder_channels()

    def static_copy(self, model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
        """`model` (an extracted static network) holding copies of `state`, in this supernet's mode and
        on its device."""
        model.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=True)
        return model.train(self.training).to(next(self.parameters()).device)

    @contextmanager
    def active(self, subnet: Any) -> Iterator[Any]:
        """Run `subnet` inside the block, then restore the subnet that was active before."""
        previous = self.active_subnet
        try:
            yield self.set_active(subnet)
        finally:
            self.set_active(previous)
