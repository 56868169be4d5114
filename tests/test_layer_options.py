"""Options of the layers that torch.nn comparisons do not cover: dropout, init, state types."""

import pytest
import torch

import rnnlab


def test_dropout_acts_between_layers_in_training_only():
    torch.manual_seed(0)
    layer = rnnlab.GRU(3, 8, num_layers=2, dropout=0.5)
    x = torch.randn(4, 5, 3)
    layer.eval()
    evaluated = layer(x)[0]
    layer.train()
    torch.manual_seed(1)
    first = layer(x)[0]
    torch.manual_seed(1)
    again = layer(x)[0]
    torch.manual_seed(2)
    other = layer(x)[0]
    assert torch.equal(first, again)  # seeded, so reproducible
    assert not torch.allclose(first, evaluated)
    assert not torch.allclose(first, other)


def test_reset_parameters_with_a_generator_is_reproducible():
    layer = rnnlab.LSTM(3, 4, num_layers=2)
    layer.reset_parameters(torch.Generator().manual_seed(7))
    first = {k: v.clone() for k, v in layer.state_dict().items()}
    layer.reset_parameters(torch.Generator().manual_seed(7))
    assert all(torch.equal(first[k], v) for k, v in layer.state_dict().items())
    bound = 1 / 4**0.5
    assert all(v.abs().max() <= bound for v in first.values())


@pytest.mark.parametrize(
    "make",
    [
        lambda: rnnlab.LSTM(3, 4, num_layers=2, bidirectional=True, forget_bias=1.0),
        lambda: rnnlab.LSTMCell(3, 4, forget_bias=1.0),
    ],
    ids=["layer", "cell"],
)
def test_forget_bias_sets_the_total_forget_gate_bias(make):
    module = make()
    biases = [(v, module.state_dict()[k.replace("bias_ih", "bias_hh")])
              for k, v in module.state_dict().items() if k.startswith("bias_ih")]  # fmt: skip
    assert len(biases) == (4 if isinstance(module, rnnlab.LSTM) else 1)
    for bias_ih, bias_hh in biases:
        total = bias_ih + bias_hh
        assert torch.equal(total[4:8], torch.ones(4))
        assert not torch.equal(total[:4], torch.ones(4))


def test_lstm_accepts_a_plain_tuple_and_returns_lstm_state():
    layer = rnnlab.LSTM(3, 4)
    h, c = torch.randn(1, 2, 4), torch.randn(1, 2, 4)
    _, state_tuple = layer(torch.randn(2, 5, 3), (h, c))
    assert isinstance(state_tuple, rnnlab.LSTMState)
    assert isinstance(layer.initial_state(2), rnnlab.LSTMState)


def test_initial_state_is_what_forward_starts_from():
    torch.manual_seed(0)
    layer = rnnlab.Jordan(3, 5, 2, num_layers=2, bidirectional=True)
    x = torch.randn(2, 4, 3)
    state = layer.initial_state(2)
    assert torch.equal(state, torch.full((4, 2, 2), 0.5))  # sigmoid outputs rest at 0.5
    assert torch.equal(layer(x)[0], layer(x, state)[0])


def test_state_carries_across_chunks_like_one_long_sequence():
    """Feeding the final state back in continues the sequence exactly (truncated BPTT's basis)."""
    torch.manual_seed(0)
    layer = rnnlab.LSTM(3, 4, num_layers=2)
    x = torch.randn(2, 10, 3)
    whole, final = layer(x)
    first, state = layer(x[:, :6])
    second, state = layer(x[:, 6:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, atol=0, rtol=0)
    torch.testing.assert_close(state.c, final.c, atol=0, rtol=0)


def test_dropout_drops_the_outputs_of_every_layer_but_the_last():
    """Layer by layer with the same random stream: dropout between the layers, not after."""
    torch.manual_seed(0)
    layer = rnnlab.GRU(3, 8, num_layers=3, dropout=0.5).train()
    stages = [rnnlab.GRU(3, 8), rnnlab.GRU(8, 8), rnnlab.GRU(8, 8)]
    for k, stage in enumerate(stages):
        stage.load_state_dict(
            {n.replace(f"_l{k}", "_l0"): v for n, v in layer.state_dict().items() if f"_l{k}" in n}
        )
    x = torch.randn(4, 5, 3)
    torch.manual_seed(5)
    got = layer(x)[0]
    torch.manual_seed(5)
    h = torch.nn.functional.dropout(stages[0](x)[0], 0.5, training=True)
    h = torch.nn.functional.dropout(stages[1](h)[0], 0.5, training=True)
    torch.testing.assert_close(got, stages[2](h)[0], atol=0, rtol=0)
