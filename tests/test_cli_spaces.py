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


def test_cost_and_evaluate_share_one_subnet_file_reader(run_cli, tmp_path):
    from ofa.spaces import read_subnet_file, subnet_values

    code, out, _ = run_cli("spaces", "cost", "tiny", "max", "--json")
    row = json.loads(out)
    for name, text in {"a.json": json.dumps([row]), "b.jsonl": json.dumps(row) + "\n",
                       "c.txt": f"# largest\n{row['subnet']}\n", "d.json": json.dumps(row["subnet"])}.items():
        (tmp_path / name).write_text(text)
        code2, out2, err = run_cli("spaces", "cost", "tiny", str(tmp_path / name), "--json")
        assert code2 == 0 and json.loads(out2) == row, (name, err)
    (tmp_path / "two.txt").write_text("max\nmin\n")
    assert "holds 2 subnets" in one_error_line(*run_cli("spaces", "cost", "tiny", str(tmp_path / "two.txt"))[::2])
    (tmp_path / "num.json").write_text("[3]")
    assert "subnet 1 is int" in one_error_line(*run_cli("spaces", "cost", "tiny", str(tmp_path / "num.json"))[::2])
    assert read_subnet_file(tmp_path / "two.txt") == ["max", "min"]
    assert subnet_values(["max", str(tmp_path / "a.json"), "min"]) == ["max", row, "min"]
