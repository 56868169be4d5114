"""Gradient flow through time, against closed forms, finite differences and direct autograd."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rnnlab
from rnnlab.analysis.gradient_flow import (
    GradientFlow,
    loss_gradient_norms,
    plot,
    recurrent_jacobians,
    state_gradient_norms,
)

B, T, I, H, O = 3, 8, 2, 4, 3
EPS = 1e-6
DTYPE = torch.float64

LAYERS = {
    "elman-tanh": lambda **kw: rnnlab.Elman(I, H, nonlinearity="tanh", **kw),
    "elman-relu": lambda **kw: rnnlab.Elman(I, H, nonlinearity="relu", **kw),
    "elman-sigmoid": lambda **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
    "jordan": lambda **kw: rnnlab.Jordan(I, H, O, nonlinearity="tanh", **kw),
    "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(I, H, **kw),
    "elman-tanh-2layers": lambda **kw: rnnlab.Elman(I, H, num_layers=2, **kw),
    "gru-2layers": lambda **kw: rnnlab.GRU(I, H, num_layers=2, **kw),
    "lstm-2layers-peephole": lambda **kw: rnnlab.LSTM(I, H, num_layers=2, peephole=True, **kw),
}


def make(name: str, seed: int = 0):
    """A float64 layer with recurrent weights doubled (livelier dynamics), inputs, a state."""
    torch.manual_seed(seed)
    layer = LAYERS[name](dtype=DTYPE, path="reference")
    with torch.no_grad():
        for index in range(layer.num_layers):
            getattr(layer, f"weight_hh_l{index}").mul_(2.0)
    x = torch.randn(B, T, I, dtype=DTYPE)
    parts = [0.3 * torch.randn_like(part) for part in _parts(layer.initial_state(B))]
    state = rnnlab.LSTMState(*parts) if isinstance(layer, rnnlab.LSTM) else parts[0]
    return layer, x, state


def _parts(state) -> list[torch.Tensor]:
    return [state] if isinstance(state, torch.Tensor) else list(state)


def _with(state, parts):
    return rnnlab.LSTMState(*parts) if isinstance(state, tuple) else parts[0]


def run(layer, x, state):
    """The layer's final state after ``x``; ``x`` with no steps leaves the state unchanged."""
    if x.shape[1] == 0:
        return state
    return layer(x, state)[1]


def nudge(state, part: int, unit: int, delta: float):
    """``state`` with ``delta`` added to one unit of the top layer's part ``part``."""
    parts = [p.clone() for p in _parts(state)]
    parts[part][-1, :, unit] += delta
    return _with(state, parts)


def top(state, part: int = 0) -> torch.Tensor:
    return _parts(state)[part][-1]  # (B, S)


# -- (1) a closed form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nonlinearity", "derivative"),
    [("tanh", lambda h: 1 - h**2), ("sigmoid", lambda h: h * (1 - h))],
    ids=["tanh", "sigmoid"],
)
def test_one_unit_elman_matches_the_product_of_derivatives(nonlinearity, derivative):
    """H = 1: ∂h_T/∂h_t = Π_{k=t+1}^{T} w_hh f'(a_k), with f' written through h_k."""
    torch.manual_seed(1)
    layer = rnnlab.Elman(1, 1, nonlinearity=nonlinearity, dtype=DTYPE, path="reference")
    with torch.no_grad():
        layer.weight_hh_l0.fill_(1.7)
    x = torch.randn(B, 12, 1, dtype=DTYPE)
    flow = state_gradient_norms(layer, x)
    with torch.no_grad():
        hidden = layer.record(x).hidden[0, :, :, 0].numpy()  # (B, T): h_1..h_T
    factors = 1.7 * derivative(hidden)  # factors[:, k - 1] = ∂h_k/∂h_{k-1}
    expected = np.concatenate(
        [np.cumprod(factors[:, ::-1], axis=1)[:, ::-1], np.ones((B, 1))], axis=1
    )
    np.testing.assert_allclose(flow.per_sequence, np.abs(expected), rtol=1e-10, atol=0)
    np.testing.assert_allclose(flow.spectral, np.abs(expected), rtol=1e-10, atol=0)
    np.testing.assert_allclose(flow.norms, np.abs(expected).mean(0), rtol=1e-10)
    assert flow.lags.tolist() == list(range(12, -1, -1))


# -- (2) every cell against finite differences ----------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_state_gradient_norms_match_finite_differences(name):
    layer, x, state = make(name)
    flow = state_gradient_norms(layer, x, state)
    assert flow.per_sequence.shape == (B, T + 1)
    S = top(state).shape[1]
    with torch.no_grad():
        for t in range(T):  # t = T is the identity, checked below
            at_t = run(layer, x[:, :t], state)  # the state of every layer after step t
            columns = [
                (top(run(layer, x[:, t:], nudge(at_t, 0, k, EPS)))
                 - top(run(layer, x[:, t:], nudge(at_t, 0, k, -EPS)))) / (2 * EPS)
                for k in range(S)
            ]  # fmt: skip
            jacobian = torch.stack(columns, dim=-1).numpy()  # (B, S_out, S_in)
            np.testing.assert_allclose(
                flow.per_sequence[:, t], np.linalg.norm(jacobian, axis=(1, 2)),
                rtol=1e-6, atol=1e-8,
            )  # fmt: skip
            np.testing.assert_allclose(
                flow.spectral[:, t], np.linalg.norm(jacobian, ord=2, axis=(1, 2)),
                rtol=1e-6, atol=1e-8,
            )  # fmt: skip
    np.testing.assert_allclose(flow.per_sequence[:, T], math.sqrt(S), rtol=1e-12)
    np.testing.assert_allclose(flow.spectral[:, T], 1.0, rtol=1e-12)


# -- (3) one-step Jacobians against finite differences --------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_recurrent_jacobians_match_finite_differences_of_one_step(name):
    layer, x, state = make(name)
    spectrum = recurrent_jacobians(layer, x, state)
    n_parts = len(_parts(state))
    S = sum(top(state, part).shape[1] for part in range(n_parts))
    assert spectrum.jacobians.shape == (B, T, S, S)
    assert spectrum.state == ("[h; c]" if n_parts == 2 else "y" if "jordan" in name else "h")

    def full_top(s):  # the top layer's whole state, [h; c] for the LSTM: (B, S)
        return torch.cat([top(s, part) for part in range(n_parts)], dim=-1)

    with torch.no_grad():
        for t in range(1, T + 1):
            before = run(layer, x[:, : t - 1], state)
            step = x[:, t - 1 : t]
            columns = [
                (full_top(run(layer, step, nudge(before, part, k, EPS)))
                 - full_top(run(layer, step, nudge(before, part, k, -EPS)))) / (2 * EPS)
                for part in range(n_parts)
                for k in range(top(state, part).shape[1])
            ]  # fmt: skip
            jacobian = torch.stack(columns, dim=-1).numpy()
            np.testing.assert_allclose(spectrum.jacobians[:, t - 1], jacobian, atol=1e-8)
    np.testing.assert_allclose(
        spectrum.singular_values, np.linalg.svd(spectrum.jacobians, compute_uv=False), atol=1e-12
    )
    radius = np.abs(np.linalg.eigvals(spectrum.jacobians)).max(-1)
    np.testing.assert_allclose(spectrum.spectral_radius, radius, atol=1e-10)
    assert spectrum.lags.tolist() == list(range(T - 1, -1, -1))
    assert spectrum.fraction_contracting == pytest.approx((radius < 1).mean())
    with np.errstate(divide="ignore"):
        mean_log = np.log(spectrum.singular_values[..., 0]).mean()
    assert spectrum.mean_log_max_singular == pytest.approx(mean_log)


@pytest.mark.parametrize("name", LAYERS)
def test_product_of_one_step_norms_bounds_the_gradient(name):
    """‖∂h_T/∂h_t‖₂ ≤ Π ‖J_k‖₂, and for Elman and Jordan each ‖J_k‖₂ ≤ γ λ₁ (Pascanu)."""
    layer, x, state = make(name)
    flow = state_gradient_norms(layer, x, state)
    spectrum = recurrent_jacobians(layer, x, state)
    assert np.all(flow.spectral <= spectrum.chain_bound() * (1 + 1e-10) + 1e-15)
    if name.startswith(("elman", "jordan")):
        assert np.all(spectrum.singular_values[..., 0] <= spectrum.bound * (1 + 1e-12))
    else:
        assert spectrum.bound is None


# -- (4) vanishing and non-vanishing regimes -------------------------------------------------


def elman_with_spectral_norm(nonlinearity: str, norm: float, orthogonal: bool, x_scale: float):
    torch.manual_seed(2)
    layer = rnnlab.Elman(I, 8, nonlinearity=nonlinearity, dtype=DTYPE, path="reference")
    with torch.no_grad():
        if orthogonal:
            q, _ = torch.linalg.qr(torch.randn(8, 8, dtype=DTYPE))
            layer.weight_hh_l0.copy_(norm * q)
        else:
            weight = layer.weight_hh_l0
            weight.mul_(norm / torch.linalg.matrix_norm(weight, ord=2))
    return layer, x_scale * torch.randn(4, 30, I, dtype=DTYPE)


@pytest.mark.parametrize(
    ("nonlinearity", "norm"), [("tanh", 0.5), ("sigmoid", 3.5)], ids=["tanh", "sigmoid"]
)
def test_contracting_weights_vanish_exponentially(nonlinearity, norm):
    """λ₁ < 1/γ: the log-norm falls on a straight line, below the bound (γ λ₁)^{T-t}."""
    layer, x = elman_with_spectral_norm(nonlinearity, norm, orthogonal=False, x_scale=0.5)
    flow = state_gradient_norms(layer, x)
    fit = flow.fit_exponential()
    assert fit.slope < 0
    assert fit.r_squared > 0.95
    assert fit.points == 30
    assert fit.rate == pytest.approx(math.exp(fit.slope))
    gamma = {"tanh": 1.0, "sigmoid": 0.25}[nonlinearity]
    assert np.all(flow.spectral <= (gamma * norm) ** flow.lags * (1 + 1e-10))


def test_expanding_orthogonal_weights_do_not_vanish_as_fast():
    small, x_small = elman_with_spectral_norm("tanh", 0.5, orthogonal=False, x_scale=0.5)
    large, x_large = elman_with_spectral_norm("tanh", 3.0, orthogonal=True, x_scale=0.01)
    contracting = state_gradient_norms(small, x_small)
    expanding = state_gradient_norms(large, x_large)
    assert expanding.fit_exponential().slope > contracting.fit_exponential().slope + 1
    assert expanding.norms[0] > 1e6 * contracting.norms[0]


def test_fit_exponential_needs_two_lags():
    flow = GradientFlow(np.array([[0.0, 0.0, 1.0]]), None, "test", "norm")
    with pytest.raises(ValueError, match="at least two lags"):
        flow.fit_exponential()


# -- (5) loss gradients against direct autograd ---------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_loss_gradient_norms_match_direct_gradients(name):
    layer, x, state = make(name)
    S = top(state).shape[1]
    torch.manual_seed(3)
    readout = torch.nn.Linear(S, 5, dtype=DTYPE)
    target = torch.randint(0, 5, (B, T))

    def loss_fn(logits, target):
        return F.cross_entropy(logits.reshape(-1, 5), target.reshape(-1))

    flow = loss_gradient_norms(layer, readout, x, target, loss_fn, state)
    assert flow.per_sequence.shape == (B, T + 1)
    assert flow.spectral is None
    assert readout.weight.grad is None

    # The last step: the gradient of the loss with respect to the recorded state itself.
    h0 = _parts(state)[0].clone().requires_grad_(True)
    trace = layer.record(x, _with(state, [h0, *_parts(state)[1:]]))
    outputs = trace.output[-1] if isinstance(trace, rnnlab.JordanTrace) else trace.hidden[-1]
    loss = loss_fn(readout(outputs), target)
    at_outputs, at_h0 = torch.autograd.grad(loss, [outputs, h0])
    np.testing.assert_allclose(
        flow.per_sequence[:, T], at_outputs[:, -1].norm(dim=-1).numpy(), rtol=1e-10
    )
    # The first: the gradient with respect to the top layer's initial state, every path.
    np.testing.assert_allclose(flow.per_sequence[:, 0], at_h0[-1].norm(dim=-1).numpy(), rtol=1e-8)


# -- (6) the figure and the boundary ---------------------------------------------------------


def test_plot_writes_a_png(tmp_path):
    flows = {name: state_gradient_norms(*make(name)) for name in ("elman-tanh", "gru", "lstm")}
    path = tmp_path / "flow.png"
    plot(flows, path, title="gradient flow")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000
    with pytest.raises(ValueError, match="at least one"):
        plot({}, tmp_path / "empty.png")


def test_rejects_what_it_cannot_analyse():
    x = torch.randn(2, 3, I)
    with pytest.raises(ValueError, match="one direction"):
        state_gradient_norms(rnnlab.GRU(I, H, bidirectional=True), x)
    with pytest.raises(TypeError, match="rnnlab Elman"):
        state_gradient_norms(torch.nn.GRU(I, H, batch_first=True), x)
    with pytest.raises(ValueError, match=r"\(B, T, I\)"):
        recurrent_jacobians(rnnlab.GRU(I, H), torch.randn(2, 3, I + 1))
    with pytest.raises(ValueError, match="shape"):
        state_gradient_norms(rnnlab.Elman(I, H), x, torch.zeros(1, 5, H))
