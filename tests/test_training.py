import json
from dataclasses import replace

import pytest
import numpy as np
import torch
import yaml
from conftest import tiny_recipe

from ofa.errors import OfaError
from ofa.outputs import mark
from ofa.spaces import get_space
from ofa.train.bn_calibration import recalibrate_bn
from ofa.train.run_accuracy import evaluate_run, load_supernet
from ofa.train.recipes import load_recipe
from ofa.train.sampler import ResumableBatchSampler
from ofa.train.schedule import phase_lr
from ofa.train.sandwich import sandwich_step
from ofa.train.trainer import train_supernet


def test_training_run_writes_everything_and_learns(tmp_path, image_folder):
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}"))
    steps = []
    result = train_supernet(recipe, tmp_path / "run", on_step=steps.append)
    run = tmp_path / "run"
    for name in ("run.json", "recipe.yaml", "metrics.jsonl", "accuracy.png", "supernet.safetensors",
                 "checkpoints/last.json"):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if r["kind"] == "val"]
    train = [r for r in rows if r["kind"] == "train"]
    assert len(train) == 5 and len(val) == 5 * 5  # 5 epochs; max, mid, min and 2 random each
    assert {r["phase_name"] for r in val} == {"full", "kernel", "expand"}
    assert result.global_step == 5 * 6 == steps[-1]["global_step"]
    # the divergence itself is logged: never negative
    assert all(s["loss_min"] >= 0 and s["loss_subnets"] >= 0 for s in steps if "loss_min" in s)
    assert train[-1]["loss_max"] < train[0]["loss_max"]
    final = {r["name"]: r for r in result.final}
    assert final["max"]["top1"] > 100 / 3 + 10  # well above chance on 3 classes
    # `ofa evaluate` reproduces the run's own last validation of the largest subnet
    again = evaluate_run(run, ["max"])[0]
    assert again["top1"] == pytest.approx(final["max"]["top1"])
    assert again["loss"] == pytest.approx(final["max"]["loss"], rel=1e-5)


def test_a_run_is_never_overwritten_by_accident(tmp_path, image_folder):
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.01, "resolutions": [16]}]))
    train_supernet(recipe, tmp_path / "run")
    before = (tmp_path / "run" / "supernet.safetensors").read_bytes()
    with pytest.raises(OfaError, match="already holds a run"):
        train_supernet(recipe, tmp_path / "run")
    assert (tmp_path / "run" / "supernet.safetensors").read_bytes() == before
    with pytest.raises(OfaError, match="contradict"):
        train_supernet(recipe, tmp_path / "run", resume=True, force=True)
    with pytest.raises(OfaError, match="nothing to resume"):
        train_supernet(recipe, tmp_path / "other", resume=True)
    other = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", seed=5, phases=[
        {"name": "full", "epochs": 1, "lr": 0.01, "resolutions": [16]}]))
    with pytest.raises(OfaError, match="recipe differs"):
        train_supernet(other, tmp_path / "run", resume=True)
    train_supernet(recipe, tmp_path / "run", force=True)


def test_sandwich_step_trains_max_min_and_random_subnets(image_folder):
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}"))
    from ofa.supernet import build_supernet

    torch.manual_seed(0)
    model = build_supernet(get_space("tiny"), 3).train()
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 3, (8,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    space = recipe.phase_space(2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = sandwich_step(recipe, model, model, None, recipe.phases[2], space, x, y, opt,
                         torch.autocast("cpu", enabled=False), 0)
    assert set(out) == {"loss_max", "loss_min", "loss_subnets"}
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    # the second block of a stage is only trained when a depth-2 subnet was drawn: the kernel
    # transforms of the smallest kernel are trained by the smallest subnet in any case
    assert any("transforms" in k for k in changed)
    assert any(k.startswith("head.") for k in changed)


def test_sandwich_step_of_a_single_architecture_trains_it_once(image_folder):
    # a full phase at one resolution: the smallest subnet is the largest, so it is not distilled from itself
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.01, "resolutions": [16]}]))
    from ofa.supernet import build_supernet

    torch.manual_seed(0)
    model = build_supernet(get_space("tiny"), 3).train()
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 3, (8,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = sandwich_step(recipe, model, model, None, replace(recipe.phases[0], subnets_per_step=0),
                         recipe.phase_space(0), x, y, opt, torch.autocast("cpu", enabled=False), 0)
    assert set(out) == {"loss_max"}


def test_a_random_student_that_is_the_smallest_is_not_logged_as_the_smallest(image_folder):
    # a phase of two subnets (resolution 16 or 24, all else fixed): the one random student is the
    # smallest on about half the steps, yet without `with_smallest` no step reports `loss_min`
    from ofa.spaces import sample_subnet
    from ofa.supernet import build_supernet

    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", resolution=24, phases=[
        {"name": "res", "epochs": 1, "lr": 0.01, "resolutions": [16, 24]}]))
    phase = replace(recipe.phases[0], with_smallest=False, subnets_per_step=1)
    space = recipe.phase_space(0)
    torch.manual_seed(0)
    model = build_supernet(get_space("tiny"), 3).train()
    x, y = torch.randn(4, 3, 24, 24), torch.randint(0, 3, (4,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    smallest, drawn = sample_subnet(space, "min"), []
    for step in range(8):
        drawn.append(sample_subnet(space, "uniform", np.random.default_rng([recipe.seed, step])) == smallest)
        out = sandwich_step(recipe, model, model, None, phase, space, x, y, opt, torch.autocast("cpu", enabled=False),
                            step)
        assert set(out) == {"loss_max", "loss_subnets"}, (step, out)
    assert any(drawn)  # the case in question happened


def test_sampler_resumes_mid_epoch_and_splits_ranks():
    full = list(ResumableBatchSampler(40, 8, seed=3))
    s = ResumableBatchSampler(40, 8, seed=3)
    s.set_position(0, 2)
    assert list(s) == full[2:]
    halves = [list(ResumableBatchSampler(40, 8, 3, rank, 2)) for rank in (0, 1)]
    assert [a + b for a, b in zip(*halves)] == full
    s.set_position(1, 0)
    assert list(s) != full  # another epoch, another order


def test_lr_schedule_warms_up_then_decays_to_zero():
    lrs = [phase_lr(1.0, s, 100, 10) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] < 0.01


def test_bn_recalibration_averages_batch_statistics_as_once_for_all_does():
    """Batch means and biased batch variances, weighted by the images of each batch (its last batch
    cut to the image count)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4, momentum=0.5))
    batches = [(torch.randn(5, 3, 4, 4) * 2 + 1, None) for _ in range(4)]
    used = recalibrate_bn(model, batches, num_images=13, resolution=4)
    assert used == 13 and not model.training and model[1].momentum == 0.5
    with torch.no_grad():
        outs = [model[0](x) for x in (batches[0][0], batches[1][0], batches[2][0][:3])]  # the 4th is not used
    weights = torch.tensor([5.0, 5.0, 3.0])[:, None] / 13
    means = (torch.stack([y.mean((0, 2, 3)) for y in outs]) * weights).sum(0)
    variances = (torch.stack([y.var((0, 2, 3), unbiased=False) for y in outs]) * weights).sum(0)
    assert torch.allclose(model[1].running_mean, means, atol=1e-5)
    assert torch.allclose(model[1].running_var, variances, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_learns_in_bf16_and_its_run_evaluates_on_cpu(tmp_path, image_folder):
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", device="cuda"))
    steps = []
    result = train_supernet(recipe, tmp_path / "run", on_step=steps.append)
    assert all(torch.isfinite(torch.tensor(v)) for s in steps for k, v in s.items() if k.startswith("loss"))
    final = {r["name"]: r for r in result.final}
    assert final["max"]["top1"] > 100 / 3 + 10
    # the weights written on the GPU rebuild the same supernet on a CPU-only machine
    again = evaluate_run(tmp_path / "run", ["max"], device="cpu")[0]
    assert again["top1"] == pytest.approx(final["max"]["top1"], abs=2 * 100 / again["images"])  # bf16 vs fp32


def test_training_refuses_bad_input(tmp_path, image_folder):
    if not torch.cuda.is_available():
        with pytest.raises(OfaError, match="no CUDA GPU"):
            train_supernet(load_recipe(tiny_recipe(f"imagefolder:{image_folder}", device="cuda")), tmp_path / "r")
    with pytest.raises(OfaError, match="not found|does not exist|missing"):
        train_supernet(load_recipe(tiny_recipe(f"imagefolder:{tmp_path / 'nothing'}")), tmp_path / "r")
    with pytest.raises(OfaError, match="kernel choice"):
        load_recipe(tiny_recipe("digits", phases=[{"name": "a", "epochs": 1, "lr": 0.1, "kernels": [7]}]))


def test_corrupt_or_foreign_checkpoint_is_refused(tmp_path, image_folder):
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.01, "resolutions": [16]}]))
    train_supernet(recipe, tmp_path / "run")
    weights = tmp_path / "run" / "checkpoints" / "last.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(OfaError, match="truncated|checksum"):
        train_supernet(recipe, tmp_path / "run", resume=True)
    info = tmp_path / "run" / "run.json"
    info.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(OfaError, match="not an ofa supernet run"):
        load_supernet(tmp_path / "run")


def test_cli_train_and_evaluate(run_cli, tmp_path, image_folder):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16]}])))
    out = tmp_path / "run"
    code, stdout, err = run_cli("train-supernet", "--recipe", str(recipe), "--out", str(out), "-q")
    assert code == 0, err
    assert "top-1" in stdout
    code, stdout, err = run_cli("evaluate", "--supernet", str(out), "--subnet", "max", "--subnet", "min", "--json")
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert code == 0 and len(rows) == 2 and rows[0]["images"] == 6
    code, _, err = run_cli("train-supernet", "--recipe", str(recipe), "--out", str(out), "-q")
    assert code == 2 and "already holds a run" in err
    code, _, err = run_cli("train-supernet", "--recipe", str(recipe), "--out", str(out), "--resume", "--epochs", "3")
    assert code == 2 and "drop the recipe overrides" in err
    code, _, err = run_cli("train-supernet", "--recipe", "nope", "--out", str(tmp_path / "x"))
    assert code == 2 and "recipe not found" in err
    code, _, err = run_cli("train-supernet", "--recipe", str(recipe), "--set", "phases.0.kernal=3", "--out", str(tmp_path / "x"))
    assert code == 2 and "kernal" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("evaluate", "--supernet", str(out), "--subnet", "r32:k7e2,k3e2,k3e2")
    assert code == 2 and "kernel 7" in err
    code, _, err = run_cli("train-supernet", "--data", "imagefolder:/no/such/dir", "--out", str(tmp_path / "y"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y" / "run.json").exists()


def test_external_teacher_and_subnet_lists(tmp_path, image_folder, run_cli):
    from ofa.supernet import build_supernet, save_static

    torch.manual_seed(1)
    teacher = build_supernet(get_space("tiny"), 3).extract("max").eval()
    save_static(teacher, tmp_path / "teacher")
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", teacher=str(tmp_path / "teacher"),
                                     phases=[{"name": "kernel", "epochs": 1, "lr": 0.02, "subnets_per_step": 1,
                                              "kernels": [3, 5], "resolutions": [16]}]))
    steps = []
    train_supernet(recipe, tmp_path / "run", on_step=steps.append)
    assert all(s["loss_min"] >= 0 for s in steps)
    listing = tmp_path / "subnets.txt"
    listing.write_text("# one per line\nmax\nr16:k3e2,k5e3,k3e2-k3e3\n")
    code, out, err = run_cli("evaluate", "--supernet", str(tmp_path / "run"), "--subnet", str(listing), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert [r["subnet"] for r in rows][1] == "r16:k3e2,k5e3,k3e2-k3e3" and len(rows) == 2
    bad = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", teacher=str(tmp_path / "nowhere")))
    with pytest.raises(OfaError, match="no config.json"):
        train_supernet(bad, tmp_path / "run2")


def test_unknown_data_set_is_one_line(run_cli, tmp_path):
    code, _, err = run_cli("train-supernet", "--data", "mnist", "--out", str(tmp_path / "r"))
    assert code == 2 and "unknown data set" in err.lower() and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, image_folder):
    """One epoch of the full network on the 3-class image folder: enough to evaluate."""
    out = tmp_path_factory.mktemp("short") / "run"
    train_supernet(load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16]}])), out)
    return out


def test_force_with_bad_input_leaves_the_old_run_alone(run_cli, tmp_path, image_folder):
    from ofa.supernet import build_supernet, save_static

    old = tmp_path / "old"
    old.mkdir()
    (old / "run.json").write_text('{"old": true}')
    mark(old, "supernet-run")  # a run ofa wrote, whose run.json has since been damaged
    (old / "supernet.safetensors").write_bytes(b"old weights")
    code, _, err = run_cli("train-supernet", "--force", "--data", "imagefolder:/no/such", "--out", str(old), "-q")
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) == 1
    assert (old / "run.json").read_text() == '{"old": true}'
    save_static(build_supernet(get_space("tiny"), 4).extract("max"), tmp_path / "teacher4")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(f"imagefolder:{image_folder}", teacher=str(tmp_path / "teacher4"))))
    code, _, err = run_cli("train-supernet", "--force", "--recipe", str(recipe), "--out", str(old), "-q")
    assert code == 2 and "teacher" in err and len(err.strip().splitlines()) == 1
    assert (old / "run.json").read_text() == '{"old": true}'
    assert (old / "supernet.safetensors").read_bytes() == b"old weights"


def test_teacher_with_other_classes_is_refused_up_front(tmp_path, image_folder):
    from ofa.supernet import build_supernet, save_static

    save_static(build_supernet(get_space("tiny"), 5).extract("min"), tmp_path / "teacher")
    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", teacher=str(tmp_path / "teacher")))
    with pytest.raises(OfaError, match=r"predicts 5 classes but the data set has 3") as e:
        train_supernet(recipe, tmp_path / "run")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()


def test_evaluate_reads_json_jsonl_and_text_subnet_files(run_cli, tmp_path, short_run):
    code, out, _ = run_cli("spaces", "sample", "tiny", "-n", "2", "--seed", "3", "--json")
    sampled = [json.loads(line) for line in out.splitlines()]
    names = [r["subnet"] for r in sampled]
    files = {
        "list.json": json.dumps([sampled[0], names[1], "min"]),
        "one.json": json.dumps(sampled[0]),
        "rows.jsonl": out + "\n" + json.dumps("min") + "\n",
        "plain.txt": f"# comment\n{names[0]}\n\n  {names[1]}\nmin\n",
    }
    expected = {"list.json": names + ["r16:k3e2,k3e2,k3e2"], "one.json": names[:1],
                "rows.jsonl": names + ["r16:k3e2,k3e2,k3e2"], "plain.txt": names + ["r16:k3e2,k3e2,k3e2"]}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        code, out, err = run_cli("evaluate", "--supernet", str(short_run), "--subnet", str(tmp_path / name), "--json")
        assert code == 0, (name, err)
        assert [json.loads(line)["subnet"] for line in out.splitlines()] == expected[name], name
    (tmp_path / "bad.jsonl").write_text(names[0] + "\n")
    code, _, err = run_cli("evaluate", "--supernet", str(short_run), "--subnet", str(tmp_path / "bad.jsonl"))
    assert code == 2 and "line 1: not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_evaluate_refuses_data_with_other_class_names(run_cli, tmp_path, short_run):
    from conftest import make_image_folder

    from ofa.data.dataset import DataSet
    from ofa.train.run_accuracy import check_classes

    other = make_image_folder(tmp_path / "other")
    (other / "class2").rename(other / "zebra")
    code, _, err = run_cli("evaluate", "--supernet", str(short_run), "--data", f"imagefolder:{other}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "class 2 is 'zebra' there but 'class2' in the run" in err
    swapped = DataSet("swapped", "val", [], 3, ("class1", "class0", "class2"))
    with pytest.raises(OfaError, match="class 0 is 'class1'"):
        check_classes(swapped, 3, ["class0", "class1", "class2"])
    check_classes(swapped, 3, None)  # runs from before run.json kept the names: count only


def test_training_view_counts_every_step_of_every_phase_and_shows_validation():
    """One bar over the whole run: it is not finished (elapsed time and ETA keep running) until the
    last step of the last phase, a resumed run starts it where it stands, and the last validation
    accuracies stay on it."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from ofa.cli.progress import TrainingView

    bar = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    view = TrainingView(bar, quiet=False)
    info = {"phase": "full", "phase_index": 0, "phases": 2, "epochs": 2, "steps": 5, "total_steps": 20,
            "loss_max": 1.0, "lr": 0.1, "images_per_s": 50.0}
    view.step({**info, "epoch": 2, "step": 5, "global_step": 10})  # resumed at step 9: the first step seen is 10
    task = bar.tasks[0]
    assert (task.completed, task.total, task.finished) == (10, 20, False)
    view.validated([{"name": "max", "top1": 91.25}, {"name": "min", "top1": 80.0}, {"name": "random-1", "top1": 1.0}])
    view.step({**info, "phase": "kernel", "phase_index": 1, "epoch": 1, "step": 1, "global_step": 11})
    assert task.fields["val"] == "val max 91.2% min 80.0%" and "kernel (2/2) ep 1/2" in task.fields["where"]
    view.step({**info, "phase_index": 1, "epoch": 2, "step": 5, "global_step": 20})
    assert task.finished


def test_plain_progress_prints_each_epoch_and_validation(capsys):
    from ofa.cli.progress import TrainingView

    view = TrainingView(None, quiet=False)
    info = {"phase": "full", "phase_index": 0, "phases": 1, "epoch": 1, "epochs": 1, "steps": 2, "total_steps": 2,
            "loss_max": 1.0, "lr": 0.1, "images_per_s": 50.0}
    view.step({**info, "step": 1, "global_step": 1})
    view.step({**info, "step": 2, "global_step": 2})
    view.validated([{"name": "max", "top1": 50.0}])
    err = capsys.readouterr().err.splitlines()
    assert err == ["full (1/1) ep 1/1: loss 1.000 lr 0.1000 50 img/s; step 2/2", "  val max 50.0%"]


def test_a_second_signal_stops_at_once_with_the_given_exception():
    import os
    import signal

    from ofa.errors import Interrupted
    from ofa.train.distributed import World
    from ofa.train.stopping import StopRequests

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="at once") as stopped:
        with StopRequests(World(), lambda s: Interrupted("stopped at once", s)) as stops:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stops.requested() == signal.SIGTERM  # noted: the step under way goes on
            os.kill(os.getpid(), signal.SIGTERM)
    assert stopped.value.exit_code == 143 and signal.getsignal(signal.SIGTERM) == before
