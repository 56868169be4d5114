"""Gradients of gradients on every path: the fast kernels against the reference unroll.

A kernel's backward is written by hand; when autograd asks for a graph of it
(``create_graph=True``) the kernels differentiate the layer's reference unroll instead
(:mod:`rnnlab.kernels.second_order`). These tests check that every path computes the same
function to second order: ``gradgradcheck`` (numerical second derivatives, float64), a gradient
penalty whose effect on every weight gradient is compared with the reference path, a
Hessian-vector product against the reference path's and against finite differences of
gradients, and gradients through the trace that ``record`` returns.
"""

import itertools

import numpy as np
import pytest
import torch
from torch.func import functional_call

import rnnlab
from rnnlab.kernels import dispatch
from rnnlab.kernels.gru import GRUFunction
from tests.grids import split_grid

B, T, I, H, O = 2, 3, 2, 2, 2
LENGTHS = [3, 2]

LAYERS = {
    "elman_tanh": lambda **kw: rnnlab.Elman(I, H, nonlinearity="tanh", **kw),
    "elman_relu": lambda **kw: rnnlab.Elman(I, H, nonlinearity="relu", **kw),
    "elman_sigmoid": lambda **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
    "jordan": lambda **kw: rnnlab.Jordan(I, H, O, **kw),
    "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(I, H, **kw),
    "lstm_peephole": lambda **kw: rnnlab.LSTM(I, H, peephole=True, **kw),
}
# The loops a fast-path call can run: both passes compiled, both as loops of torch calls, and
# (plain LSTM without lengths) torch's fused kernel, which autograd differentiates itself.
LOOPS = ["compiled", "torch", "fused"]
SHAPES = {"L1": dict(num_layers=1), "L2bi": dict(num_layers=2, bidirectional=True)}


def force_loops(monkeypatch, loop: str) -> None:
    compiled = loop == "compiled"
    monkeypatch.setattr(
        dispatch, "COMPILED_LOOP_MAX_WORK", dict.fromkeys((1, 3, 4), 10**9 if compiled else 0)
    )
    if loop == "torch":
        monkeypatch.setattr(dispatch, "gemm_address", lambda dtype: 0)
    # The fused LSTM serves every plain LSTM call without lengths in "fused", none otherwise.
    monkeypatch.setattr(dispatch, "FUSED_LSTM_MAX_WORK", 10**9 if loop == "fused" else 0)


def cases(*, lengths: bool) -> list:
    """(name, loop[, lengths]) for every family and loop that can serve it."""
    found = []
    for name in LAYERS:
        for loop in LOOPS:
            for length in [None, LENGTHS] if lengths else [None]:
                if loop == "fused" and (name != "lstm" or length is not None):
                    continue  # torch's fused kernel serves only a plain LSTM without lengths
                found.append((name, loop, length) if lengths else (name, loop))
    return found


def grid(*factors: dict) -> list:
    """Every (name, loop, lengths) of :func:`cases` with every combination of ``factors``
    (each {id: value}), as parameters: a pairwise-covering subset in the default run (every
    family on every loop, with and without lengths, in each shape and dtype), the rest slow."""
    found, ids = [], []
    for name, loop, lengths in cases(lengths=True):
        for more in itertools.product(*(f.items() for f in factors)):
            found.append((name, loop, lengths, *(value for _, value in more)))
            given = "None" if lengths is None else "lengths"
            ids.append("-".join([name, loop, given, *(key for key, _ in more)]))
    return split_grid(found, ids)


SHAPE_NAMES = {shape: shape for shape in SHAPES}
DTYPES = {"f64": torch.float64, "f32": torch.float32}


def parts(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def random_state(layer, seed=1):
    generator = torch.Generator().manual_seed(seed)
    state = layer.initial_state(B)
    made = [torch.randn(p.shape, dtype=p.dtype, generator=generator) for p in parts(state)]
    return type(state)(*made) if isinstance(state, tuple) else made[0]


def pair(name, shape, dtype=torch.float64):
    """The same layer twice, on the reference path and on the fast path."""
    torch.manual_seed(0)
    reference = LAYERS[name](path="reference", dtype=dtype, **SHAPES[shape])
    fast = LAYERS[name](path="fast", dtype=dtype, **SHAPES[shape])
    fast.load_state_dict(reference.state_dict())
    return reference, fast


@pytest.mark.parametrize(("name", "loop", "lengths", "shape"), grid(SHAPE_NAMES))
def test_gradgradcheck_on_the_fast_path(monkeypatch, name, shape, lengths, loop):
    """Numerical second derivatives (float64) w.r.t. the input, the initial state and, for one
    layer, every parameter; two layers keep their parameters fixed, to keep the check's cost
    (quadratic in the number of inputs) in seconds: the gradient-penalty and Hessian-vector
    tests below reach every parameter of two bidirectional layers."""
    force_loops(monkeypatch, loop)
    _, layer = pair(name, shape)
    named = list(layer.named_parameters()) if shape == "L1" else []
    names = [n for n, _ in named]
    parameters = [p.detach().clone().requires_grad_() for _, p in named]
    lengths_t = None if lengths is None else torch.tensor(lengths)
    template = layer.initial_state(B)

    def function(x, *tensors):
        k = len(parts(template))
        state = tensors[:k]
        state = type(template)(*state) if isinstance(template, tuple) else state[0]
        params = dict(zip(names, tensors[k:]))
        outputs, final = functional_call(layer, params, (x, state, lengths_t), strict=False)
        return (outputs, *parts(final))

    generator = torch.Generator().manual_seed(2)
    x = torch.randn(B, T, I, dtype=torch.float64, generator=generator, requires_grad=True)
    state = [p.requires_grad_() for p in parts(random_state(layer))]
    assert torch.autograd.gradgradcheck(
        function, (x, *state, *parameters), eps=1e-6, atol=1e-5, rtol=1e-4
    )


def penalised_gradients(layer, x, state, lengths, weights):
    """Weight gradients of a loss plus a penalty on the input gradient's norm (as WGAN-GP)."""
    outputs, final = layer(x, state, lengths)
    loss = (outputs * weights).sum() + sum((p**2).sum() for p in parts(final))
    (dx,) = torch.autograd.grad(loss, x, create_graph=True)
    total = loss + 10.0 * (dx**2).sum()
    return torch.autograd.grad(total, [x, *layer.parameters()])


@pytest.mark.parametrize(("name", "loop", "lengths", "shape", "dtype"), grid(SHAPE_NAMES, DTYPES))
def test_gradient_penalty_reaches_every_weight_as_on_the_reference_path(
    monkeypatch, name, shape, lengths, loop, dtype
):
    force_loops(monkeypatch, loop)
    reference, fast = pair(name, shape, dtype)
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    state = random_state(reference)
    lengths = None if lengths is None else torch.tensor(lengths)
    weights = torch.randn(fast(x)[0].shape, dtype=dtype)
    want = penalised_gradients(reference, x, state, lengths, weights)
    got = penalised_gradients(fast, x, state, lengths, weights)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-4
    for (n, _), g, w in zip([("x", None), *fast.named_parameters()], got, want):
        torch.testing.assert_close(g, w, atol=tolerance, rtol=tolerance, msg=n)
    # The penalty changes the weight gradients: a gradient without a graph would leave them
    # at the plain loss's gradients.
    outputs, final = fast(x, state, lengths)
    plain = torch.autograd.grad(
        (outputs * weights).sum() + sum((p**2).sum() for p in parts(final)),
        list(fast.parameters()),
    )
    assert max(float((g - p).abs().max()) for g, p in zip(got[1:], plain)) > 1e-3


@pytest.mark.parametrize(("name", "loop"), cases(lengths=False))
def test_hessian_vector_product_matches_reference_and_finite_differences(monkeypatch, name, loop):
    force_loops(monkeypatch, loop)
    reference, fast = pair(name, "L2bi")
    x = torch.randn(B, T, I, dtype=torch.float64)
    targets = torch.randn(fast(x)[0].shape, dtype=torch.float64)
    vector = [torch.randn_like(p) for p in fast.parameters()]

    def loss(layer):
        return ((layer(x)[0] - targets) ** 2).sum()

    def hvp(layer):
        grads = torch.autograd.grad(loss(layer), list(layer.parameters()), create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vector))
        return torch.autograd.grad(dot, list(layer.parameters()))

    got, want = hvp(fast), hvp(reference)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=1e-10)
    # Central differences of the gradient along the vector: an independent check.
    eps = 1e-5

    def gradient_at(sign):
        with torch.no_grad():
            for p, v in zip(reference.parameters(), vector):
                p.add_(sign * eps * v)
        g = torch.autograd.grad(loss(reference), list(reference.parameters()))
        with torch.no_grad():
            for p, v in zip(reference.parameters(), vector):
                p.sub_(sign * eps * v)
        return g

    plus, minus = gradient_at(1.0), gradient_at(-1.0)
    for g, p, m in zip(got, plus, minus):
        torch.testing.assert_close(g, (p - m) / (2 * eps), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("loop", ["compiled", "torch"])
@pytest.mark.parametrize("name", LAYERS)
def test_gradients_through_the_whole_record_match_the_reference(monkeypatch, name, loop):
    force_loops(monkeypatch, loop)
    reference, fast = pair(name, "L2bi")
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor(LENGTHS)

    def gradients(layer):
        trace = layer.record(x, lengths=lengths)
        generator = torch.Generator().manual_seed(3)
        loss = sum(
            (field * torch.randn(field.shape, dtype=field.dtype, generator=generator)).sum()
            for field in trace
        )
        return torch.autograd.grad(loss, [x, *layer.parameters()])

    for g, w in zip(gradients(fast), gradients(reference)):
        torch.testing.assert_close(g, w, atol=1e-10, rtol=1e-10)


def test_a_kernel_without_its_reference_refuses_a_graph_instead_of_a_constant():
    generator = torch.Generator().manual_seed(0)
    tensors = [
        torch.randn(shape, dtype=torch.float64, generator=generator, requires_grad=True)
        for shape in [(B, T, I), (B, H), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,)]
    ]
    lengths = np.full(B, T, dtype=np.int64)
    outputs, _, _ = GRUFunction.apply(*tensors, lengths, False, True)
    (dx,) = torch.autograd.grad(outputs.sum(), tensors[0])  # first order: fine without it
    assert dx.shape == (B, T, I)
    outputs, _, _ = GRUFunction.apply(*tensors, lengths, False, True)
    with pytest.raises(RuntimeError, match="GRUFunction: a gradient with a graph"):
        torch.autograd.grad(outputs.sum(), tensors[0], create_graph=True)
