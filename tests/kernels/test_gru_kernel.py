"""The GRU kernel (rnnlab.kernels.gru.GRUFunction) against the reference unroll of rnnlab.GRU.

Both drivers (compiled numba loop, torch loop), both directions, with and without biases, full
and variable lengths, float64 and float32: outputs, final state, gates and the gradients of
x, h0 and every parameter; then gradcheck in float64.
"""

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.kernels.gru import GRUFunction

B, T, I, H = 4, 6, 3, 5
VARIABLE_LENGTHS = [T, 2, 1, T - 1]  # unsorted, with a one-step row
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def reference_run(layer, x, h0, lengths, reverse: bool):
    """The reference layer's outputs, final state and gates for one direction (the reverse
    half of a bidirectional layer when ``reverse``), and its parameters for that direction."""
    suffix = "_l0_reverse" if reverse else "_l0"
    params = [getattr(layer, name + suffix) for name in PARAMETERS]
    # The forward half gets some state too; the loss never sees its outputs or state.
    state = torch.stack([torch.zeros_like(h0), h0]) if reverse else h0[None]
    outputs, final = layer(x, state, lengths)
    gates = layer.record(x, state, lengths).gates
    k = 1 if reverse else 0
    return outputs[..., k * H : (k + 1) * H], final[k], gates[k], params


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("variable", [False, True], ids=["full", "variable"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_gru_function_matches_reference(compiled, reverse, bias, variable, dtype):
    torch.manual_seed(0)
    layer = rnnlab.GRU(I, H, bias=bias, bidirectional=reverse, dtype=dtype, path="reference")
    # x with strides that are not batch-first contiguous, as the kernel must accept any
    x = torch.randn(T, B, I, dtype=dtype).transpose(0, 1).requires_grad_()
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    lengths_ref = torch.tensor(VARIABLE_LENGTHS) if variable else None
    lengths = np.array(VARIABLE_LENGTHS if variable else [T] * B, dtype=np.int64)
    proj_out = torch.randn(B, T, H, dtype=dtype)
    proj_final = torch.randn(B, H, dtype=dtype)

    ref_out, ref_final, ref_gates, ref_params = reference_run(layer, x, h0, lengths_ref, reverse)
    ref_params = [p for p in ref_params if p is not None]
    ref_loss = (ref_out * proj_out).sum() + (ref_final * proj_final).sum()
    ref_grads = torch.autograd.grad(ref_loss, [x, h0, *ref_params])

    params = [p.detach().clone().requires_grad_() for p in ref_params]
    w_ih, w_hh, b_ih, b_hh = params if bias else [*params, None, None]
    out, final, gates = GRUFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, compiled)
    assert out.shape == (B, T, H) and final.shape == (B, H) and gates.shape == (B, T, 3, H)
    assert gates.requires_grad  # through the reference only: tests/test_second_order.py
    loss = (out * proj_out).sum() + (final * proj_final).sum()
    grads = torch.autograd.grad(loss, [x, h0, *params])

    tol = {"atol": TOLERANCE[dtype], "rtol": 0.0}
    torch.testing.assert_close(out, ref_out, **tol)
    torch.testing.assert_close(final, ref_final, **tol)
    torch.testing.assert_close(gates, ref_gates, **tol)
    names = ["x", "h0", *PARAMETERS[: len(params)]]
    for name, grad, ref_grad in zip(names, grads, ref_grads):
        torch.testing.assert_close(grad, ref_grad, **tol, msg=lambda m, n=name: f"d{n}: {m}")


@pytest.mark.parametrize("variable", [False, True], ids=["full", "variable"])
def test_padded_steps_are_zero_and_state_is_held(variable):
    """Outputs and gates are exactly 0 past each row's length; both drivers agree."""
    torch.manual_seed(1)
    lengths = np.array(VARIABLE_LENGTHS if variable else [T] * B, dtype=np.int64)
    args = (
        torch.randn(B, T, I, dtype=torch.float64),
        torch.randn(B, H, dtype=torch.float64),
        torch.randn(3 * H, I, dtype=torch.float64),
        torch.randn(3 * H, H, dtype=torch.float64),
        torch.randn(3 * H, dtype=torch.float64),
        torch.randn(3 * H, dtype=torch.float64),
    )
    compiled = GRUFunction.apply(*args, lengths, False, True)
    looped = GRUFunction.apply(*args, lengths, False, False)
    padded = torch.arange(T)[None, :] >= torch.from_numpy(lengths)[:, None]  # (B, T)
    for result in (compiled, looped):
        out, _, gates = result
        assert (out[padded] == 0).all() and (gates[padded] == 0).all()
    for got, expected in zip(compiled, looped):
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=0.0)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_gru_function_gradcheck(compiled, reverse):
    torch.manual_seed(2)
    b, t, i, h = 3, 4, 2, 3
    lengths = np.array([t, 2, 1], dtype=np.int64)

    def rand(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    inputs = (rand(b, t, i), rand(b, h), rand(3 * h, i), rand(3 * h, h), rand(3 * h), rand(3 * h))

    def function(*tensors):
        out, final, _ = GRUFunction.apply(*tensors, lengths, reverse, compiled)
        return out, final

    assert torch.autograd.gradcheck(function, inputs, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("used", ["outputs", "final"])
@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
def test_gradients_when_one_output_is_unused(compiled, used):
    """Autograd passes None for an unused output (no zero-filled gradients are made)."""
    torch.manual_seed(2)
    layer = rnnlab.GRU(I, H, dtype=torch.float64, path="reference")
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    lengths = np.array([T] * B, dtype=np.int64)
    ref_out, ref_final, _, params = reference_run(layer, x, h0, None, False)
    ref_loss = ref_out.sin().sum() if used == "outputs" else ref_final.sin().sum()
    expected = torch.autograd.grad(ref_loss, [x, h0, *params])
    out, final, _ = GRUFunction.apply(x, h0, *params, lengths, False, compiled)
    loss = out.sin().sum() if used == "outputs" else final.sin().sum()
    got = torch.autograd.grad(loss, [x, h0, *params])
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, atol=1e-10, rtol=0.0)
