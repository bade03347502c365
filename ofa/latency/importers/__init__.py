"""Latency measured by other tools, turned into ordinary ofa tables: one registry of source formats,
one module each (NAME, SUMMARY, import_tables(paths, profile, space) -> LatencyTable)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.latency.importers import kit_results, ofa_tables
from ofa.latency.table import LatencyTable
from ofa.spaces import Space


class Importer(NamedTuple):
    name: str
    summary: str
    run: Callable[[list[Path], DeviceProfile, Space], LatencyTable]


IMPORTERS: dict[str, Importer] = {m.NAME: Importer(m.NAME, m.SUMMARY, m.import_tables) for m in (ofa_tables, kit_results)}


def import_table(fmt: str, paths: list[Path], profile: DeviceProfile, space: Space) -> LatencyTable:
    if fmt not in IMPORTERS:
        raise OfaError(f"unknown table format '{fmt}'; known: {', '.join(IMPORTERS)}")
    if not paths:
        raise OfaError("give the table files or the folder that holds them")
    return IMPORTERS[fmt].run(list(map(Path, paths)), profile, space)
