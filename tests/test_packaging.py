"""An installed (non-editable) wheel must carry the data folders and find them."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_and_finds_the_data_folders(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("ofa_deploy-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("devices", "pipelines", "latency"):
        assert any(n.startswith(f"ofa/_data/{folder}/") for n in names), folder
    assert any(n.startswith("ofa/spaces/builtin/") and n.endswith(".yaml") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    probe = (
        "import ofa, ofa.resources as r, ofa.spaces as s;"
        "print(ofa.__file__);"
        "print(*[r.data_dir(n) for n in r.DATA_FOLDERS], sep='\\n');"
        "print(sorted(s.list_spaces()))"
    )
    # Run from an empty folder so that the checkout cannot be imported by accident.
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(target))
    for line in out[1:4]:
        assert line.startswith(str(target / "ofa" / "_data")) and Path(line).is_dir()
        assert any(Path(line).iterdir())
    assert "mbv3-w1.0" in out[4]


def test_gpu_check_passes_its_dry_run(tmp_path):
    """benchmarks/gpu_check.sh, run whenever a GPU is lent, checks every command it would run
    without a GPU: unknown options, subcommands or scripts fail here first."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    done = subprocess.run(["bash", str(script), "--dry-run", "--out", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0 and "every step passed" in done.stdout, done.stdout + done.stderr
