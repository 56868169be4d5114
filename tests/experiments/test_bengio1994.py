"""The Bengio et al. (1994) replication, quick mode: what it writes and what must hold."""

import json

import pytest

from rnnlab.experiments.bengio1994 import run
from rnnlab.experiments.bengio1994.latch import LatchData, LatchUnit


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bengio1994")
    return out, run(out, seeds=4, quick=True, echo=lambda line: None)


def test_results_report_and_figures(quick_run):
    out, _ = quick_run
    written = json.loads((out / "results.json").read_text())
    assert written["experiment"] == "bengio1994"
    assert set(written["latch"]["success_rate"]) == {"5", "10", "20", "50"}
    for check in written["checks"]:
        assert {"name", "value", "paper", "criterion", "passed"} <= set(check)
    for figure in ("latch_success", "latch_gradient_decay", "latch_guessing"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 3


@pytest.mark.parametrize(
    "name",
    ["latch: gradient descent success at T = 5", "latch: success falls with T",
     "latching unit: slope of ln ||dx_T/dx_t|| per step", "latching unit: R^2 of the straight line",
     "latch: mean random-guessing trials (T = 100)"],
)  # fmt: skip
def test_the_latch_checks_pass(quick_run, name):
    found = {c["name"]: c for c in quick_run[1]["checks"]}
    assert found[name]["passed"], found[name]


def test_latch_unit_is_the_tanh_recurrence():
    """x_t = tanh(w x_{t-1} + u_t), x_0 = 0, with u_1 the class's free input."""
    import torch

    unit = LatchUnit(1.5, 0.7, -0.3)
    data = LatchData.draw(4, 6, torch.Generator().manual_seed(0))
    x = torch.zeros(4)
    for t in range(6):
        u = unit.first_inputs.detach()[data.labels] if t == 0 else data.noise[:, t]
        x = torch.tanh(1.5 * x + u)
    torch.testing.assert_close(unit(data).detach(), x)
