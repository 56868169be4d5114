"""Sizes and memory layouts at the edges of what BLAS reads: one hidden unit, one sequence,
initial states and state gradients whose strides are not row-major. A (1, N) matrix is
"contiguous" to torch and NumPy whatever its row stride, so a kernel that hands that stride
to BLAS as a leading dimension computes garbage; these compare with the reference path."""

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.kernels import blas

KINDS = {
    "elman": lambda i, h, **kw: rnnlab.Elman(i, h, **kw),
    "jordan": lambda i, h, **kw: rnnlab.Jordan(i, h, 2, **kw),
    "gru": lambda i, h, **kw: rnnlab.GRU(i, h, **kw),
    "lstm": lambda i, h, **kw: rnnlab.LSTM(i, h, **kw),
    "lstm_peephole": lambda i, h, **kw: rnnlab.LSTM(i, h, peephole=True, **kw),
}


def column_major(*shape, dtype):
    """A dense tensor of ``shape`` laid out column-major (strides not row-major)."""
    return torch.randn(*reversed(shape), dtype=dtype).permute(*reversed(range(len(shape))))


def run(layer, x, state):
    outputs, final = layer(x, state)
    finals = tuple(final) if isinstance(final, tuple) else (final,)
    # A gradient for the final state with odd strides, as a transposed tensor would give.
    loss = outputs.sin().sum() + sum(
        (f * column_major(*f.shape, dtype=f.dtype)).sum() for f in finals
    )
    leaves = [x, *(state if isinstance(state, tuple) else (state,)), *layer.parameters()]
    return [outputs, *finals, *torch.autograd.grad(loss, leaves)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("hidden, batch", [(1, 3), (5, 1), (1, 1)])
@pytest.mark.parametrize("kind", KINDS)
def test_edges_match_the_reference(kind, hidden, batch, dtype):
    torch.manual_seed(0)
    reference = KINDS[kind](3, hidden, path="reference", dtype=dtype)
    fast = KINDS[kind](3, hidden, path="fast", dtype=dtype)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(batch, 4, 3, dtype=dtype, requires_grad=True)
    initial = reference.initial_state(batch)
    parts = tuple(initial) if isinstance(initial, tuple) else (initial,)
    odd = tuple(column_major(*p.shape, dtype=dtype).requires_grad_() for p in parts)
    state = type(initial)(*odd) if isinstance(initial, tuple) else odd[0]
    torch.manual_seed(1)
    expected = run(reference, x, state)
    torch.manual_seed(1)
    got = run(fast, x, state)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("route", ["matmul", "packed"])
def test_one_row_with_any_stride(route):
    w = torch.randn(5, 5, dtype=torch.float32)
    a = torch.randn(5, 1, dtype=torch.float32).t().numpy()  # (1, 5), strides (4, 4)
    c = torch.randn(1, 5, dtype=torch.float32).t().contiguous().t().numpy()
    before = c.copy()
    if route == "packed":
        blas.product(blas.weight_operand(w, 1, "test.one_row"), a, c, True)
    else:
        blas.matmul(blas.gemm_address(torch.float32), a, w.numpy(), c, True)
    np.testing.assert_allclose(c, before + a @ w.numpy(), rtol=0, atol=1e-5)
    assert blas.leading_dimension(a) == 5
    assert blas.leading_dimension(np.zeros((3, 4))[:, ::2]) == 0  # columns not contiguous
