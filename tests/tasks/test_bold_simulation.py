"""The simulated fMRI of the Güçlü & van Gerven (2017) replication: the generator's sanity
checks (studies_and_applications.md section 3.4.1), the balloon against scipy's ODE solver,
the HRF against SPM's formula, the noise ceiling, determinism and the .npz loader."""

import numpy as np
import pytest
from scipy import integrate, stats

from rnnlab.errors import RnnlabError
from rnnlab.experiments.guclu2017 import two_event_ratio
from rnnlab.experiments.guclu2017.measures import pulse_responses
from rnnlab.tasks.balloon import V0, BalloonParameters, balloon_bold
from rnnlab.tasks.bold_simulation import (
    BoldResponses,
    BoldSimulationConfig,
    canonical_hrf,
    load_runs,
    pearson_columns,
    simulate,
    spearman_brown,
)


@pytest.fixture(scope="module")
def pulses():
    return pulse_responses()


def test_a_pulse_peaks_then_undershoots_then_rests(pulses):
    y, dt = pulses["single"], float(pulses["dt"])
    t = (np.arange(len(y)) + 1) * dt
    assert 3.5 <= t[y.argmax()] <= 6.5
    assert 8 <= t[y.argmin()] <= 20 and y.min() < 0
    assert abs(y[round(30 / dt) - 1]) < 0.05


def test_two_events_saturate_in_nl_and_add_in_lin(pulses):
    dt = float(pulses["dt"])
    assert two_event_ratio(pulses["nl_one"], pulses["nl_two"], round(2 / dt)) < 1.8
    hrf = canonical_hrf()
    one, two = np.zeros(60), np.zeros(60)
    one[0] = two[0] = two[2] = 1
    ratio = two_event_ratio(np.convolve(one, hrf)[:60], np.convolve(two, hrf)[:60], 2)
    assert ratio == pytest.approx(2, rel=0.05)


def test_balloon_matches_scipy_solve_ivp():
    """RK4 at 0.01 s against an adaptive solver at tight tolerance, SPM's equations written out
    again here, a 1-s pulse and then silence (two pieces, so the solver meets no jump)."""
    p = BalloonParameters(epsilon=0.8)
    drive = np.zeros((1, 200))
    drive[0, :10] = 1.0
    ours = balloon_bold(drive, p, 0.1, 0.5)[0]  # at 0.5, 1.0, ... 20 s

    def rhs(u):
        def f(t, x):
            s, fl, v, q = x
            e = 1 - (1 - p.e0) ** (1 / fl)
            return [p.epsilon * u - p.kappa * s - p.gamma * (fl - 1), s,
                    (fl - v ** (1 / p.alpha)) / p.tau,
                    (fl * e / p.e0 - v ** (1 / p.alpha) * q / v) / p.tau]  # fmt: skip

        return f

    first = integrate.solve_ivp(rhs(1.0), (0, 1), [0, 1, 1, 1], rtol=1e-10, atol=1e-12)
    times = np.arange(1, 41) * 0.5
    rest = integrate.solve_ivp(rhs(0.0), (1, 20), first.y[:, -1], t_eval=times[times >= 1],
                               rtol=1e-10, atol=1e-12)  # fmt: skip
    _, _, v, q = rest.y
    k1, k3 = 7 * p.e0, 2 * p.e0 - 0.2
    expected = 100 * V0 * (k1 * (1 - q) + 2 * (1 - q / v) + k3 * (1 - v))
    np.testing.assert_allclose(ours[times >= 1], expected, atol=1e-6)


def test_canonical_hrf_is_spm_double_gamma():
    t = np.arange(32.0)
    h = stats.gamma.pdf(t, 6) - stats.gamma.pdf(t, 16) / 6
    np.testing.assert_allclose(canonical_hrf(), h / h.sum(), atol=1e-12)
    assert canonical_hrf().argmax() == 5


@pytest.fixture(scope="module")
def small():
    config = BoldSimulationConfig(condition="nl", voxels=12, runs=4, run_seconds=120.0, seed=3)
    return config, simulate(config)


def test_simulation_is_deterministic_and_shaped(small):
    config, data = small
    again = simulate(config)
    np.testing.assert_array_equal(data.responses, again.responses)
    assert data.features.shape == (4, 120, 16) and data.responses.shape == (4, 120, 12)
    assert (data.features >= 0).all() and np.isfinite(data.responses).all()
    assert ((data.weights != 0).sum(1) >= 3).all() and ((data.weights != 0).sum(1) <= 5).all()
    other = simulate(config.model_copy(update={"seed": 4}))
    assert not np.allclose(other.responses, data.responses)


def test_noise_ceiling_is_spearman_brown_of_the_repeats_and_near_its_targets():
    data = simulate(BoldSimulationConfig(condition="lin", voxels=300, runs=3,
                                         run_seconds=3000.0, seed=0))  # fmt: skip
    r = np.array([np.corrcoef(data.responses[-1][:, v], data.test_repeat[:, v])[0, 1]
                  for v in range(300)])  # fmt: skip
    np.testing.assert_allclose(data.noise_ceiling, 2 * r / (1 + r), atol=1e-12)
    assert 0.5 < np.median(data.noise_ceiling) < 0.8
    assert spearman_brown(np.array(0.5)) == pytest.approx(2 / 3)


def test_pearson_columns_is_numpys():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    expected = [np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(3)]
    np.testing.assert_allclose(pearson_columns(a, b), expected, atol=1e-12)


def test_task_masks_the_burn_in_and_z_scores(small):
    _, data = small
    task = BoldResponses(data, burn_in=8)
    splits = task.splits()
    train = splits["train"]
    assert train.x.shape == (1, 2 * 120, 16) and train.y.shape == (1, 240, 12)
    assert not train.mask[0, :8].any() and train.mask[0, 8:120].all()
    assert not train.mask[0, 120:128].any()
    np.testing.assert_allclose(train.y[0].mean(0).numpy(), 0, atol=1e-5)
    assert splits["test"].y.shape == (1, 120, 12)


def test_user_runs_from_npz(tmp_path):
    rng = np.random.default_rng(1)
    x = {f"run{k}": rng.random((40, 3)) for k in range(3)}
    y = {f"run{k}": rng.random((40, 5)) for k in range(3)}
    np.savez(tmp_path / "x.npz", **x)
    np.savez(tmp_path / "y.npz", **y, test_repeat=rng.random((40, 5)))
    runs = load_runs(tmp_path / "x.npz", tmp_path / "y.npz")
    assert runs.features.shape == (3, 40, 3) and runs.test_repeat.shape == (40, 5)
    np.testing.assert_array_equal(runs.responses[1], y["run1"])
    np.savez(tmp_path / "bad.npz", run0=rng.random((40, 5)), run1=rng.random((41, 5)),
             run2=rng.random((40, 5)))  # fmt: skip
    with pytest.raises(RnnlabError, match="one T"):
        load_runs(tmp_path / "x.npz", tmp_path / "bad.npz")
    with pytest.raises(RnnlabError, match=r"missing\.npz does not exist"):
        load_runs(tmp_path / "missing.npz", tmp_path / "y.npz")
