"""layer.record: every step of every layer, consistent with forward and with the equations."""

import pytest
import torch

import rnnlab

B, T, I, H, O = 3, 6, 2, 4, 3
LENGTHS = torch.tensor([6, 2, 4])

LAYERS = {
    "elman": lambda **kw: rnnlab.Elman(I, H, **kw),
    "jordan": lambda **kw: rnnlab.Jordan(I, H, O, **kw),
    "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(I, H, **kw),
}


def top_layer_field(trace):
    return trace.output if isinstance(trace, rnnlab.JordanTrace) else trace.hidden


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("name", LAYERS)
def test_record_agrees_with_forward_in_every_layer(name, lengths):
    torch.manual_seed(0)
    layer = LAYERS[name](num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(B, T, I, dtype=torch.float64)
    outputs, _ = layer(x, lengths=lengths)
    trace = layer.record(x, lengths=lengths)
    size = O if name == "jordan" else H
    assert trace.hidden.shape == (4, B, T, H)
    top = top_layer_field(trace)  # (L*D, B, T, size)
    # forward may run another kernel than record (torch's fused LSTM): equal to rounding.
    torch.testing.assert_close(torch.cat([top[2], top[3]], dim=-1), outputs, atol=1e-12, rtol=0)

    # The bottom layer's record is the output of a one-layer network with its weights.
    bottom = LAYERS[name](bidirectional=True, dtype=torch.float64)
    bottom.load_state_dict({k: v for k, v in layer.state_dict().items() if "_l0" in k})
    bottom_outputs, _ = bottom(x, lengths=lengths)
    torch.testing.assert_close(
        torch.cat([top[0], top[1]], dim=-1), bottom_outputs, atol=1e-12, rtol=0
    )
    if lengths is not None:
        padded = torch.arange(T)[None, :] >= lengths[:, None]  # (B, T)
        for field in trace:
            assert field[:, padded].abs().max() == 0
    assert top.shape[-1] == size


def test_lstm_record_obeys_the_cell_equations():
    torch.manual_seed(0)
    layer = rnnlab.LSTM(I, H, peephole=True, dtype=torch.float64)
    x = torch.randn(B, T, I, dtype=torch.float64)
    trace = layer.record(x)
    _, state = layer(x)
    i, f, g, o = trace.gates[0].unbind(dim=2)  # each (B, T, H)
    c = trace.cell[0]
    c_previous = torch.cat([torch.zeros(B, 1, H, dtype=torch.float64), c[:, :-1]], dim=1)
    torch.testing.assert_close(c, f * c_previous + i * g, atol=1e-12, rtol=0)
    torch.testing.assert_close(trace.hidden[0], o * torch.tanh(c), atol=1e-12, rtol=0)
    torch.testing.assert_close(c[:, -1], state.c[0], atol=1e-12, rtol=0)


def test_gru_record_obeys_the_cell_equations():
    torch.manual_seed(0)
    layer = rnnlab.GRU(I, H, dtype=torch.float64)
    trace = layer.record(torch.randn(B, T, I, dtype=torch.float64))
    r, z, n = trace.gates[0].unbind(dim=2)
    h = trace.hidden[0]
    h_previous = torch.cat([torch.zeros(B, 1, H, dtype=torch.float64), h[:, :-1]], dim=1)
    torch.testing.assert_close(h, (1 - z) * n + z * h_previous, atol=1e-12, rtol=0)
    assert r.min() > 0 and r.max() < 1


def test_jordan_record_output_is_readout_of_hidden():
    torch.manual_seed(0)
    layer = rnnlab.Jordan(I, H, O, dtype=torch.float64)
    trace = layer.record(torch.randn(B, T, I, dtype=torch.float64))
    readout = torch.sigmoid(trace.hidden[0] @ layer.weight_ho_l0.T + layer.bias_ho_l0)
    torch.testing.assert_close(trace.output[0], readout, atol=1e-12, rtol=0)


def test_gradients_flow_through_the_record():
    torch.manual_seed(0)
    layer = rnnlab.Elman(I, H)
    x = torch.randn(B, T, I, requires_grad=True)
    trace = layer.record(x)
    trace.hidden[0, :, -1].sum().backward()
    assert x.grad[:, 0].abs().sum() > 0  # the last state depends on the first input
