"""torch.autograd.gradcheck in float64 for every cell and layer, parameters included."""

import pytest
import torch
from torch.func import functional_call

import rnnlab

B, T, I, H, O = 2, 3, 2, 3, 2


def gradcheck_module(module, inputs: tuple, call):
    """Check the gradients of ``call(module)`` w.r.t. ``inputs`` and every parameter."""
    names, parameters = zip(
        *((n, p.detach().clone().requires_grad_()) for n, p in module.named_parameters())
    )

    def function(*tensors):
        params = dict(zip(names, tensors[len(inputs) :]))
        return call(lambda *args: functional_call(module, params, args), *tensors[: len(inputs)])

    assert torch.autograd.gradcheck(function, (*inputs, *parameters), eps=1e-6, atol=1e-5)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


CELLS = {
    "elman_tanh": lambda: rnnlab.ElmanCell(I, H, nonlinearity="tanh"),
    "elman_relu": lambda: rnnlab.ElmanCell(I, H, nonlinearity="relu"),
    "elman_sigmoid": lambda: rnnlab.ElmanCell(I, H, nonlinearity="sigmoid"),
    "jordan": lambda: rnnlab.JordanCell(I, H, O),
    "gru": lambda: rnnlab.GRUCell(I, H),
    "lstm": lambda: rnnlab.LSTMCell(I, H),
    "lstm_peephole": lambda: rnnlab.LSTMCell(I, H, peephole=True),
    "mingru": lambda: rnnlab.MinGRUCell(I, H),
    "minlstm": lambda: rnnlab.MinLSTMCell(I, H),
}


@pytest.mark.parametrize("name", CELLS)
def test_cell_gradcheck(name):
    torch.manual_seed(0)
    cell = CELLS[name]().double()
    x_t = rand(B, I)
    if isinstance(cell, rnnlab.LSTMCell):
        inputs = (x_t, rand(B, H), rand(B, H))
        gradcheck_module(cell, inputs, lambda f, x, h, c: tuple(f(x, rnnlab.LSTMState(h, c))[1]))
    else:
        state = rand(B, O if isinstance(cell, rnnlab.JordanCell) else H)
        gradcheck_module(cell, (x_t, state), lambda f, x, s: f(x, s)[1])


LAYERS = {
    "elman_tanh": lambda **kw: rnnlab.Elman(I, H, nonlinearity="tanh", **kw),
    "elman_relu": lambda **kw: rnnlab.Elman(I, H, nonlinearity="relu", **kw),
    "elman_sigmoid": lambda **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
    "jordan": lambda **kw: rnnlab.Jordan(I, H, O, **kw),
    "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(I, H, **kw),
    "lstm_peephole": lambda **kw: rnnlab.LSTM(I, H, peephole=True, **kw),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradcheck(name):
    """Two layers, both directions, variable lengths: every path of the unroll."""
    torch.manual_seed(0)
    layer = LAYERS[name](num_layers=2, bidirectional=True, dtype=torch.float64)
    lengths = torch.tensor([T, 2])
    size = O if isinstance(layer, rnnlab.Jordan) else H
    x = rand(B, T, I)
    if isinstance(layer, rnnlab.LSTM):
        inputs = (x, rand(4, B, H), rand(4, B, H))

        def call(f, x, h, c):
            outputs, state = f(x, rnnlab.LSTMState(h, c), lengths)
            return outputs, *state
    else:
        inputs = (x, rand(4, B, size))

        def call(f, x, s):
            return f(x, s, lengths)

    gradcheck_module(layer, inputs, call)
