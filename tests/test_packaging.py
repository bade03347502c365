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


def _imports_of_ofa() -> dict[str, set[str]]:
    """Module -> the ofa modules it imports anywhere in its text (lazy imports inside functions too)."""
    import ast

    root = Path(__file__).resolve().parent.parent
    files = {".".join(f.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): f
             for f in (root / "ofa").rglob("*.py")}

    def module(name: str) -> str:
        while name not in files:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {m: set() for m in files}
    for name, f in files.items():
        for node in ast.walk(ast.parse(f.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ofa"):
                targets = [module(f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [module(a.name) for a in node.names if a.name.startswith("ofa")]
            graph[name] |= {t for t in targets if t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, found, counter = {}, {}, [], [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while component[-1:] != [node]:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_dependencies_flow_one_way():
    """No import cycle between modules, nor between the packages of ofa (spaces -> supernet ->
    train / latency -> predictor -> search -> specialize -> cli), counting imports inside functions."""
    graph = _imports_of_ofa()
    assert _cycles(graph) == []
    top = lambda m: ".".join(m.split(".")[:2])  # noqa: E731
    packages: dict[str, set[str]] = {}
    for name, targets in graph.items():
        packages.setdefault(top(name), set()).update(top(t) for t in targets if top(t) != top(name))
    assert _cycles(packages) == []


def test_the_command_line_starts_without_torch():
    """`ofa --help` and every one-line refusal come back at once: the CLI imports torch (2 s) only
    when a command needs it."""
    code = "import sys, ofa.cli; print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'pymoo') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
