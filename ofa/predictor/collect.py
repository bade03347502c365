"""`ofa predictor collect`: measure the real accuracy of stratified subnets of a trained supernet,
one JSON line each, resumable."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable

from ofa.errors import OfaError
from ofa.outputs import check_writable_file
from ofa.outputs import output_lock
from ofa.predictor.accuracy_data import AccuracyData, default_data_path, open_accuracy_data, supernet_fingerprint
from ofa.predictor.sampling import stratified_stream
from ofa.spaces import Subnet, decode, encode
from ofa.families.parts import CostTable

Progress = Callable[[str, int, int], None]


def open_meter(run: Path, data: str | None, split: str, calib_images: int | None, data_root: str | None = None,
               download: bool = False, device: str = "auto", calib_data: str | None = None):
    """The run's subnet meter, refusing the one set-up that would leak training into the labels."""
    from ofa.train.run_accuracy import SubnetMeter
    from ofa.train.recipes import load_recipe
    from ofa.train.run_folder import RunFolder

    recipe = load_recipe(RunFolder(Path(run)).recipe)
    if split == "train" and (data is None or data == recipe.data):
        raise OfaError("predictor labels must come from images training never used: the run trained on the "
                       "'train' split of its data; use --split val or other --data")
    meter = SubnetMeter(run, data, split, calib_images, data_root, download, device, calib_data)
    meter.require_labels()
    return meter


def measure_rows(meter, costs: CostTable, subnets: list[Subnet], source: str, data: AccuracyData,
                 first_index: int = 0, progress: Progress | None = None) -> list[dict]:
    """Measure each subnet, appending its row to `data` as soon as it is known."""
    rows = []
    for i, subnet in enumerate(subnets):
        start = time.perf_counter()
        row = meter.measure(subnet)
        macs, params = costs.macs_params(encode(meter.model.space, subnet))[0]
        row = {"index": first_index + i, "source": source, **row, "macs": int(macs), "params": int(params),
               "seconds": round(time.perf_counter() - start, 3)}
        data.append(row)
        rows.append(row)
        if progress:
            progress(f"measuring {source} subnets", i + 1, len(subnets))
    return rows


def collect(run: Path, n: int = 500, seed: int = 0, data: str | None = None, split: str = "val",
            calib_images: int | None = None, out: Path | None = None, data_root: str | None = None,
            download: bool = False, device: str = "auto", progress: Progress | None = None,
            calib_data: str | None = None) -> AccuracyData:
    """Measure the first `n` subnets of the seeded stratified stream that `out` does not hold yet."""
    if n <= 0:
        raise OfaError(f"-n must be a positive number of subnets, got {n}")
    fingerprint = supernet_fingerprint(run)
    path = Path(out or default_data_path(run))
    check_writable_file(path, "--out")  # before any subnet is measured
    with output_lock(path):
        return _collect(run, fingerprint, path, n, seed, data, split, calib_images, data_root, download, device,
                        progress, calib_data)


def _collect(run, fingerprint, path, n, seed, data, split, calib_images, data_root, download, device, progress,
             calib_data) -> AccuracyData:
    meter = open_meter(run, data, split, calib_images, data_root, download, device, calib_data)
    settings = {**meter.settings, "sampling": "stratified-macs", "seed": seed}
    records = open_accuracy_data(path, fingerprint, settings)
    space = meter.model.space
    done = {r.get("index") for r in records.rows if r.get("source") == "collect"}
    todo = [(i, decode(space, g)) for i, g in
            enumerate(itertools.islice(stratified_stream(space, seed, meter.model.num_classes), n)) if i not in done]
    costs = CostTable(space, meter.model.num_classes)
    for count, (index, subnet) in enumerate(todo, n - len(todo) + 1):
        if progress:
            progress("measuring subnets", count - 1, n)
        measure_rows(meter, costs, [subnet], "collect", records, first_index=index)
    if progress:
        progress("measuring subnets", n, n)
    return records
