"""The Güçlü & van Gerven (2017) replication: its pieces on small simulated data (the models
fit, the summary and checks are computed from them, the figures and report are written), the
whole run on a user's .npz files, the command line's --features and --responses, and the quick
mode under -m slow (about 1-3 minutes)."""

import json

import numpy as np
import pytest
import torch

from rnnlab.experiments import guclu2017
from rnnlab.experiments.guclu2017 import (
    condition_summary,
    draw,
    fit_condition,
    run,
    study_checks,
)
from rnnlab.experiments.guclu2017.measures import compare, impulse_response, peak_time
from rnnlab.experiments.guclu2017.models import BestWeights, make_network
from rnnlab.experiments.guclu2017.report import write_report
from rnnlab.tasks.bold_simulation import BoldResponses, BoldSimulationConfig, simulate
from tests.tasks.bold_data import write_runs


def quiet(line):
    pass


@pytest.fixture(scope="module")
def small_study():
    seeds = [0, 1]
    fitted, summaries = {}, {}
    for condition in ("lin", "nl"):
        config = BoldSimulationConfig(condition=condition, voxels=16, runs=4, run_seconds=150.0)
        data = [simulate(config.model_copy(update={"seed": s})) for s in seeds]
        fitted[condition] = fit_condition(data, seeds, ("L-10",), 3, quiet, condition)
        summaries[condition] = condition_summary(fitted[condition], seeds, ("L-10",))
    return fitted, summaries


def test_summary_of_a_small_study(small_study):
    fitted, summaries = small_study
    for condition in ("lin", "nl"):
        r = fitted[condition]["r"]
        assert set(r) == {"R-C", "R-CTD", "R-F", "L-10"}
        assert all(v.shape == (2, 16) and np.isfinite(v).all() for v in r.values())
        entry = summaries[condition]["seeds"][1]
        assert entry["median_r"]["R-C"] == pytest.approx(float(np.median(r["R-C"][1])))
        assert entry["best_main"] == "L-10" and len(entry["impulse"]) == 30
        assert 0 < entry["noise_ceiling"] < 1
    # In LIN the canonical-HRF model is correctly specified: it predicts the test run.
    assert np.median(fitted["lin"]["r"]["R-C"]) > 0.4


def test_checks_and_outputs(small_study, tmp_path):
    fitted, summaries = small_study
    checks = study_checks(summaries, 2)
    assert len(checks) == 8
    for c in checks:
        assert set(c) == {"name", "value", "paper", "criterion", "passed", "required"}
    paths = draw(tmp_path, fitted, summaries)
    assert all(p.stat().st_size > 1000 for p in paths)
    results = {"conditions": summaries, "checks": checks, "seeds": 2, "models": ["L-10"],
               "quick": True, "seconds": 1.0, "data": "simulated"}  # fmt: skip
    text = write_report(tmp_path, results, paths).read_text()
    assert text.count("data:image/png;base64,") == 3 and "simulated" in text


def test_compare_against_scipy_wilcoxon():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.1, 200)
    b = a - 0.05 + rng.normal(0, 0.02, 200)
    c = compare(a, b)
    assert c.delta == pytest.approx(np.median(a) - np.median(b))
    assert c.wins == pytest.approx(np.mean(a > b)) and c.p_value < 1e-10
    assert compare(a, a).p_value == 1.0


def test_impulse_response_of_a_known_network():
    """A network whose output is a fixed linear filter of the inputs: its impulse response is
    the filter, and the peak time follows the sampling convention (sample j: j + 1 s)."""
    data = simulate(BoldSimulationConfig(condition="lin", voxels=4, runs=3, run_seconds=60.0))
    task = BoldResponses(data)
    kernel = torch.tensor([0.0, 0.2, 1.0, 0.5, 0.1])

    class Filter(torch.nn.Module):
        def forward(self, x, state=None, lengths=None):
            raw = x * torch.as_tensor(task.x_sd, dtype=x.dtype) + torch.as_tensor(
                task.x_mean, dtype=x.dtype
            )
            s = raw.sum(-1, keepdim=True).transpose(1, 2)  # (B, 1, T)
            y = torch.nn.functional.conv1d(torch.nn.functional.pad(s, (4, 0)),
                                           kernel.flip(0)[None, None])  # fmt: skip
            return y.transpose(1, 2).expand(-1, -1, 4) / torch.as_tensor(task.y_sd), None

    curve = impulse_response(Filter(), task, np.ones((4, 16), dtype=bool))
    np.testing.assert_allclose(curve[:5], kernel.numpy(), atol=1e-6)
    assert peak_time(curve) == 3.0


def test_best_weights_keeps_each_members_best():
    net = torch.nn.Module()
    net.weight = torch.nn.Parameter(torch.zeros(2, 3))  # two "members", stacked

    class FakeLoop:
        network = net

    best, loop = BestWeights(), FakeLoop()
    for step, losses in enumerate([[1.0, 1.0], [0.5, 2.0], [0.7, 0.1]]):
        net.weight.data.fill_(step)
        best.on_validation(loop, {"val_members": [{"val_loss": v} for v in losses]})
    best.on_end(loop)
    assert net.weight.data[0].eq(1).all() and net.weight.data[1].eq(2).all()


@pytest.mark.parametrize("name", ["L-10", "G-10", "E-10", "C-10"])
def test_response_networks_have_two_layers_and_a_readout(name):
    network = make_network(name, 3, 7)
    outputs, _ = network(torch.zeros(2, 5, 3))
    assert outputs.shape == (2, 5, 7) and network.layer.num_layers == 2
    with pytest.raises(ValueError, match="F-k"):
        make_network("X-10", 3, 7)


def test_user_data_runs_the_same_models_and_report(tmp_path):
    data = simulate(BoldSimulationConfig(condition="lin", voxels=6, runs=4, run_seconds=120.0))
    runs = {f"run{k}": data.features[k] for k in range(4)}
    np.savez(tmp_path / "features.npz", **runs)
    np.savez(tmp_path / "responses.npz", test_repeat=data.test_repeat,
             **{f"run{k}": data.responses[k] for k in range(4)})  # fmt: skip
    out = tmp_path / "out"
    files = {"features": tmp_path / "features.npz", "responses": tmp_path / "responses.npz"}
    results = run(out, seeds=1, quick=True, echo=quiet, models=("L-10",), **files)
    written = json.loads((out / "results.json").read_text())
    assert written["data"] == "user" and written["checks"] == []
    entry = results["conditions"]["data"]["seeds"][0]
    assert set(entry["median_r"]) == {"R-C", "R-CTD", "R-F", "L-10"}
    assert entry["noise_ceiling"] == pytest.approx(float(np.median(data.noise_ceiling)))
    assert "user's own data" in (out / "report.html").read_text()
    with pytest.raises(ValueError, match="both"):
        run(out, features=tmp_path / "features.npz")


def test_the_command_line_passes_the_files_to_the_study(tmp_path, monkeypatch, cli_in_process):
    files = write_runs(tmp_path / "data")
    called = {}

    def recorded(out, seeds=5, quick=False, echo=print, models=None, features=None,
                 responses=None):  # fmt: skip
        called.update(out=out, seeds=seeds, quick=quick, features=features, responses=responses)
        return {"checks": []}

    monkeypatch.setattr(guclu2017, "run", recorded)  # the study itself: the test above
    result = cli_in_process("replicate", "guclu2017", "--quick", "--out", tmp_path / "out",
                            "--features", files.features_path,
                            "--responses", files.responses_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert called == {
        "out": tmp_path / "out", "seeds": 5, "quick": True,
        "features": files.features_path, "responses": files.responses_path,
    }  # fmt: skip


def test_the_command_line_refuses_files_whose_runs_differ(tmp_path, cli_in_process):
    files = write_runs(tmp_path / "data")
    other = write_runs(tmp_path / "other", runs=5)  # run4 more than the features' file
    result = cli_in_process("replicate", "guclu2017", "--quick", "--out", tmp_path / "out",
                            "--features", files.features_path,
                            "--responses", other.responses_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: features file {files.features_path} and responses file {other.responses_path} "
        f"must name the same runs in the same order; got ['run0', 'run1', 'run2', 'run3'] and "
        f"['run0', 'run1', 'run2', 'run3', 'run4']"
    ]
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.slow
def test_quick_mode(tmp_path):
    results = run(tmp_path, quick=True, echo=quiet)
    assert {c["name"].split(":")[0] for c in results["checks"]} >= {"generator", "LIN", "NL"}
    generator = [c for c in results["checks"] if c["name"].startswith("generator")]
    assert all(c["passed"] for c in generator)
    assert (tmp_path / "report.html").exists() and (tmp_path / "median_r.png").exists()
