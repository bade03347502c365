"""SIGINT and SIGTERM during training: finish the step under way, write a checkpoint, and say how
to go on. SIGTERM is what job schedulers send before they kill; a second signal stops at once."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Callable

import torch

from ofa.train.distributed import World

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """A context in which SIGINT and SIGTERM are noted instead of killing the process; a second
    signal raises `at_once(signum)` wherever the program is (a checkpoint being written stays
    whole: checkpoints are replaced atomically)."""

    def __init__(self, world: World, at_once: Callable[[int], BaseException]):
        self.world, self.at_once, self.signum, self._previous = world, at_once, None, {}

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():  # handlers can only be set there
            self._previous = {s: signal.signal(s, self._note) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _note(self, signum, frame) -> None:
        if self.signum is not None:  # asked twice: stop now
            self.__exit__()
            raise self.at_once(signum)
        self.signum = signum
        if self.world.is_main:
            print(f"\nofa: {signal.Signals(signum).name}: stopping after this step with a checkpoint "
                  f"(send it again to stop at once)", file=sys.stderr, flush=True)

    def requested(self) -> int | None:
        """The signal that asked to stop, agreed by every rank (they must stop at the same step)."""
        if not self.world.distributed:
            return self.signum
        flag = torch.tensor([self.signum or 0], dtype=torch.int64)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return int(flag.item()) or None
