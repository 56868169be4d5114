"""The networks of a layer and a readout: one output shape per class, the readout of the final
state, and the parameter names of the checkpoints saved before the classes were split."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.layers import CTRNN, GRU, LSTM, Elman
from rnnlab.losses import gaussian_parts
from rnnlab.models.ensemble import Ensemble
from rnnlab.models.readout import (
    ExcitatoryReadout,
    FinalStateReadout,
    Network,
    SequenceNetwork,
    StepReadout,
)

# The parameter names of the one Network class with a per_sequence flag (before the split), as
# in its saved checkpoints.
SAVED_NAMES = {
    "tokens, embedded, per sequence": [
        "embedding.weight", "layer.weight_ih_l0", "layer.weight_hh_l0", "layer.bias_ih_l0",
        "layer.bias_hh_l0", "layer.weight_ih_l0_reverse", "layer.weight_hh_l0_reverse",
        "layer.bias_ih_l0_reverse", "layer.bias_hh_l0_reverse", "readout.weight",
        "readout.bias",
    ],
    "vectors, highway": [
        "layer.weight_ih_l0", "layer.weight_hh_l0", "layer.bias_ih_l0", "layer.bias_hh_l0",
        "readout.weight", "readout.bias", "highway.weight", "highway.bias",
    ],
}  # fmt: skip


def test_a_step_network_reads_out_at_every_step():
    torch.manual_seed(0)
    network = Network(GRU(3, 5, num_layers=2), 4).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    outputs, state = network(x)
    hidden, _ = network.layer(x)
    assert outputs.shape == (2, 6, 4) and state.shape == (2, 2, 5)
    torch.testing.assert_close(outputs, hidden @ network.readout.weight.T + network.readout.bias)


@pytest.mark.parametrize("layer_type", [GRU, LSTM, Elman])
def test_a_sequence_network_reads_the_last_layers_final_state_in_both_directions(layer_type):
    torch.manual_seed(0)
    layer = layer_type(4, 5, num_layers=2, bidirectional=True)
    network = SequenceNetwork(layer, 3, vocab_size=4).double()
    x, lengths = torch.randint(0, 4, (3, 7)), torch.tensor([7, 2, 4])
    outputs, state = network(x, lengths=lengths)
    h = state.h if layer_type is LSTM else state  # (L * D, B, H)
    expected = network.readout.weight @ torch.cat([h[-2], h[-1]], -1).T  # (O, B)
    assert outputs.shape == (3, 3)
    torch.testing.assert_close(outputs, expected.T + network.readout.bias, rtol=0, atol=1e-12)


def test_a_sequence_network_of_a_ctrnn_reads_the_rates_not_the_currents():
    # The continuous-time network's state is its units' currents v; it outputs f(v).
    torch.manual_seed(0)
    layer = CTRNN(3, 5, nonlinearity="softplus", dt=50.0)
    network = SequenceNetwork(layer, 2).double()
    x, lengths = torch.rand(3, 6, 3, dtype=torch.float64), torch.tensor([6, 2, 4])
    outputs, state = network(x, lengths=lengths)
    hidden, _ = network.layer(x, lengths=lengths)
    last = hidden[torch.arange(3), lengths - 1]  # the rates after each sequence's last step
    torch.testing.assert_close(last, F.softplus(state[-1]), rtol=0, atol=1e-12)
    expected = last @ network.readout.weight.T + network.readout.bias
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)


def test_the_readouts_are_linear_maps_that_say_what_they_read():
    step = StepReadout(10, 3)
    final = FinalStateReadout(10, 3, num_directions=2)
    assert isinstance(step, nn.Linear) and isinstance(final, nn.Linear)
    outputs, state = torch.randn(2, 4, 10), torch.randn(2 * 2, 2, 5)  # (B, T, D H), (L D, B, H)
    assert step.read(outputs, state) is outputs
    torch.testing.assert_close(final.read(outputs, state), torch.cat([state[2], state[3]], -1))
    assert "num_directions=2" in repr(final)


def test_parameter_names_are_those_of_saved_checkpoints():
    torch.manual_seed(0)
    per_sequence = SequenceNetwork(GRU(4, 5, bidirectional=True), 3, vocab_size=9,
                                   embedding_dim=4)  # fmt: skip
    every_step = Network(GRU(2, 5), 6, highway=3)
    assert list(per_sequence.state_dict()) == SAVED_NAMES["tokens, embedded, per sequence"]
    assert list(every_step.state_dict()) == SAVED_NAMES["vectors, highway"]
    saved = {name: torch.zeros_like(value) for name, value in every_step.state_dict().items()}
    every_step.load_state_dict(saved)  # strict: every name known, none missing
    assert not any(parameter.any() for parameter in every_step.parameters())


def test_a_gaussian_output_is_a_step_readout_of_two_values_per_variable():
    torch.manual_seed(0)
    network = Network(GRU(2, 5), 2 * 3)  # means and log-variances of 3 variables
    outputs, _ = network(torch.randn(4, 6, 2))
    mean, log_variance = gaussian_parts(outputs)
    assert mean.shape == log_variance.shape == (4, 6, 3)
    torch.testing.assert_close(mean, outputs[..., :3])


def test_options_a_class_does_not_take_are_refused():
    with pytest.raises(ValueError, match="embedding_dim needs token inputs"):
        SequenceNetwork(GRU(4, 5), 3, embedding_dim=4)
    with pytest.raises(ValueError, match="highway adds a linear map of vector inputs"):
        Network(GRU(4, 5), 3, vocab_size=4, highway=2)
    with pytest.raises(TypeError, match="highway"):
        SequenceNetwork(GRU(4, 5), 3, highway=2)
    with pytest.raises(ValueError, match=r"reads token ids: an integer tensor \(B, T\); got "):
        SequenceNetwork(GRU(4, 5), 3, vocab_size=4)(torch.randn(2, 3, 4))


def _negative_weights(network):
    with torch.no_grad():
        network.readout.weight.copy_(torch.randn_like(network.readout.weight))
    assert (network.readout.weight < 0).any()  # the readout must use |W|


@pytest.mark.parametrize("bidirectional", [False, True])
def test_under_dales_law_a_step_network_reads_the_excitatory_rates_through_abs_weights(
    bidirectional,
):
    # pycog: W_out = [W_out]+ on the excitatory units (the first floor(0.8 H)), 0 elsewhere.
    torch.manual_seed(0)
    layer = CTRNN(3, 10, dale=True, bidirectional=bidirectional).double()
    network = Network(layer, 2).double()
    assert isinstance(network.readout, ExcitatoryReadout)
    _negative_weights(network)
    x = torch.rand(4, 5, 3, dtype=torch.float64)
    outputs, _ = network(x)
    rates, _ = layer(x)  # (B, T, D * 10)
    D = 2 if bidirectional else 1
    excitatory = [d * 10 + k for d in range(D) for k in range(8)]
    assert network.readout.units.tolist() == excitatory
    W, b = network.readout.weight.abs(), network.readout.bias
    torch.testing.assert_close(outputs, rates[..., excitatory] @ W.T + b, rtol=0, atol=1e-12)
    full = network.readout.effective_weight()  # (O, D H): what it applies to every unit
    assert full.shape == (2, D * 10) and (full >= 0).all()
    inhibitory = [k for k in range(D * 10) if k not in excitatory]
    assert (full[:, inhibitory] == 0).all()
    torch.testing.assert_close(outputs, rates @ full.T + b, rtol=0, atol=1e-12)
    outputs.sum().backward()
    assert (layer.weight_hh_l0.grad != 0).any()  # the gradient reaches the layer


def test_under_dales_law_a_sequence_network_reads_the_excitatory_final_rates():
    torch.manual_seed(0)
    layer = CTRNN(3, 10, dale=True, excitatory_fraction=0.5).double()
    network = SequenceNetwork(layer, 2).double()
    _negative_weights(network)
    x, lengths = torch.rand(3, 6, 3, dtype=torch.float64), torch.tensor([6, 2, 4])
    outputs, _ = network(x, lengths=lengths)
    rates, _ = layer(x, lengths=lengths)
    last = rates[torch.arange(3), lengths - 1, :5]  # the 5 excitatory units, each last step
    expected = last @ network.readout.weight.abs().T + network.readout.bias
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)


def test_without_dales_law_the_readout_reads_every_unit_with_any_sign():
    network = Network(CTRNN(3, 10), 2)
    assert type(network.readout) is StepReadout and network.readout.weight.shape == (2, 10)
    assert CTRNN(3, 10).readout_units() is None and Elman(3, 4).readout_units() is None


def test_the_dale_readout_keeps_torch_names_and_an_ensemble_member_runs_as_the_network():
    torch.manual_seed(0)
    make = lambda: Network(CTRNN(3, 10, dale=True), 2).double()  # noqa: E731
    ensemble = Ensemble(make, 3)
    names = [n for n in make().state_dict() if n.startswith("readout.")]
    assert names == ["readout.weight", "readout.bias"]  # the units are not saved
    with torch.no_grad():
        for name, tensor in ensemble.named_parameters():
            if name.endswith("readout.weight") or "readout_weight" in name:
                tensor.copy_(torch.randn_like(tensor))
    x = torch.rand(2, 5, 3, dtype=torch.float64)
    outputs, _ = ensemble(x)  # (N, B, T, O)
    for k in range(3):
        alone, _ = ensemble.member(k)(x)
        torch.testing.assert_close(outputs[k], alone, rtol=0, atol=1e-12)
