"""imported: a device ofa cannot measure on (a phone, a board without Python); its latencies come
from tables measured elsewhere and brought in with `ofa latency import`. Registered like the
others so that profiles, `ofa devices list` and every "can it measure here?" check treat it alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

NAME = "imported"
SUMMARY = "no measurement by ofa: latencies come from imported tables (ofa latency import)"
REASON = ("this device's latencies come from imported tables (ofa latency import); "
          "ofa has no backend that measures on it")


def version() -> str:
    return "n/a"


def why_unavailable() -> str | None:
    return REASON


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    raise OfaError(f"device '{profile.name}': {REASON}")
