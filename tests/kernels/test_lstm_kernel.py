"""The LSTM kernel (both drivers) agrees with the reference unroll of rnnlab.layers: outputs,
final state, cells, gates and every gradient, in both directions, with and without bias,
peepholes and padding, in float64 and float32; and passes gradcheck."""

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.kernels.lstm import LSTMFunction

B, T, I, H = 4, 6, 3, 5
LENGTHS = {"full": [T, T, T, T], "variable": [T, 2, 1, T - 1]}  # unsorted on purpose
ATOL = {torch.float64: 1e-10, torch.float32: 1e-5}
PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole")


def inputs(dtype, directions, seed=0):
    """x (B, T, I), not contiguous (a transposed time-major tensor), h0 and c0 (D, B, H)."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    return randn(T, B, I).transpose(0, 1), randn(directions, B, H), randn(directions, B, H)


def reference(layer, x, h0, c0, lengths, direction, weights):
    """The reference layer's results for one direction, and the gradients of the projection
    ``weights`` of its outputs and final state."""
    x, h0, c0 = (t.detach().clone().requires_grad_() for t in (x, h0, c0))
    lengths = torch.tensor(lengths)
    outputs, (h, c) = layer(x, (h0, c0), lengths=lengths)
    outputs = outputs[..., direction * H : (direction + 1) * H]
    results = {"outputs": outputs, "h": h[direction], "c": c[direction]}
    loss = sum((results[name] * weights[name]).sum() for name in weights)
    suffix = "_l0" + ("_reverse" if direction else "")
    parameters = {name: getattr(layer, name + suffix) for name in PARAMETERS}
    present = {name: p for name, p in parameters.items() if p is not None}
    grads = torch.autograd.grad(loss, [x, h0, c0, *present.values()])
    results |= {"dx": grads[0], "dh0": grads[1][direction], "dc0": grads[2][direction]}
    results |= {"d" + name: g for name, g in zip(present, grads[3:])}
    with torch.no_grad():
        trace = layer.record(x, (h0, c0), lengths=lengths)
    results |= {"cells": trace.cell[direction], "gates": trace.gates[direction]}
    return results, parameters


def kernel(x, h0, c0, parameters, lengths, reverse, compiled, weights):
    """LSTMFunction's results and the gradients of the same projection."""
    x, h0, c0 = (t.detach().clone().requires_grad_() for t in (x, h0, c0))
    params = {
        name: None if p is None else p.detach().clone().requires_grad_()
        for name, p in parameters.items()
    }
    outputs, h, c, cells, gates = LSTMFunction.apply(
        x, h0, c0, *(params[name] for name in PARAMETERS), np.array(lengths, dtype=np.int64),
        reverse, compiled,
    )  # fmt: skip
    results = {"outputs": outputs, "h": h, "c": c}
    loss = sum((results[name] * weights[name]).sum() for name in weights)
    present = {name: p for name, p in params.items() if p is not None}
    grads = torch.autograd.grad(loss, [x, h0, c0, *present.values()])
    results |= {"dx": grads[0], "dh0": grads[1], "dc0": grads[2]}
    results |= {"d" + name: g for name, g in zip(present, grads[3:])}
    results |= {"cells": cells, "gates": gates}
    return results


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("lengths", list(LENGTHS.values()), ids=list(LENGTHS))
@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_lstm_function_matches_the_reference(compiled, reverse, bias, peephole, lengths, dtype):
    torch.manual_seed(0)
    layer = rnnlab.LSTM(
        I, H, bias=bias, peephole=peephole, bidirectional=reverse, dtype=dtype, path="reference"
    )
    direction = int(reverse)
    x, h0, c0 = inputs(dtype, 1 + direction)
    generator = torch.Generator().manual_seed(1)
    weights = {
        name: torch.randn(shape, generator=generator, dtype=dtype)
        for name, shape in (("outputs", (B, T, H)), ("h", (B, H)), ("c", (B, H)))
    }
    want, parameters = reference(layer, x, h0, c0, lengths, direction, weights)
    got = kernel(x, h0[direction], c0[direction], parameters, lengths, reverse, compiled, weights)

    assert got.keys() == want.keys()
    # Differentiable through the layer's reference only: tests/test_second_order.py.
    assert got["cells"].requires_grad and got["gates"].requires_grad
    atol = ATOL[dtype]
    for name in want:
        torch.testing.assert_close(got[name], want[name], atol=atol, rtol=atol, msg=name)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_lstm_function_gradcheck(compiled, reverse):
    b, t, i, h = 3, 4, 2, 3
    generator = torch.Generator().manual_seed(2)

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()

    tensors = (
        rand(b, t, i), rand(b, h), rand(b, h), rand(4 * h, i), rand(4 * h, h), rand(4 * h),
        rand(4 * h), rand(3, h),
    )  # fmt: skip
    lengths = np.array([t, 2, 1], dtype=np.int64)

    def function(*args):
        outputs, h_final, c_final, _, _ = LSTMFunction.apply(*args, lengths, reverse, compiled)
        return outputs, h_final, c_final

    assert torch.autograd.gradcheck(function, tensors, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("lengths", list(LENGTHS.values()), ids=list(LENGTHS))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_the_two_drivers_agree_to_rounding(reverse, lengths):
    torch.manual_seed(3)
    layer = rnnlab.LSTM(I, H, peephole=True, dtype=torch.float64, path="reference")
    x, h0, c0 = inputs(torch.float64, 1, seed=3)
    parameters = {name: getattr(layer, name + "_l0") for name in PARAMETERS}
    weights = {"outputs": torch.ones(B, T, H, dtype=torch.float64)}
    results = [
        kernel(x, h0[0], c0[0], parameters, lengths, reverse, compiled, weights)
        for compiled in (True, False)
    ]
    for name in results[0]:
        torch.testing.assert_close(results[0][name], results[1][name], atol=1e-13, rtol=0)


@pytest.mark.parametrize("used", ["outputs", "h", "c"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_unused_results_count_as_zero_gradients(compiled, used):
    """Autograd passes None for the results a loss does not use (set_materialize_grads)."""
    torch.manual_seed(4)
    layer = rnnlab.LSTM(I, H, peephole=True, dtype=torch.float64, path="reference")
    x, h0, c0 = inputs(torch.float64, 1, seed=4)
    parameters = {name: getattr(layer, name + "_l0") for name in PARAMETERS}
    shapes = {"outputs": (B, T, H), "h": (B, H), "c": (B, H)}
    weights = {used: torch.randn(shapes[used], dtype=torch.float64)}
    padded = weights | {
        name: torch.zeros(shape, dtype=torch.float64)
        for name, shape in shapes.items()
        if name != used
    }
    args = (x, h0[0], c0[0], parameters, LENGTHS["variable"], False, compiled)
    alone, with_zeros = kernel(*args, weights), kernel(*args, padded)
    for name in alone:
        torch.testing.assert_close(alone[name], with_zeros[name], atol=0, rtol=0)
