"""The CTRNN's fast path (rnnlab.kernels.ctrnn) against its reference unroll: values, gradients
of every input and parameter, gradients through ``record``, and second order (gradgradcheck,
a gradient penalty, Hessian-vector products), on both loops (compiled and torch ops)."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

import rnnlab
from rnnlab.cells.ctrnn import NoiseSource
from rnnlab.kernels import blas, dispatch
from rnnlab.kernels.ctrnn import RATE_CODES, CTRNNFunction
from tests.grids import split_grid

B, T, I, H = 3, 4, 2, 5
LENGTHS = [4, 1, 3]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
NONLINEARITIES = list(RATE_CODES)
MASK = torch.rand(H, H, generator=torch.Generator().manual_seed(0)) > 0.4
CONFIGS = {
    "plain": dict(),
    "dale_mask_tau": dict(dale=True, connectivity=MASK, learn_tau=True, learn_v0=True, v0=0.1),
    "noise": dict(sigma_rec=0.2, sigma_in=0.1, learn_tau=True, seed=3),
    "no_bias_alpha_half": dict(bias=False, tau=2.0, dt=1.0),
}
SHAPES = {"L1": dict(), "L2bi": dict(num_layers=2, bidirectional=True)}
LOOPS = ["compiled", "torch", "torch forward, compiled backward"]
DTYPES = {"f64": torch.float64, "f32": torch.float32}


def force_loops(monkeypatch, loop: str) -> None:
    limit = 10**9 if loop == "compiled" else 0
    monkeypatch.setattr(dispatch, "COMPILED_LOOP_MAX_WORK", dict.fromkeys((1, 3, 4), limit))
    if loop == "torch":  # without torch's BLAS for the compiled loops, the backward is torch's
        monkeypatch.setattr(dispatch, "gemm_address", lambda dtype: 0)
    elif loop != "compiled" and not blas.gemm_address(torch.float64):
        pytest.skip("this torch build exports no BLAS routine: the backward runs as torch's")


def pair(nonlinearity, config, shape, dtype=torch.float64):
    """The same CTRNN on the reference path and on the fast path, with larger weights than the
    default so that every nonlinearity works across its range."""
    options = {**CONFIGS[config], **SHAPES[shape]}
    torch.manual_seed(0)
    reference = rnnlab.CTRNN(
        I, H, nonlinearity=nonlinearity, path="reference", dtype=dtype, **options
    )
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            value = torch.randn(parameter.shape, generator=generator, dtype=dtype)
            parameter.copy_(value * 0.3 + math.log(100.0) if "log_tau" in name else value)
    fast = rnnlab.CTRNN(I, H, nonlinearity=nonlinearity, path="fast", dtype=dtype, **options)
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def run(layer, x, state, lengths, weights):
    outputs, final = layer(x, state, lengths)
    loss = (outputs * weights).sum() + (final * final).sum()
    # A learned v0 is unused when a state is given: its gradient is None on both paths.
    grads = torch.autograd.grad(loss, [x, state, *layer.parameters()], allow_unused=True)
    return [outputs, final, *(torch.zeros(()) if g is None else g for g in grads)]


def value_grid() -> list:
    cases, ids = [], []
    for values in itertools.product(
        NONLINEARITIES, CONFIGS, SHAPES, ["full", "lengths"], DTYPES, LOOPS
    ):
        cases.append(values)
        ids.append("-".join(values))
    return split_grid(cases, ids)


@pytest.mark.parametrize(
    ("nonlinearity", "config", "shape", "lengths", "dtype", "loop"), value_grid()
)
def test_fast_path_matches_reference(
    monkeypatch, nonlinearity, config, shape, lengths, dtype, loop
):
    force_loops(monkeypatch, loop)
    dtype = DTYPES[dtype]
    reference, fast = pair(nonlinearity, config, shape, dtype)
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(B, T, I, dtype=dtype, generator=generator).requires_grad_()
    state = torch.randn(reference.initial_state(B).shape, dtype=dtype, generator=generator)
    state.requires_grad_()
    lengths = None if lengths == "full" else torch.tensor(LENGTHS)
    weights = torch.randn(B, T, fast.num_directions * H, dtype=dtype, generator=generator)
    want = run(reference, x, state, lengths, weights)
    got = run(fast, x, state, lengths, weights)
    names = ["outputs", "final", "x", "state", *(n for n, _ in fast.named_parameters())]
    for name, g, w in zip(names, got, want):
        # Rounding errors grow with the largest entry (gradients reach 1e3 here), not each one's.
        tolerance = TOLERANCE[dtype] * max(1.0, float(w.detach().abs().max()))
        torch.testing.assert_close(g, w, atol=tolerance, rtol=0, msg=name)
    assert fast.fast_path_name(B) != "reference"


@pytest.mark.parametrize("loop", ["compiled", "torch"])
@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_through_the_whole_record_match_the_reference(monkeypatch, config, loop):
    force_loops(monkeypatch, loop)
    reference, fast = pair("softplus", config, "L2bi")
    x = torch.rand(B, T, I, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor(LENGTHS)

    def gradients(layer):
        trace = layer.record(x, lengths=lengths)
        generator = torch.Generator().manual_seed(3)
        loss = sum((field * torch.randn(field.shape, dtype=field.dtype, generator=generator)).sum()
                   for field in trace)  # fmt: skip
        return [*trace, *torch.autograd.grad(loss, [x, *layer.parameters()])]

    for g, w in zip(gradients(fast), gradients(reference)):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=1e-10)


def second_order_grid() -> list:
    cases, ids = [], []
    for values in itertools.product(["relu", "softplus", "tanh", "retanh", "sigmoid"],
                                    ["plain", "dale_mask_tau", "noise"], ["compiled", "torch"],
                                    ["full", "lengths"]):  # fmt: skip
        cases.append(values)
        ids.append("-".join(values))
    return split_grid(cases, ids)


@pytest.mark.parametrize(("nonlinearity", "config", "loop", "lengths"), second_order_grid())
def test_gradgradcheck_on_the_fast_path(monkeypatch, nonlinearity, config, loop, lengths):
    """Numerical second derivatives (float64) w.r.t. the input, the initial state and every
    parameter (log_tau and v0 included) of one layer on the fast path."""
    force_loops(monkeypatch, loop)
    _, layer = pair(nonlinearity, config, "L1")
    small = 2
    names, parameters = zip(
        *((n, p.detach().clone().requires_grad_()) for n, p in layer.named_parameters())
    )
    lengths_t = None if lengths == "full" else torch.tensor([2, 1])

    def function(x, state, *tensors):
        # The same noise on every evaluation: gradgradcheck perturbs one input at a time.
        layer.noise = NoiseSource(5)
        outputs, final = functional_call(layer, dict(zip(names, tensors)), (x, state, lengths_t))
        return outputs, final

    generator = torch.Generator().manual_seed(2)
    x = torch.rand(small, 2, I, dtype=torch.float64, generator=generator, requires_grad=True)
    state = torch.randn(1, small, H, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(function, (x, state, *parameters), eps=1e-6, atol=1e-5)
    assert torch.autograd.gradgradcheck(
        function, (x, state, *parameters), eps=1e-6, atol=1e-5, rtol=1e-4
    )


def penalised_gradients(layer, x, lengths, weights):
    """Weight gradients of a loss plus a penalty on the input gradient's norm (as WGAN-GP)."""
    outputs, final = layer(x, lengths=lengths)
    loss = (outputs * weights).sum() + (final**2).sum()
    (dx,) = torch.autograd.grad(loss, x, create_graph=True)
    total = loss + 10.0 * (dx**2).sum()
    return torch.autograd.grad(total, [x, *layer.parameters()])


@pytest.mark.parametrize("loop", ["compiled", "torch"])
@pytest.mark.parametrize("config", CONFIGS)
def test_gradient_penalty_and_hessian_vector_products_match_the_reference(
    monkeypatch, config, loop
):
    force_loops(monkeypatch, loop)
    reference, fast = pair("tanh", config, "L2bi")
    x = torch.rand(B, T, I, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor(LENGTHS)
    weights = torch.randn(B, T, 2 * H, dtype=torch.float64)
    want = penalised_gradients(reference, x, lengths, weights)
    got = penalised_gradients(fast, x, lengths, weights)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=1e-10)
    outputs, final = fast(x, lengths=lengths)
    plain = torch.autograd.grad(
        (outputs * weights).sum() + (final**2).sum(), list(fast.parameters())
    )
    assert max(float((g - p).abs().max()) for g, p in zip(got[1:], plain)) > 1e-3

    vector = [torch.randn_like(p) for p in fast.parameters()]

    def hvp(layer):
        layer.noise = NoiseSource(3)  # both paths draw the same noise: the same function
        outputs, _ = layer(x, lengths=lengths)
        loss = ((outputs - weights) ** 2).sum()
        grads = torch.autograd.grad(loss, list(layer.parameters()), create_graph=True)
        return torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vector)),
                                   list(layer.parameters()))  # fmt: skip

    for g, w in zip(hvp(fast), hvp(reference)):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=1e-10)


def test_the_kernel_without_its_reference_refuses_a_graph_instead_of_a_constant():
    layer = rnnlab.CTRNN(I, H, dtype=torch.float64)
    x = torch.rand(B, T, I, dtype=torch.float64, requires_grad=True)
    v0 = torch.zeros(B, H, dtype=torch.float64)
    tensors = [getattr(layer, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    from rnnlab.layers import _ctrnn_effective

    effective = lambda *a: _ctrnn_effective(*a, options=layer.options)  # noqa: E731
    lengths = np.full(B, T, dtype=np.int64)

    def call():
        return CTRNNFunction.apply(x, v0, *tensors, None, None, None, None, None, lengths, False,
                                   RATE_CODES["relu"], True, effective)  # fmt: skip

    (dx,) = torch.autograd.grad(call()[0].sum(), x)  # first order: fine without it
    want = torch.autograd.grad(layer(x)[0].sum(), x)[0]
    torch.testing.assert_close(dx, want, atol=1e-12, rtol=0)
    with pytest.raises(RuntimeError, match="CTRNNFunction: a gradient with a graph"):
        torch.autograd.grad(call()[0].sum(), x, create_graph=True)


@pytest.mark.parametrize("path", ["reference", "fast"])
def test_layer_gradcheck(path):
    """Two layers, both directions, Dale's law, learned tau and v0, variable lengths."""
    torch.manual_seed(0)
    layer = rnnlab.CTRNN(
        I, 3, nonlinearity="tanh", num_layers=2, bidirectional=True, dale=True,
        excitatory_fraction=0.6, learn_tau=True, learn_v0=True, path=path, dtype=torch.float64,
    )  # fmt: skip
    names, parameters = zip(
        *((n, p.detach().clone().requires_grad_()) for n, p in layer.named_parameters())
    )
    lengths = torch.tensor([3, 2])

    def function(x, *tensors):
        return functional_call(layer, dict(zip(names, tensors)), (x, None, lengths))

    x = torch.rand(2, 3, I, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(function, (x, *parameters), eps=1e-6, atol=1e-5)
