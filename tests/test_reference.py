"""The NumPy reference (:mod:`rnnlab.reference`) against torch autograd and finite differences."""

import ast
import pathlib
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.reference import elman, gru, lstm

B, T, I, H = 3, 6, 4, 5
ATOL = 1e-10


@dataclass
class Case:
    """One configuration: the reference module, its inputs and the upstream gradients."""

    module: ModuleType
    kwargs: dict  # extra keyword arguments of forward (Elman's nonlinearity)
    x: np.ndarray  # (B, T, I)
    state: np.ndarray | tuple[np.ndarray, np.ndarray]  # (B, H), or (h_0, c_0) for the LSTM
    params: dict[str, np.ndarray | None]
    d_outputs: np.ndarray  # (B, T, H)
    d_final: np.ndarray | tuple[np.ndarray, np.ndarray]  # like state


# (model, nonlinearity, bias, peephole): one case per configuration.
CONFIGS = [
    ("elman", nonlinearity, bias, False)
    for nonlinearity in ("tanh", "relu", "sigmoid")
    for bias in (True, False)
]
CONFIGS += [("gru", None, bias, False) for bias in (True, False)]
CONFIGS += [("lstm", None, bias, peephole) for bias in (True, False) for peephole in (True, False)]


def config_id(config) -> str:
    model, nonlinearity, bias, peephole = config
    parts = [model]
    if nonlinearity is not None:
        parts.append(nonlinearity)
    parts.append("bias" if bias else "nobias")
    if model == "lstm":
        parts.append("peephole" if peephole else "nopeephole")
    return "-".join(parts)


def build_layer(model: str, nonlinearity: str | None, bias: bool, peephole: bool):
    """The rnnlab layer of the configuration, float64, with seeded parameters."""
    if model == "elman":
        layer = rnnlab.Elman(I, H, nonlinearity=nonlinearity, bias=bias, dtype=torch.float64)
    elif model == "gru":
        layer = rnnlab.GRU(I, H, bias=bias, dtype=torch.float64)
    else:
        layer = rnnlab.LSTM(I, H, bias=bias, peephole=peephole, dtype=torch.float64)
    layer.reset_parameters(torch.Generator().manual_seed(0))
    return layer


def numpy_params(layer) -> dict[str, np.ndarray | None]:
    """The layer's layer-0 parameters under the reference's names (``_l0`` stripped)."""
    params = {"bias_ih": None, "bias_hh": None}
    for name, parameter in layer.named_parameters():
        params[name.removesuffix("_l0")] = parameter.detach().numpy().copy()
    return params


def make_case(model: str, nonlinearity: str | None, bias: bool, peephole: bool, seed: int = 1):
    """The layer and a Case with random inputs and upstream gradients."""
    layer = build_layer(model, nonlinearity, bias, peephole)
    rng = np.random.default_rng(seed)
    module = {"elman": elman, "gru": gru, "lstm": lstm}[model]
    x = rng.normal(size=(B, T, I))
    d_outputs = rng.normal(size=(B, T, H))
    if model == "lstm":
        state = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
        d_final = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    else:
        state = rng.normal(size=(B, H))
        d_final = rng.normal(size=(B, H))
    kwargs = {} if nonlinearity is None else {"nonlinearity": nonlinearity}
    return layer, Case(module, kwargs, x, state, numpy_params(layer), d_outputs, d_final)


def state_names(case: Case) -> tuple[str, ...]:
    return ("h", "c") if case.module is lstm else ("state",)


def as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, tuple) else (value,)


def torch_run(layer, case: Case) -> tuple[np.ndarray, tuple, dict[str, np.ndarray]]:
    """Outputs, final state parts and gradients of the torch layer, via autograd."""
    x = torch.tensor(case.x, requires_grad=True)
    states = [torch.tensor(s[None], requires_grad=True) for s in as_tuple(case.state)]
    state = rnnlab.LSTMState(*states) if case.module is lstm else states[0]
    outputs, final = layer(x, state)
    finals = tuple(final) if case.module is lstm else (final,)
    loss = (outputs * torch.tensor(case.d_outputs)).sum()
    for part, d in zip(finals, as_tuple(case.d_final), strict=True):
        loss = loss + (part[0] * torch.tensor(d)).sum()
    named = dict(layer.named_parameters())
    inputs = [x, *states, *named.values()]
    grads = torch.autograd.grad(loss, inputs)
    names = ["x", *state_names(case), *(name.removesuffix("_l0") for name in named)]
    grad_dict = {name: g.numpy() for name, g in zip(names, grads, strict=True)}
    for name in state_names(case):
        grad_dict[name] = grad_dict[name][0]  # (1, B, H) -> (B, H)
    return (
        outputs.detach().numpy(),
        tuple(part[0].detach().numpy() for part in finals),
        grad_dict,
    )


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_reference_matches_torch_autograd(config):
    layer, case = make_case(*config)
    outputs, final, cache = case.module.forward(case.x, case.state, case.params, **case.kwargs)
    grads = case.module.backward(case.d_outputs, case.d_final, cache)
    torch_outputs, torch_final, torch_grads = torch_run(layer, case)

    np.testing.assert_allclose(outputs, torch_outputs, rtol=0, atol=ATOL)
    for mine, theirs in zip(as_tuple(final), torch_final, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=ATOL)
    assert sorted(grads) == sorted(torch_grads)
    for name, expected in torch_grads.items():
        np.testing.assert_allclose(grads[name], expected, rtol=0, atol=ATOL, err_msg=name)


def loss_of(case: Case, arrays: dict[str, np.ndarray]) -> float:
    """``sum(d_outputs * outputs) + sum(d_final * final)`` from the reference's forward."""
    params = {name: arrays.get(name, value) for name, value in case.params.items()}
    state = tuple(arrays[name] for name in state_names(case))
    state = state if case.module is lstm else state[0]
    outputs, final, _ = case.module.forward(arrays["x"], state, params, **case.kwargs)
    loss = np.sum(case.d_outputs * outputs)
    for part, d in zip(as_tuple(final), as_tuple(case.d_final), strict=True):
        loss += np.sum(d * part)
    return float(loss)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_reference_backward_matches_finite_differences(config):
    _, case = make_case(*config, seed=2)
    _, _, cache = case.module.forward(case.x, case.state, case.params, **case.kwargs)
    grads = case.module.backward(case.d_outputs, case.d_final, cache)
    arrays = {"x": case.x, **dict(zip(state_names(case), as_tuple(case.state), strict=True))}
    arrays.update({name: value for name, value in case.params.items() if value is not None})
    assert sorted(grads) == sorted(arrays)

    rng = np.random.default_rng(3)
    eps = 1e-6
    for name, array in arrays.items():
        for index in rng.choice(array.size, size=2, replace=False):
            plus = {**arrays, name: array.copy()}
            minus = {**arrays, name: array.copy()}
            plus[name].flat[index] += eps
            minus[name].flat[index] -= eps
            numeric = (loss_of(case, plus) - loss_of(case, minus)) / (2 * eps)
            analytic = grads[name].flat[index]
            assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-7), (name, index)


def test_backward_without_upstream_gradients_is_zero():
    _, case = make_case("lstm", None, True, True)
    _, _, cache = lstm.forward(case.x, case.state, case.params)
    grads = lstm.backward(None, None, cache)
    for name, grad in grads.items():
        assert not grad.any(), name


def test_reference_does_not_import_torch():
    folder = pathlib.Path(elman.__file__).parent
    for path in sorted(folder.glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert "torch" not in imported, path.name


def _params(gates: int, bias: bool = True, **extra) -> dict:
    rng = np.random.default_rng(0)
    params = {
        "weight_ih": rng.normal(size=(gates * H, I)),
        "weight_hh": rng.normal(size=(gates * H, H)),
        "bias_ih": rng.normal(size=gates * H) if bias else None,
        "bias_hh": rng.normal(size=gates * H) if bias else None,
    }
    params.update(extra)
    return params


X = np.zeros((B, T, I))
S = np.zeros((B, H))

# (call, message fragment): each must raise a ValueError whose message contains the fragment.
INVALID = {
    "unknown nonlinearity": (
        lambda: elman.forward(X, S, _params(1), nonlinearity="softplus"),
        r"nonlinearity must be one of 'tanh', 'relu', 'sigmoid'; got 'softplus'",
    ),
    "x not 3-d": (
        lambda: elman.forward(X[0], S, _params(1)),
        r"x must have shape \(B, T, I\) \(batch first\); got 2 dimensions",
    ),
    "x empty": (
        lambda: gru.forward(np.zeros((B, 0, I)), S, _params(3)),
        r"at least one sequence and one step; got shape \(3, 0, 4\)",
    ),
    "x wrong input size": (
        lambda: gru.forward(np.zeros((B, T, I + 1)), S, _params(3)),
        r"weight_ih must have shape \(3H, I\) = \(15, 5\); got \(15, 4\)",
    ),
    "state wrong shape": (
        lambda: elman.forward(X, np.zeros((B, H + 1)), _params(1)),
        r"state must have shape \(B, H\) = \(3, 5\); got \(3, 6\)",
    ),
    "weight_hh not gates*H by H": (
        lambda: gru.forward(X, S, _params(1)),
        r"weight_hh must have shape \(3H, H\); got \(5, 5\)",
    ),
    "bias wrong shape": (
        lambda: lstm.forward(X, (S, S), _params(4, bias_hh=np.zeros(H))),
        r"bias_hh must have shape \(4H,\) = \(20,\); got \(5,\)",
    ),
    "unknown parameter name": (
        lambda: elman.forward(X, S, {**_params(1), "weight_ih_l0": np.zeros((H, I))}),
        r"params has unknown names \['weight_ih_l0'\]",
    ),
    "missing weight": (
        lambda: elman.forward(X, S, {"weight_hh": np.zeros((H, H))}),
        r"params must contain 'weight_ih'",
    ),
    "peephole for the GRU": (
        lambda: gru.forward(X, S, _params(3, weight_peephole=np.zeros((3, H)))),
        r"params has unknown names \['weight_peephole'\]",
    ),
    "peephole wrong shape": (
        lambda: lstm.forward(X, (S, S), _params(4, weight_peephole=np.zeros((4, H)))),
        r"weight_peephole must have shape \(3, H\) = \(3, 5\); got \(4, 5\)",
    ),
    "lstm state not a pair": (
        lambda: lstm.forward(X, S, _params(4)),
        r"state must be a pair \(h_0, c_0\)",
    ),
    "lstm cell state wrong shape": (
        lambda: lstm.forward(X, (S, np.zeros((B + 1, H))), _params(4)),
        r"state c must have shape \(B, H\) = \(3, 5\); got \(4, 5\)",
    ),
    "d_outputs wrong shape": (
        lambda: elman.backward(np.zeros((B, T, H + 1)), S, elman.forward(X, S, _params(1))[2]),
        r"d_outputs must have shape \(B, T, H\) = \(3, 6, 5\); got \(3, 6, 6\)",
    ),
    "d_final_state wrong shape": (
        lambda: gru.backward(None, np.zeros((H,)), gru.forward(X, S, _params(3))[2]),
        r"d_final_state must have shape \(B, H\) = \(3, 5\); got \(5,\)",
    ),
    "lstm d_final_state not a pair": (
        lambda: lstm.backward(None, S, lstm.forward(X, (S, S), _params(4))[2]),
        r"d_final_state must be a pair \(dh_T, dc_T\)",
    ),
}


@pytest.mark.parametrize("case", list(INVALID), ids=list(INVALID))
def test_invalid_inputs_raise_value_error(case):
    call, message = INVALID[case]
    with pytest.raises(ValueError, match=message):
        call()
