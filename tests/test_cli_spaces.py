import json

import yaml

from ofa.spaces import get_space


def test_spaces_list_names_every_space(run_cli):
    code, out, _ = run_cli("spaces", "list")
    assert code == 0
    for name in ("mbv3-w1.0", "cifar-mbv3", "tiny"):
        assert name in out


def test_spaces_show_json_reports_size_and_resolutions(run_cli):
    code, out, _ = run_cli("spaces", "show", "mbv3-w1.0", "--json")
    info = json.loads(out)
    assert code == 0
    assert info["num_architectures"] == 7371**5
    assert info["resolutions"] == list(range(128, 225, 4))


def test_spaces_sample_and_cost_agree(run_cli):
    code, out, _ = run_cli("spaces", "sample", "tiny", "-n", "3", "--seed", "4", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 3
    code, out, _ = run_cli("spaces", "cost", "tiny", rows[1]["subnet"], "--json")
    assert code == 0 and json.loads(out) == rows[1]


def test_subnet_from_json_file(run_cli, tmp_path):
    code, out, _ = run_cli("spaces", "cost", "tiny", "max", "--json")
    path = tmp_path / "net.json"
    path.write_text(json.dumps(json.loads(out)))
    code2, out2, _ = run_cli("spaces", "cost", "tiny", str(path), "--json")
    assert code == code2 == 0 and out == out2


def one_error_line(code: int, err: str) -> str:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    return lines[0]


def test_bad_input_is_one_line_exit_2(run_cli, tmp_path):
    assert "unknown search space 'nope'" in one_error_line(*run_cli("spaces", "show", "nope")[::2])
    bad = tmp_path / "bad.yaml"
    d = get_space("tiny").to_dict()
    d["stages"][1]["kernels"] = [3, 4]
    bad.write_text(yaml.safe_dump(d))
    assert "stages[1].kernels" in one_error_line(*run_cli("spaces", "show", str(bad))[::2])
    bad.write_text("stages: [")
    assert "not valid YAML" in one_error_line(*run_cli("spaces", "show", str(bad))[::2])
    assert "kernel 7" in one_error_line(*run_cli("spaces", "cost", "tiny", "r32:k7e3,k3e3,k3e3")[::2])
    assert "not found" in one_error_line(*run_cli("spaces", "show", str(tmp_path / "missing.yaml"))[::2])
    assert "not found" in one_error_line(*run_cli("spaces", "cost", "tiny", "missing.json")[::2])
