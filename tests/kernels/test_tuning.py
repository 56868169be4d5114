"""The loop of a call chosen by measurement: measured once per shape class and kept in the
cache file, the fastest candidate by the margin, and nothing a user can see changed."""

import json
from pathlib import Path

import pytest
import torch

from rnnlab.kernels import tuning
from rnnlab.layers import COMPILED, CTRNN, FUSED, GRU, LSTM, TORCH_LOOP, Elman


@pytest.fixture
def tuned(tmp_path, monkeypatch):
    """Measurement on, into a cache directory of this test's own."""
    monkeypatch.setenv("RNNLAB_TUNE", "1")
    monkeypatch.setenv("RNNLAB_CACHE_DIR", str(tmp_path))
    tuning.forget()
    yield tmp_path
    tuning.forget()


def faster(winner: str, monkeypatch) -> list[str]:
    """Make ``winner`` the fastest candidate (the clock is the test's); returns the calls."""
    calls: list[str] = []
    real = tuning.choose

    def choose(key, candidates, default, run):
        def timed(candidate):
            calls.append(candidate)
            run(candidate)  # the probe still runs, so it must leave nothing behind
            return 1.0 if candidate == winner else 2.0

        return real(key, candidates, default, timed)

    monkeypatch.setattr(tuning, "choose", choose)
    return calls


@pytest.mark.parametrize("winner", [COMPILED, TORCH_LOOP])
def test_the_fastest_candidate_serves_and_is_kept_for_the_shape_class(tuned, monkeypatch, winner):
    calls = faster(winner, monkeypatch)
    torch.manual_seed(0)
    layer = GRU(3, 5)
    x = torch.randn(4, 7, 3)
    outputs, _ = layer(x)
    assert layer.last_path == winner
    assert set(calls) == {COMPILED, TORCH_LOOP} and len(calls) == 2 * (1 + tuning.ROUNDS)
    reference = GRU(3, 5, path="reference")
    reference.load_state_dict(layer.state_dict())
    torch.testing.assert_close(outputs, reference(x)[0])
    (cache,) = tuned.glob("dispatch-*.json")
    held = json.loads(cache.read_text())
    assert held["fingerprint"]["torch"] == torch.__version__
    assert held["fingerprint"]["kernels"] == tuning._kernels_digest()
    ((key, entry),) = held["choices"].items()
    assert entry["choice"] == winner and "B=4" in key and "H=5" in key and "T=7" in key
    # Another layer of the shape class, in a process that reads the file afresh: no probe.
    tuning.forget()
    calls.clear()
    other = GRU(3, 5)
    other(torch.randn(4, 7, 3))
    assert calls == [] and other.last_path == winner
    other(torch.randn(9, 7, 3))  # another B: another shape class
    assert len(calls) == 2 * (1 + tuning.ROUNDS)


def test_the_reference_answers_what_every_candidate_computes(tuned, monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    reference = LSTM(2, 4, path="reference").double()
    expected, _ = reference(x)
    for winner in (FUSED, COMPILED, TORCH_LOOP):
        tuning.forget()
        for stale in tuned.glob("dispatch-*.json"):
            stale.unlink()
        with monkeypatch.context() as patch:
            faster(winner, patch)
            layer = LSTM(2, 4).double()
            layer.load_state_dict(reference.state_dict())
            outputs, _ = layer(x)
        assert layer.last_path == winner
        torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)


def test_a_near_tie_keeps_the_size_rules_choice(tuned, monkeypatch):
    real = tuning.choose

    def choose(key, candidates, default, run):
        return real(key, candidates, default, lambda c: 1.0 if c == default else 0.97)

    monkeypatch.setattr(tuning, "choose", choose)
    layer = Elman(3, 5)
    layer(torch.randn(2, 4, 3))
    assert layer.last_path == layer.fast_path_name(2)  # 3 % faster is not enough


def test_a_probe_leaves_the_random_generators_and_the_gradients_alone(tuned, monkeypatch):
    # A training run with measurement on is the run with it off: the same draws of dropout and
    # of the CTRNN's own noise, and no gradient left in any .grad by the probes.
    def first_call(tune: str):
        monkeypatch.setenv("RNNLAB_TUNE", tune)
        tuning.forget()
        torch.manual_seed(0)
        layers = [GRU(3, 5, num_layers=2, dropout=0.5),
                  CTRNN(3, 5, sigma_rec=0.5, sigma_in=0.2, seed=3)]  # fmt: skip
        x = torch.randn(4, 6, 3)
        outputs = [layer(x)[0] for layer in layers]
        grads = [p.grad for layer in layers for p in layer.parameters()]
        return outputs, grads, torch.rand(3)

    faster(TORCH_LOOP, monkeypatch)
    measured, grads, after = first_call("1")
    assert all(g is None for g in grads)
    plain, _, plain_after = first_call("0")
    for a, b in zip(measured, plain):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)  # the loops round differently
    assert torch.equal(after, plain_after)  # the global generator went on the same


def test_off_the_reference_path_and_with_tune_0_nothing_is_measured(tuned, monkeypatch):
    calls = faster(COMPILED, monkeypatch)
    Elman(3, 5, path="reference")(torch.randn(2, 4, 3))
    monkeypatch.setenv("RNNLAB_TUNE", "0")
    Elman(3, 5)(torch.randn(2, 4, 3))
    assert calls == [] and list(tuned.glob("dispatch-*.json")) == []
    monkeypatch.setenv("RNNLAB_TUNE", "yes")
    with pytest.raises(ValueError, match="RNNLAB_TUNE must be 0 or 1"):
        Elman(3, 5)(torch.randn(2, 4, 3))


def test_an_unwritable_cache_measures_and_goes_on(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("RNNLAB_TUNE", "1")
    monkeypatch.setenv("RNNLAB_CACHE_DIR", str(blocked / "below"))
    tuning.forget()
    calls = faster(COMPILED, monkeypatch)
    layer = GRU(3, 5)
    layer(torch.randn(2, 4, 3))
    layer(torch.randn(2, 4, 3))
    assert layer.last_path == COMPILED and len(calls) == 2 * (1 + tuning.ROUNDS)  # kept in memory
    tuning.forget()


def test_a_changed_kernel_source_is_another_fingerprint(tmp_path, monkeypatch):
    """An edit of a loop in a source tree keeps the version: the digest tells the choices
    measured on the old loop from those of the new."""
    before = tuning._kernels_digest()
    fake = tmp_path / "tuning.py"
    for path in Path(tuning.__file__).parent.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(tuning, "__file__", str(fake))
    assert tuning._kernels_digest() == before
    (tmp_path / "ctrnn.py").write_text("# changed\n", encoding="utf-8")
    assert tuning._kernels_digest() != before


def test_the_probe_length_grows_with_the_length_within_bounds():
    assert [tuning.probe_steps(T, 1, 20) for T in (1, 7, 64, 100, 128, 300, 1000, 16384)] == [
        1, 7, 64, 64, 128, 256, 512, 1024,
    ]  # fmt: skip
    # A large call is probed on fewer steps: 256 * 64 * 512 elements are over the budget.
    assert tuning.probe_steps(1000, 64, 512) == 128
    assert tuning.probe_steps(1000, 4096, 4096) == tuning.PROBE_STEPS  # never below 64
