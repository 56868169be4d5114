"""The NumPy textbook of the continuous-time rate network (rnnlab.reference.ctrnn) against the
torch layer (values and every gradient, through Dale's law and learned time constants by the
chain rule written out here) and against finite differences."""

import math

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.reference import ctrnn

B, T, I, H = 2, 4, 3, 5
NONLINEARITIES = ctrnn.NONLINEARITIES


def layer_and_arrays(nonlinearity, learn_tau, dale, bias=True):
    """A CTRNN with random weights, its raw parameters and the weights a step applies."""
    torch.manual_seed(0)
    layer = rnnlab.CTRNN(
        I, H, nonlinearity=nonlinearity, learn_tau=learn_tau, dale=dale, bias=bias, tau=10.0,
        dt=3.0, path="reference", dtype=torch.float64,
    )  # fmt: skip
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in layer.named_parameters():
            value = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
            # Weights of s.d. 0.5 keep the currents below 20, where torch's softplus is exactly
            # v (its threshold) and the textbook's log(1 + e^v) differs by up to 2e-9.
            parameter.copy_(value * 0.2 + math.log(10.0) if "log_tau" in name else value * 0.5)
    weights = layer.effective_weights()
    params = {
        "weight_ih": weights.weight_ih.detach().numpy(),
        "weight_hh": weights.weight_hh.detach().numpy(),
        "bias_ih": None if not bias else layer.bias_ih_l0.detach().numpy(),
        "bias_hh": None if not bias else layer.bias_hh_l0.detach().numpy(),
    }
    alpha = 3.0 / np.exp(layer.log_tau_l0.detach().numpy()) if learn_tau else 0.3
    return layer, params, alpha


CASES = [(f, learn_tau, dale) for f in NONLINEARITIES for learn_tau in (False, True)
         for dale in (False, True)]  # fmt: skip


@pytest.mark.parametrize(("nonlinearity", "learn_tau", "dale"), CASES)
def test_reference_matches_the_layer_and_its_autograd(nonlinearity, learn_tau, dale):
    layer, params, alpha = layer_and_arrays(nonlinearity, learn_tau, dale)
    rng = np.random.default_rng(2)
    x, v0 = rng.uniform(size=(B, T, I)), rng.normal(size=(B, H))
    d_outputs, d_final = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    outputs, final, cache = ctrnn.forward(x, v0, params, alpha, nonlinearity)
    grads = ctrnn.backward(d_outputs, d_final, cache)

    x_t = torch.tensor(x, requires_grad=True)
    v0_t = torch.tensor(v0[None], requires_grad=True)
    outputs_t, final_t = layer(x_t, v0_t)
    np.testing.assert_allclose(outputs, outputs_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(final, final_t[0].detach().numpy(), rtol=1e-12, atol=1e-12)
    loss = (outputs_t * torch.tensor(d_outputs)).sum() + (final_t[0] * torch.tensor(d_final)).sum()
    names = [name for name, _ in layer.named_parameters()]
    found = torch.autograd.grad(loss, [x_t, v0_t, *layer.parameters()])
    got = dict(zip(["x", "state", *names], (g.numpy() for g in found)))
    want = {"x": grads["x"], "state": grads["state"][None]}
    # The chain rule back to the free parameters: Dale's |W| diag(s) and alpha = dt exp(-log tau).
    w_hh, w_ih = layer.weight_hh_l0.detach().numpy(), layer.weight_ih_l0.detach().numpy()
    if dale:
        signs = np.where(np.arange(H) < 4, 1.0, -1.0)
        want["weight_hh_l0"] = grads["weight_hh"] * signs[None, :] * np.sign(w_hh)
        want["weight_ih_l0"] = grads["weight_ih"] * np.sign(w_ih)
    else:
        want["weight_hh_l0"], want["weight_ih_l0"] = grads["weight_hh"], grads["weight_ih"]
    want["bias_ih_l0"], want["bias_hh_l0"] = grads["bias_ih"], grads["bias_hh"]
    if learn_tau:
        want["log_tau_l0"] = grads["alpha"] * -alpha
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("per_unit", [False, True], ids=["alpha", "alpha_per_unit"])
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_reference_backward_matches_finite_differences(nonlinearity, per_unit):
    rng = np.random.default_rng(4)
    arrays = {
        "x": rng.normal(size=(B, T, I)),
        "state": rng.normal(size=(B, H)),
        "weight_ih": rng.normal(size=(H, I)),
        "weight_hh": rng.normal(size=(H, H)),
        "bias_ih": rng.normal(size=H),
        "bias_hh": rng.normal(size=H),
        "alpha": rng.uniform(0.1, 0.9, size=H) if per_unit else 0.4,
        "noise": 0.1 * rng.normal(size=(B, T, H)),
    }
    d_outputs, d_final = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))

    def loss(values):
        params = {n: values[n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        outputs, final, _ = ctrnn.forward(
            values["x"], values["state"], params, values["alpha"], nonlinearity, values["noise"]
        )
        return float(np.sum(d_outputs * outputs) + np.sum(d_final * final))

    params = {n: arrays[n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    _, _, cache = ctrnn.forward(arrays["x"], arrays["state"], params, arrays["alpha"],
                                nonlinearity, arrays["noise"])  # fmt: skip
    grads = ctrnn.backward(d_outputs, d_final, cache)
    assert sorted(grads) == sorted(arrays)
    eps = 1e-6
    for name, array in arrays.items():
        array = np.asarray(array, dtype=np.float64)
        for index in rng.choice(array.size, size=min(3, array.size), replace=False):
            plus, minus = array.copy(), array.copy()
            plus.flat[index] += eps
            minus.flat[index] -= eps
            shaped = (lambda a: float(a)) if np.ndim(arrays[name]) == 0 else (lambda a: a)
            numeric = loss({**arrays, name: shaped(plus)}) - loss({**arrays, name: shaped(minus)})
            numeric /= 2 * eps
            analytic = np.asarray(grads[name]).flat[index]
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7), (name, index)


def test_without_upstream_gradients_every_gradient_is_zero():
    rng = np.random.default_rng(0)
    params = {"weight_ih": rng.normal(size=(H, I)), "weight_hh": rng.normal(size=(H, H))}
    _, _, cache = ctrnn.forward(rng.normal(size=(B, T, I)), np.zeros((B, H)), params, 0.2)
    for name, grad in ctrnn.backward(None, None, cache).items():
        assert not np.any(grad), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(nonlinearity="rectify"), "nonlinearity must be one of 'relu', 'softplus'"),
        (dict(alpha=np.ones(H + 1)), f"alpha must have shape (H,) = ({H},); got ({H + 1},)"),
        (dict(noise=np.zeros((B, T, H + 1))), "noise must have shape (B, T, H)"),
    ],
)
def test_invalid_inputs_raise_value_error(kwargs, message):
    rng = np.random.default_rng(0)
    params = {"weight_ih": rng.normal(size=(H, I)), "weight_hh": rng.normal(size=(H, H))}
    arguments = {"alpha": 0.2, "nonlinearity": "relu", "noise": None, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ctrnn.forward(rng.normal(size=(B, T, I)), np.zeros((B, H)), params, **arguments)
