"""Bad input fails at the boundary, with a message that says what was expected and what was got."""

import re

import pytest
import torch

import rnnlab

LAYER = rnnlab.Elman(3, 4, num_layers=2, bidirectional=True)  # state (4, B, 4)
X = torch.randn(2, 5, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: LAYER([[1.0]]), TypeError, "torch.Tensor of shape (B, T, I); got list"),
        (
            lambda: LAYER(torch.ones(2, 5, 3, dtype=torch.long)),
            TypeError,
            "floating-point tensor; got dtype torch.int64",
        ),
        (
            lambda: LAYER(torch.randn(5, 3)),
            ValueError,
            "(B, T, I) (batch first); got 2 dimensions, shape (5, 3)",
        ),
        (
            lambda: LAYER(torch.randn(2, 5, 7)),
            ValueError,
            "I = input_size = 3; got shape (2, 5, 7)",
        ),
        (
            lambda: LAYER(torch.randn(2, 0, 3)),
            ValueError,
            "at least one step, T >= 1; got shape (2, 0, 3)",
        ),
        (
            lambda: LAYER(X.double()),
            TypeError,
            "dtype torch.float64 but the layer's parameters are torch.float32",
        ),
        (
            lambda: LAYER(X, lengths=torch.tensor([5.0, 2.0])),
            TypeError,
            "integer tensor of shape (B,); got dtype torch.float32",
        ),
        (
            lambda: LAYER(X, lengths=torch.tensor([5, 2, 1])),
            ValueError,
            "shape (B,) = (2,), one length per sequence; got (3,)",
        ),
        (
            lambda: LAYER(X, lengths=torch.tensor([6, 2])),
            ValueError,
            "[1, T] = [1, 5]; got values from 2 to 6",
        ),
        (lambda: LAYER(X, lengths=[0, 2]), ValueError, "[1, T] = [1, 5]; got values from 0 to 2"),
        (
            lambda: LAYER(X, torch.zeros(2, 2, 4)),
            ValueError,
            "state h must have shape (L*D, B, 4) = (4, 2, 4); got (2, 2, 4)",
        ),
        (
            lambda: LAYER(X, torch.zeros(4, 2, 4, dtype=torch.float64)),
            TypeError,
            "state h must match x's dtype and device",
        ),
        (
            lambda: LAYER(X, (torch.zeros(4, 2, 4),)),
            TypeError,
            "state must be a torch.Tensor of shape (L*D, B, 4); got tuple",
        ),
        (
            lambda: rnnlab.LSTM(3, 4)(X, torch.zeros(1, 2, 4)),
            TypeError,
            "LSTMState(h, c) (or a tuple (h, c)), each (L*D, B, H) (h (L*D, B, P) with "
            "proj_size P); got Tensor",
        ),
        (
            lambda: rnnlab.LSTM(3, 4)(X, (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4))),
            ValueError,
            "state c must have shape (L*D, B, 4) = (1, 2, 4); got (1, 3, 4)",
        ),
        (
            lambda: rnnlab.Jordan(3, 4, 2)(X, torch.zeros(1, 2, 4)),
            ValueError,
            "state h must have shape (L*D, B, 2) = (1, 2, 2); got (1, 2, 4)",
        ),
        (
            lambda: rnnlab.Elman(3, 4, nonlinearity="softplus"),
            ValueError,
            "nonlinearity must be one of 'tanh', 'relu', 'sigmoid'; got 'softplus'",
        ),
        (
            lambda: rnnlab.Jordan(3, 4, 2, output_nonlinearity="softmax"),
            ValueError,
            "output_nonlinearity must be one of 'sigmoid', 'tanh', 'relu', 'identity'; "
            "got 'softmax'",
        ),
        (lambda: rnnlab.GRU(3, 0), ValueError, "hidden_size must be >= 1; got 0"),
        (lambda: rnnlab.GRU(0, 3), ValueError, "input_size must be >= 1; got 0"),
        (lambda: rnnlab.GRU(3, 2.5), TypeError, "hidden_size must be an int >= 1; got float 2.5"),
        (lambda: rnnlab.LSTM(3, 4, num_layers=0), ValueError, "num_layers must be >= 1; got 0"),
        (
            lambda: rnnlab.LSTM(3, 4, num_layers=2, dropout=1.5),
            ValueError,
            "dropout must be a number in [0, 1]; got 1.5",
        ),
        (
            lambda: rnnlab.LSTM(3, 4, num_layers=2, dropout=-0.1),
            ValueError,
            "dropout must be a number in [0, 1]; got -0.1",
        ),
        (
            lambda: rnnlab.LSTM(3, 4, dropout=0.5),
            ValueError,
            "needs num_layers >= 2; got dropout=0.5 with num_layers=1",
        ),
        (
            lambda: rnnlab.LSTM(3, 4, bias=False, forget_bias=1.0),
            ValueError,
            "forget_bias needs bias=True",
        ),
        (
            lambda: rnnlab.LSTMCell(3, 4, forget_bias="one"),
            TypeError,
            "forget_bias must be a number or None; got 'one'",
        ),
        (
            lambda: rnnlab.ElmanCell(3, 4)(torch.randn(2, 5), torch.zeros(2, 4)),
            ValueError,
            "x_t must have shape (B, I) = (B, 3); got (2, 5)",
        ),
        (
            lambda: rnnlab.ElmanCell(3, 4)(torch.randn(2, 3), torch.zeros(3, 4)),
            ValueError,
            "state h must have shape (2, 4); got (3, 4)",
        ),
        (
            lambda: rnnlab.GRUCell(3, 4)(torch.ones(2, 3, dtype=torch.int32), torch.zeros(2, 4)),
            TypeError,
            "x_t must be a floating-point tensor; got dtype torch.int32",
        ),
        (
            lambda: rnnlab.LSTMCell(3, 4)(torch.randn(2, 3), torch.zeros(2, 4)),
            TypeError,
            "state must be an LSTMState(h, c); got Tensor",
        ),
        (
            lambda: rnnlab.JordanCell(3, 4, 2)(torch.randn(2, 3), torch.zeros(2, 4)),
            ValueError,
            "state context must have shape (2, 2); got (2, 4)",
        ),
        (
            lambda: rnnlab.ElmanCell(3, 4).initial_state(-1),
            ValueError,
            "batch_size must be >= 0; got -1",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_bad_call_loses_nothing():
    """A refused call leaves the layer as it was: the same parameters, the same results."""
    torch.manual_seed(0)
    layer = rnnlab.LSTM(3, 4)
    before = {name: value.clone() for name, value in layer.state_dict().items()}
    with pytest.raises(ValueError):
        layer(X, lengths=torch.tensor([9, 9]))
    after = layer.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
