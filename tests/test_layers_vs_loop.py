"""The layers torch.nn does not have, checked against a hand-written loop of torch ops.

The sigmoid Elman network, the Jordan network and the peephole LSTM are unrolled here one
sequence at a time, over only its valid steps, with explicit matrix products: a method
independent of the layers' masked batch unroll.
"""

import pytest
import torch

import rnnlab

B, T, I, H, O = 3, 5, 3, 4, 2
LENGTHS = [5, 1, 3]
TOL = 1e-10


def elman_sigmoid_step(p, x_t, state):
    (h,) = state
    h = torch.sigmoid(x_t @ p["weight_ih"].T + h @ p["weight_hh"].T + p["bias_ih"] + p["bias_hh"])
    return h, (h,)


def jordan_step(p, x_t, state):
    (y,) = state
    h = torch.tanh(x_t @ p["weight_ih"].T + y @ p["weight_hh"].T + p["bias_ih"] + p["bias_hh"])
    y = torch.sigmoid(h @ p["weight_ho"].T + p["bias_ho"])
    return y, (y,)


def peephole_lstm_step(p, x_t, state):
    h, c = state
    a = x_t @ p["weight_ih"].T + h @ p["weight_hh"].T + p["bias_ih"] + p["bias_hh"]
    a_i, a_f, a_g, a_o = a.split(H)
    i = torch.sigmoid(a_i + p["weight_peephole"][0] * c)
    f = torch.sigmoid(a_f + p["weight_peephole"][1] * c)
    c = f * c + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + p["weight_peephole"][2] * c)
    h = o * torch.tanh(c)
    return h, (h, c)


def positive(a):
    return torch.where(a >= 0, a + 0.5, torch.sigmoid(a))


def mingru_step(p, x_t, state):
    (h,) = state
    k = x_t @ p["weight_ih"].T + p["bias_ih"]
    z = torch.sigmoid(k[H:])
    h = (1 - z) * h + z * positive(k[:H])
    return h, (h,)


def minlstm_step(p, x_t, state):
    (h,) = state
    k = x_t @ p["weight_ih"].T + p["bias_ih"]
    f, i = torch.sigmoid(k[:H]), torch.sigmoid(k[H : 2 * H])
    h = (f * h + i * positive(k[2 * H :])) / (f + i)
    return h, (h,)


def loop(layer, step, x, initial, lengths):
    """Per sequence, per layer, per direction: run ``step`` over the valid steps only."""
    D = 2 if layer.bidirectional else 1
    outputs = torch.zeros(x.shape[0], x.shape[1], D * initial[0].shape[-1], dtype=x.dtype)
    finals = [[None] * x.shape[0] for _ in range(layer.num_layers * D)]
    for b, length in enumerate(lengths):
        sequence = [x[b, t] for t in range(length)]
        for l in range(layer.num_layers):
            per_direction = []
            for d in range(D):
                suffix = f"_l{l}" + ("_reverse" if d else "")
                p = {name[: -len(suffix)]: value for name, value in layer.named_parameters()
                     if name.endswith(suffix)}  # fmt: skip
                state = tuple(part[l * D + d, b] for part in initial)
                ys = [None] * length
                for t in reversed(range(length)) if d else range(length):
                    ys[t], state = step(p, sequence[t], state)
                per_direction.append(ys)
                finals[l * D + d][b] = state
            sequence = [torch.cat(ys_t) for ys_t in zip(*per_direction)]
        for t, y in enumerate(sequence):
            outputs[b, t] = y
    parts = tuple(
        torch.stack([torch.stack([finals[k][b][j] for b in range(len(lengths))])
                     for k in range(len(finals))])
        for j in range(len(initial))
    )  # fmt: skip
    return outputs, parts


CASES = {
    "elman_sigmoid": (
        lambda **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
        elman_sigmoid_step,
        (H,),
    ),
    "jordan": (
        lambda **kw: rnnlab.Jordan(
            I, H, O, nonlinearity="tanh", output_nonlinearity="sigmoid", **kw
        ),
        jordan_step,
        (O,),
    ),
    "lstm_peephole": (
        lambda **kw: rnnlab.LSTM(I, H, peephole=True, **kw),
        peephole_lstm_step,
        (H, H),
    ),
    # The parallel scan (their default path) against a loop of the minGRU's and minLSTM's
    # equations (Feng et al. 2024), the state of any sign.
    "mingru": (lambda **kw: rnnlab.MinGRU(I, H, **kw), mingru_step, (H,)),
    "minlstm": (lambda **kw: rnnlab.MinLSTM(I, H, **kw), minlstm_step, (H,)),
}


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("case", CASES)
def test_layer_matches_hand_written_loop(case, num_layers, bidirectional, lengths):
    make, step, state_sizes = CASES[case]
    torch.manual_seed(0)
    layer = make(num_layers=num_layers, bidirectional=bidirectional, dtype=torch.float64)
    D = 2 if bidirectional else 1
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    initial = tuple(
        torch.rand(num_layers * D, B, size, dtype=torch.float64, requires_grad=True)
        for size in state_sizes
    )
    state = rnnlab.LSTMState(*initial) if len(initial) == 2 else initial[0]
    outputs, final = layer(x, state, None if lengths is None else torch.tensor(lengths))
    final = tuple(final) if len(initial) == 2 else (final,)
    want_outputs, want_final = loop(layer, step, x, initial, lengths or [T] * B)

    torch.testing.assert_close(outputs, want_outputs, atol=TOL, rtol=0)
    for got, want in zip(final, want_final):
        torch.testing.assert_close(got, want, atol=TOL, rtol=0)

    weights = torch.randn(outputs.shape, dtype=torch.float64)
    inputs = (x, *initial, *layer.parameters())
    got_grads = torch.autograd.grad((weights * outputs).sum() + sum(f.sum() for f in final), inputs)
    want_grads = torch.autograd.grad(
        (weights * want_outputs).sum() + sum(f.sum() for f in want_final), inputs
    )
    for got, want in zip(got_grads, want_grads):
        torch.testing.assert_close(got, want, atol=TOL, rtol=0)


def test_sigmoid_elman_starts_from_half():
    """Elman (1990, p. 182): "The context units are initially set to 0.5"."""
    layer = rnnlab.Elman(2, 3, num_layers=2, nonlinearity="sigmoid")
    assert torch.equal(layer.initial_state(4), torch.full((2, 4, 3), 0.5))
    cell = rnnlab.ElmanCell(2, 3, nonlinearity="sigmoid")
    assert torch.equal(cell.initial_state(4), torch.full((4, 3), 0.5))
    x = torch.randn(4, 5, 2)
    torch.testing.assert_close(layer(x)[0], layer(x, torch.full((2, 4, 3), 0.5))[0])


@pytest.mark.parametrize(
    ("make_cell", "make_layer"),
    [
        (
            lambda: rnnlab.ElmanCell(I, H, nonlinearity="sigmoid"),
            lambda: rnnlab.Elman(I, H, nonlinearity="sigmoid"),
        ),
        (lambda: rnnlab.JordanCell(I, H, O), lambda: rnnlab.Jordan(I, H, O)),
        (lambda: rnnlab.GRUCell(I, H), lambda: rnnlab.GRU(I, H)),
        (lambda: rnnlab.LSTMCell(I, H, peephole=True), lambda: rnnlab.LSTM(I, H, peephole=True)),
    ],
    ids=["elman", "jordan", "gru", "lstm"],
)
def test_cell_stepped_by_hand_matches_its_layer(make_cell, make_layer):
    """A cell and a one-layer layer with the same weights compute the same sequence."""
    torch.manual_seed(0)
    cell, layer = make_cell().double(), make_layer().double()
    layer.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    x = torch.randn(B, T, I, dtype=torch.float64)
    state = cell.initial_state(B)
    ys = []
    for t in range(T):
        y_t, state = cell(x[:, t], state)
        ys.append(y_t)
    outputs, final = layer(x)
    torch.testing.assert_close(torch.stack(ys, dim=1), outputs, atol=TOL, rtol=0)
    if isinstance(state, rnnlab.LSTMState):
        torch.testing.assert_close(state.c, final.c[0], atol=TOL, rtol=0)
    else:
        torch.testing.assert_close(state, final[0], atol=TOL, rtol=0)
