"""Device profiles: shipped files validate, aliases resolve, bad files fail on one line naming
the file and the field, and the `ofa devices` sub-app shows them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ofa.cli.devices_cmd import app
from ofa.devices import DeviceProfile, device_aliases, get_device, list_devices, load_profile
from ofa.devices.registry import build_index
from ofa.errors import OfaError
from ofa.latency.backends import backend_names
from ofa.resources import data_dir

SHIPPED = ("cpu", "gpu-trt", "jetson-orin-nano", "jetson-agx-orin", "cuda-torch")

GOOD = """\
name: my-board
aliases: [board]
description: a test board
backend: onnxruntime-cpu
precision: fp32
batch_size: 2
threads: 1
warmup: 3
iterations: 5
resolutions: [160, 128]
"""


def write(tmp_path: Path, text: str, name: str = "board.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def with_line(field: str, value: str) -> str:
    """GOOD with `field` set to `value` (or dropped when value is None)."""
    lines = [line for line in GOOD.splitlines() if not line.startswith(f"{field}:")]
    if value is not None:
        lines.append(f"{field}: {value}")
    return "\n".join(lines) + "\n"


# -- the shipped profiles ---------------------------------------------------------------------

def test_shipped_profiles_are_registered():
    devices = list_devices()
    assert set(SHIPPED) <= set(devices)
    assert devices["cpu"].backend == "onnxruntime-cpu"
    assert devices["cpu"].precision == "fp32" and devices["cpu"].batch_size == 1
    assert devices["gpu-trt"].backend == "tensorrt" and devices["gpu-trt"].precision == "fp16"
    for jetson in ("jetson-orin-nano", "jetson-agx-orin"):
        assert devices[jetson].backend == "tensorrt" and devices[jetson].precision == "fp16"
    assert devices["cuda-torch"].backend == "torch-cuda"


@pytest.mark.parametrize("path", sorted(data_dir("devices").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_file_validates(path):
    profile = load_profile(path)
    assert profile.backend in backend_names()
    assert profile.resolutions == tuple(sorted(profile.resolutions))
    assert profile.description
    assert list_devices()[profile.name] == profile


def test_jetson_alias_is_the_orin_nano():
    assert get_device("jetson") is get_device("jetson-orin-nano")
    assert device_aliases()["jetson"] == "jetson-orin-nano"
    assert "jetson" in get_device("jetson").description.lower()
    assert "default" in get_device("jetson").description.lower()


def test_get_device_passes_profiles_through_and_reads_paths(tmp_path):
    cpu = get_device("cpu")
    assert get_device(cpu) is cpu
    board = get_device(str(write(tmp_path, GOOD)))
    assert board.name == "my-board" and board.aliases == ("board",)
    assert board.resolutions == (128, 160)  # sorted
    assert board.threads == 1 and board.warmup == 3 and board.iterations == 5
    assert board.input_shape(160) == (2, 3, 160, 160)


def test_defaults_and_frozen(tmp_path):
    text = "name: tiny\nbackend: onnxruntime-cpu\nprecision: fp16\nresolutions: 32\n"
    p = load_profile(write(tmp_path, text))
    assert p.aliases == () and p.description == "" and p.batch_size == 1
    assert p.threads is None and p.warmup == 10 and p.iterations == 50 and p.resolutions == (32,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.batch_size = 4  # type: ignore[misc]
    assert p.to_dict()["aliases"] == [] and p.to_dict()["resolutions"] == [32]


def test_unknown_device_lists_the_known_names():
    with pytest.raises(OfaError) as err:
        get_device("pixel-9")
    msg = str(err.value)
    assert "unknown device 'pixel-9'" in msg and "\n" not in msg
    for name in SHIPPED:
        assert name in msg
    assert "jetson -> jetson-orin-nano" in msg


def test_missing_profile_file():
    with pytest.raises(OfaError, match="device profile not found"):
        get_device("no/such/board.yaml")


# -- malformed profiles -------------------------------------------------------------------------

MALFORMED = [
    (with_line("colour", "blue"), "board.yaml.colour: unknown field; known: name, aliases"),
    (with_line("iteration", "5"), "board.yaml.iteration: unknown field (did you mean 'iterations'?)"),
    (with_line("backend", None), "board.yaml.backend: missing field"),
    (with_line("precision", None), "board.yaml.precision: missing field"),
    (with_line("resolutions", None), "board.yaml.resolutions: missing field"),
    (with_line("name", None), "board.yaml.name: missing field"),
    (with_line("backend", "coreml"), "board.yaml.backend: expected one of"),
    (with_line("precision", "int8"), "board.yaml.precision: expected one of fp32, fp16, got 'int8'"),
    (with_line("batch_size", "0"), "board.yaml.batch_size: expected a whole number from 1 to 65,536, got 0"),
    (with_line("batch_size", "true"), "board.yaml.batch_size: expected a whole number from 1 to 65,536, got True"),
    (with_line("batch_size", "1000000000000000000000"), "board.yaml.batch_size: expected a whole number from 1 to 65,536"),
    (with_line("threads", "all"), "board.yaml.threads (or null for all cores): expected a whole number from 1 to 1,024"),
    (with_line("warmup", "-1"), "board.yaml.warmup: expected a whole number from 0 to 1,000,000"),
    (with_line("iterations", "0"), "board.yaml.iterations: expected a whole number from 1 to 1,000,000"),
    (with_line("iterations", "2.5"), "board.yaml.iterations: expected a whole number from 1"),
    (with_line("statistic", "max"), "board.yaml.statistic: expected one of median, p10, mean, got 'max'"),
    (with_line("resolutions", "[]"), "board.yaml.resolutions: expected a non-empty list"),
    (with_line("resolutions", "[224, x]"), "board.yaml.resolutions[1]: expected a whole number from 8 to 4,096"),
    (with_line("resolutions", "[224, 224]"), "board.yaml.resolutions: values repeat"),
    (with_line("name", "My Board"), "board.yaml.name: expected a lower-case name"),
    (with_line("aliases", "board"), "board.yaml.aliases: expected a list of names"),
    (with_line("aliases", "[my-board]"), "board.yaml.aliases: names repeat"),
    (with_line("description", "[a, b]"), "board.yaml.description: expected a string"),
    ("- just\n- a list\n", "board.yaml: expected a mapping with fields name, aliases"),
    ("name: [unclosed\n", "not valid YAML (line"),
    ("name: !!python/object/apply:os.system [echo hi]\n", "not valid YAML"),  # safe_load only
]


@pytest.mark.parametrize("text, expected", MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_malformed_profile_names_file_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(OfaError) as err:
        load_profile(path)
    msg = str(err.value)
    assert expected in msg
    assert "board.yaml" in msg
    assert "\n" not in msg


def test_duplicate_name_across_files(tmp_path):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, with_line("aliases", "[]"), "b.yaml")
    with pytest.raises(OfaError, match=r"b.yaml: device name or alias 'my-board' is already taken by a.yaml"):
        build_index([a, b])


def test_alias_clashing_with_another_name(tmp_path):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, with_line("name", "other").replace("[board]", "[my-board]"), "b.yaml")
    with pytest.raises(OfaError, match=r"'my-board' is already taken by a.yaml"):
        build_index([a, b])
    c = write(tmp_path, with_line("name", "third"), "c.yaml")  # same alias 'board'
    with pytest.raises(OfaError, match=r"'board' is already taken by a.yaml"):
        build_index([a, c])


def test_index_of_distinct_files(tmp_path):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, with_line("name", "other").replace("[board]", "[]"), "b.yaml")
    profiles, aliases = build_index([a, b])
    assert set(profiles) == {"my-board", "other"} and aliases == {"board": "my-board"}
    assert isinstance(profiles["other"], DeviceProfile)


# -- the CLI sub-app --------------------------------------------------------------------------

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def test_cli_list():
    result = runner.invoke(app, ["list"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in SHIPPED:
        assert name in result.output
    assert "(jetson, orin-nano)" in result.output  # aliases under the name
    cpu_row = next(line for line in result.output.splitlines() if "onnxruntime-cpu" in line)
    assert "yes" in cpu_row  # onnxruntime is a dependency, so the cpu profile can always measure


def test_cli_show_alias():
    result = runner.invoke(app, ["show", "jetson"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "jetson-orin-nano" in result.output and "tensorrt" in result.output


def test_cli_show_json(tmp_path):
    result = runner.invoke(app, ["show", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["name"] == "cpu" and info["backend"] == "onnxruntime-cpu"
    assert info["backend_available"] is True and info["backend_unavailable_reason"] is None
    assert info["resolutions"] == list(get_device("cpu").resolutions)

    result = runner.invoke(app, ["show", str(write(tmp_path, GOOD)), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["name"] == "my-board"


def test_cli_show_unknown_raises_the_one_line_error():
    result = runner.invoke(app, ["show", "pixel-9"])
    assert isinstance(result.exception, OfaError)
    assert "unknown device 'pixel-9'" in str(result.exception)


def test_batch_size_is_part_of_a_device(tmp_path):
    """Datacenter GPUs serve at batch 1 (latency) or 32 and 64 (throughput); a table measured at one
    batch is refused for a device at another, and a card says what its budget bounds."""
    from test_latency_table import synthetic_table

    from ofa.latency.recalibrate import open_device_table
    from ofa.latency.table import save_table
    from ofa.spaces import get_space
    from ofa.specialize.card import budget_text

    assert [get_device(n).batch_size for n in ("gpu-trt", "gpu-trt-b32", "gpu-trt-b64")] == [1, 32, 64]
    assert get_device("cuda-torch-b64").batch_size == 64 and get_device("trt-b32").name == "gpu-trt-b32"
    table = synthetic_table("tiny", (16, 24, 32), 3)
    table.device = "gpu-trt-b64"
    path = save_table(table, tmp_path / "t.json")
    with pytest.raises(OfaError, match="measured at batch 1, device 'gpu-trt-b64' runs batch 64"):
        open_device_table("gpu-trt-b64", get_space("tiny"), path, auto_calibrate=False)
    table.batch_size = 64
    save_table(table, path)
    assert open_device_table("gpu-trt-b64", get_space("tiny"), path, auto_calibrate=False)[1] == path
    assert budget_text(2, 1) == "2 ms per image (batch 1)"
    assert budget_text(32, 64) == "32 ms per batch of 64 images, 0.5 ms per image"
