"""The Jordan kernel (both drivers) agrees with the reference layer: values and gradients."""

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.kernels.common import ACTIVATION_CODES
from rnnlab.kernels.jordan import JordanFunction

B, T, I, H, O = 4, 6, 3, 5, 2
LENGTHS = {"full": [T] * B, "variable": [T, 2, 1, T - 1]}
ACTIVATION_PAIRS = [
    ("tanh", "sigmoid"),
    ("relu", "identity"),
    ("sigmoid", "tanh"),
    ("tanh", "relu"),
]
TOLERANCES = {torch.float64: 1e-10, torch.float32: 1e-5}
PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ho", "bias_ho")


def kernel_call(x, y0, p, lengths, reverse, act, out_act, compiled):
    return JordanFunction.apply(
        x, y0, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], p["weight_ho"],
        p["bias_ho"], np.asarray(lengths, dtype=np.int64), reverse, ACTIVATION_CODES[act],
        ACTIVATION_CODES[out_act], compiled,
    )  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("lengths", LENGTHS.values(), ids=LENGTHS.keys())
@pytest.mark.parametrize("acts", ACTIVATION_PAIRS, ids=["-".join(a) for a in ACTIVATION_PAIRS])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
def test_kernel_matches_reference(compiled, reverse, bias, acts, lengths, dtype):
    act, out_act = acts
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    layer = rnnlab.Jordan(
        I, H, O, bias=bias, bidirectional=reverse, nonlinearity=act,
        output_nonlinearity=out_act, dtype=dtype, path="reference",
    )  # fmt: skip
    k = 1 if reverse else 0  # the direction under test
    suffix = "_l0_reverse" if reverse else "_l0"
    p = {name: getattr(layer, name + suffix) for name in PARAMETERS}
    assert all((p[name] is None) != bias for name in PARAMETERS if name.startswith("bias"))
    x = rand(B, T, I).requires_grad_()
    y0 = rand(B, O).requires_grad_()
    state = torch.stack([rand(B, O), y0]) if reverse else y0[None]
    projection_out, projection_final = rand(B, T, O), rand(B, O)

    # the reference: this direction's half of the outputs, state and trace
    outputs, final = layer(x, state, torch.tensor(lengths))
    want_out, want_final = outputs[..., k * O : (k + 1) * O], final[k]
    want_hidden = layer.record(x, state, torch.tensor(lengths)).hidden[k]
    loss = (want_out * projection_out).sum() + (want_final * projection_final).sum()
    leaves = [x, y0] + [p[name] for name in PARAMETERS if p[name] is not None]
    want_grads = torch.autograd.grad(loss, leaves)

    got_out, got_final, got_hidden = kernel_call(x, y0, p, lengths, reverse, *acts, compiled)
    assert got_hidden.requires_grad  # through the reference only: tests/test_second_order.py
    loss = (got_out * projection_out).sum() + (got_final * projection_final).sum()
    got_grads = torch.autograd.grad(loss, leaves)

    tol = {"atol": TOLERANCES[dtype], "rtol": TOLERANCES[dtype]}
    torch.testing.assert_close(got_out, want_out, **tol, msg=lambda m: f"outputs: {m}")
    torch.testing.assert_close(got_final, want_final, **tol, msg=lambda m: f"final state: {m}")
    torch.testing.assert_close(got_hidden, want_hidden, **tol, msg=lambda m: f"hidden: {m}")
    names = ["x", "y0"] + [name for name in PARAMETERS if p[name] is not None]
    for name, got, want in zip(names, got_grads, want_grads):
        torch.testing.assert_close(got, want, **tol, msg=lambda m, name=name: f"d {name}: {m}")


def small_inputs(bias: bool, generator: torch.Generator):
    """x (B, T, I), y0 and the parameters in float64, every one requiring grad."""

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)

    b = (rand(H), rand(H), rand(O)) if bias else (None, None, None)
    return rand(B, T, I), rand(B, O), rand(H, I), rand(H, O), b[0], b[1], rand(O, H), b[2]


@pytest.mark.parametrize("acts", [("tanh", "sigmoid"), ("sigmoid", "identity")], ids="-".join)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
def test_gradcheck(compiled, reverse, acts):
    inputs = small_inputs(True, torch.Generator().manual_seed(1))
    lengths = np.array(LENGTHS["variable"], dtype=np.int64)
    codes = [ACTIVATION_CODES[a] for a in acts]

    def function(*tensors):  # the hidden activations: through the reference only
        return JordanFunction.apply(*tensors, lengths, reverse, *codes, compiled)[:2]

    assert torch.autograd.gradcheck(function, inputs, eps=1e-6, atol=1e-6)


def transposed_view(t):
    """The values of ``t`` as a leaf with reversed strides (a 1-D tensor as a strided view)."""
    t = t.detach()
    if t.dim() == 1:
        return torch.stack([t, t], dim=1)[:, 0].requires_grad_()
    return t.mT.contiguous().mT.requires_grad_()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
def test_strided_inputs_give_the_same_results(compiled):
    """x time-major transposed, y0 and the weights as transposed views: same values, grads."""
    generator = torch.Generator().manual_seed(2)
    dense = small_inputs(True, generator)
    strided = [None if t is None else transposed_view(t) for t in dense]
    strided[0] = dense[0].detach().transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()
    assert not strided[0].is_contiguous() and not strided[2].is_contiguous()
    lengths = np.array(LENGTHS["variable"], dtype=np.int64)
    results = []
    for inputs in (dense, strided):
        out, final, hidden = JordanFunction.apply(*inputs, lengths, True, 0, 2, compiled)
        (out.square().sum() + final.sum()).backward()
        results.append([out, final, hidden] + [t.grad for t in inputs if t is not None])
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
