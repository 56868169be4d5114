"""Differential tests: rnnlab's layers against torch.nn, values and gradients, in float64.

Weights go from torch.nn into rnnlab through ``load_state_dict``; then outputs, final states
and the gradients of the input, the initial state and every parameter must agree to 1e-10.
Variable lengths are compared with torch's packed sequences. Both paths are checked: the
readable reference unroll and the fast kernels.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab

B, T, I, H = 4, 6, 3, 5
LENGTHS = [6, 2, 5, 1]  # unsorted, and including both 1 and T
TOL = 1e-10

KINDS = {
    "elman_tanh": (
        lambda **kw: rnnlab.Elman(nonlinearity="tanh", **kw),
        lambda **kw: nn.RNN(nonlinearity="tanh", batch_first=True, **kw),
    ),
    "elman_relu": (
        lambda **kw: rnnlab.Elman(nonlinearity="relu", **kw),
        lambda **kw: nn.RNN(nonlinearity="relu", batch_first=True, **kw),
    ),
    "gru": (rnnlab.GRU, lambda **kw: nn.GRU(batch_first=True, **kw)),
    "lstm": (rnnlab.LSTM, lambda **kw: nn.LSTM(batch_first=True, **kw)),
}


def state_parts(state) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, tuple) else (state,)


def run_torch(module: nn.Module, x, state, lengths):
    if not isinstance(module, nn.LSTM):
        (state,) = state
    if lengths is None:
        outputs, final = module(x, state)
    else:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        outputs, final = module(packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
    return outputs, state_parts(final)


def run_rnnlab(layer: nn.Module, x, state, lengths):
    if isinstance(layer, rnnlab.LSTM):
        state = rnnlab.LSTMState(*state)
    else:
        (state,) = state
    outputs, final = layer(x, state, None if lengths is None else torch.tensor(lengths))
    return outputs, state_parts(final)


def values_and_gradients(module, run, x, state, lengths, seed):
    """Outputs, final state, and gradients of a random projection of both."""
    x = x.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state)
    outputs, final = run(module, x, state, lengths)
    generator = torch.Generator().manual_seed(seed)
    loss = (outputs * torch.randn(outputs.shape, generator=generator, dtype=torch.float64)).sum()
    for part in final:
        loss = (
            loss + (part * torch.randn(part.shape, generator=generator, dtype=torch.float64)).sum()
        )
    names, parameters = zip(*module.named_parameters())
    grads = torch.autograd.grad(loss, (x, *state, *parameters))
    return {
        "outputs": outputs.detach(),
        **{f"final[{k}]": part.detach() for k, part in enumerate(final)},
        "grad x": grads[0],
        **{f"grad state[{k}]": g for k, g in enumerate(grads[1 : 1 + len(state)])},
        **{f"grad {name}": g for name, g in zip(names, grads[1 + len(state) :])},
    }


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3], ids=["L1", "L2", "L3"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["reference", "fast"])
def test_matches_torch_nn(path, kind, num_layers, bidirectional, bias, lengths):
    make_rnnlab, make_torch = KINDS[kind]
    torch.manual_seed(0)
    options = dict(input_size=I, hidden_size=H, num_layers=num_layers, bias=bias)
    reference = make_torch(bidirectional=bidirectional, **options).double()
    layer = make_rnnlab(bidirectional=bidirectional, dtype=torch.float64, path=path, **options)
    layer.load_state_dict(reference.state_dict())

    x = torch.randn(B, T, I, dtype=torch.float64)
    LD = num_layers * (2 if bidirectional else 1)
    state = tuple(
        torch.randn(LD, B, H, dtype=torch.float64) for _ in range(2 if kind == "lstm" else 1)
    )

    expected = values_and_gradients(reference, run_torch, x, state, lengths, seed=1)
    got = values_and_gradients(layer, run_rnnlab, x, state, lengths, seed=1)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=TOL, rtol=0, msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_default_state_matches_torch_nn(kind):
    make_rnnlab, make_torch = KINDS[kind]
    torch.manual_seed(0)
    reference = make_torch(input_size=I, hidden_size=H, num_layers=2).double()
    layer = make_rnnlab(input_size=I, hidden_size=H, num_layers=2, dtype=torch.float64)
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, I, dtype=torch.float64)
    expected_outputs, expected_final = reference(x)
    outputs, final = layer(x)
    torch.testing.assert_close(outputs, expected_outputs, atol=TOL, rtol=0)
    for got, want in zip(state_parts(final), state_parts(expected_final)):
        torch.testing.assert_close(got, want, atol=TOL, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_moves_from_rnnlab_to_torch(kind):
    make_rnnlab, make_torch = KINDS[kind]
    torch.manual_seed(0)
    layer = make_rnnlab(input_size=I, hidden_size=H, num_layers=2, bidirectional=True)
    torch.manual_seed(1)  # different weights, which the load must overwrite
    reference = make_torch(input_size=I, hidden_size=H, num_layers=2, bidirectional=True)
    assert list(layer.state_dict()) == list(reference.state_dict())
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(B, T, I)
    torch.testing.assert_close(layer(x)[0], reference(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_eval_mode_dropout_matches_torch_nn(kind):
    make_rnnlab, make_torch = KINDS[kind]
    torch.manual_seed(0)
    reference = make_torch(input_size=I, hidden_size=H, num_layers=2, dropout=0.5).double().eval()
    layer = make_rnnlab(input_size=I, hidden_size=H, num_layers=2, dropout=0.5, dtype=torch.float64)
    layer.load_state_dict(reference.state_dict())
    layer.eval()
    x = torch.randn(B, T, I, dtype=torch.float64)
    torch.testing.assert_close(layer(x)[0], reference(x)[0], atol=TOL, rtol=0)


CELLS = {
    "elman_tanh": (
        lambda **kw: rnnlab.ElmanCell(nonlinearity="tanh", **kw),
        lambda **kw: nn.RNNCell(nonlinearity="tanh", **kw),
    ),
    "elman_relu": (
        lambda **kw: rnnlab.ElmanCell(nonlinearity="relu", **kw),
        lambda **kw: nn.RNNCell(nonlinearity="relu", **kw),
    ),
    "gru": (rnnlab.GRUCell, nn.GRUCell),
    "lstm": (rnnlab.LSTMCell, nn.LSTMCell),
}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_torch_nn_cell(kind, bias):
    make_rnnlab, make_torch = CELLS[kind]
    torch.manual_seed(0)
    reference = make_torch(input_size=I, hidden_size=H, bias=bias).double()
    cell = make_rnnlab(input_size=I, hidden_size=H, bias=bias, dtype=torch.float64)
    cell.load_state_dict(reference.state_dict())
    x_t = torch.randn(B, I, dtype=torch.float64, requires_grad=True)
    parts = [torch.randn(B, H, dtype=torch.float64, requires_grad=True)]
    if kind == "lstm":
        parts.append(torch.randn(B, H, dtype=torch.float64, requires_grad=True))
        expected = reference(x_t, tuple(parts))
        y_t, state = cell(x_t, rnnlab.LSTMState(*parts))
        assert isinstance(state, rnnlab.LSTMState)
        got = (y_t, state.c)
    else:
        expected = (reference(x_t, parts[0]),)
        y_t, state = cell(x_t, parts[0])
        assert state is y_t
        got = (y_t,)
    weights = [torch.randn(g.shape, dtype=torch.float64) for g in expected]
    inputs = (x_t, *parts)
    want_grads = torch.autograd.grad(
        sum((w * e).sum() for w, e in zip(weights, expected)), (*inputs, *reference.parameters())
    )
    got_grads = torch.autograd.grad(
        sum((w * g).sum() for w, g in zip(weights, got)), (*inputs, *cell.parameters())
    )
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, atol=TOL, rtol=0)
    for g, e in zip(got_grads, want_grads):
        torch.testing.assert_close(g, e, atol=TOL, rtol=0)
