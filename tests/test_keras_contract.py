"""Keras' recurrent layer tests, ported: constant weights give known numbers.

Keras checks ``SimpleRNN``, ``GRU`` and ``LSTM`` (``keras/src/layers/rnn/simple_rnn_test.py``,
``gru_test.py``, ``lstm_test.py``) by filling every kernel with 0.01, every recurrent kernel with
0.02 and every bias with 0.03, and comparing the outputs on ``np.arange`` inputs with numbers
written into the tests. The same weights in rnnlab must give the same numbers, which Keras
computed with its own, independent implementation (in float32, hence the 1e-6 tolerance here).

How Keras' options map onto rnnlab (written here, no code copied):

- Keras returns the last output (``return_sequences=False``): here ``outputs[:, -1]``, which is
  also the final state (``return_state``).
- ``go_backwards=True`` reads the sequence from its end: here the reverse direction of a
  bidirectional layer, whose final state is at index 1.
- ``initial_state`` is rnnlab's ``state``; a stateful layer is a final state passed back in.
- A mask: rnnlab has ``lengths`` (padding after each sequence), not masks. Keras skips masked
  steps, carrying the state over them, so a masked sequence computes what the sequence of its
  unmasked steps computes. Here those steps are moved to the front and ``lengths`` counts them;
  Keras' ``zero_output_for_mask=True`` is rnnlab's zero output past ``lengths``.
- Keras' bias is one vector; rnnlab, as torch.nn, has two (``bias_ih + bias_hh``): the first
  gets 0.03 and the second 0, except for the GRU, whose default ``reset_after=True`` keeps two
  biases as torch.nn does (both 0.03). ``reset_after=False`` (the reset gate before the matrix
  product, as in Cho et al. 2014) has no counterpart: rnnlab follows torch.nn.
- Keras' LSTM has ``unit_forget_bias=True`` by default: the forget gate's bias is 1, not 0.03.
"""

import pytest
import torch

import rnnlab

DTYPE = torch.float64
TOL = 1e-6  # Keras' numbers are float32 results written to 7 or 8 digits
SEQUENCE_3x6x4 = torch.arange(72, dtype=DTYPE).reshape(3, 6, 4)
SEQUENCE_2x3x4 = torch.arange(24, dtype=DTYPE).reshape(2, 3, 4)
SEQUENCE_2x4x3 = torch.arange(24, dtype=DTYPE).reshape(2, 4, 3)


def keras_constant_weights_(layer, unit_forget_bias: bool = False):
    """Keras' test weights: kernels 0.01, recurrent kernels 0.02, bias 0.03 (see above)."""
    two_biases = isinstance(layer, rnnlab.GRU)
    H = layer.hidden_size
    with torch.no_grad():
        for name, parameter in layer.named_parameters():
            kind = name.split("_l")[0]
            value = {"weight_ih": 0.01, "weight_hh": 0.02, "bias_ih": 0.03}.get(kind)
            if kind == "bias_hh":
                value = 0.03 if two_biases else 0.0
            parameter.fill_(value)
            if kind == "bias_ih" and unit_forget_bias:
                parameter[H : 2 * H] = 1.0  # gate order i, f, g, o in both libraries
    return layer


def make(kind: str, input_size: int, units: int, path: str, **options):
    unit_forget_bias = options.pop("unit_forget_bias", kind == "lstm")
    layer = {"simple": rnnlab.Elman, "gru": rnnlab.GRU, "lstm": rnnlab.LSTM}[kind](
        input_size, units, bidirectional=True, dtype=DTYPE, path=path, **options
    )
    return keras_constant_weights_(layer, unit_forget_bias)


def hidden(state) -> torch.Tensor:
    """h of a final state, (D, B, H)."""
    return state.h if isinstance(state, rnnlab.LSTMState) else state


def per_unit(values: list[float], units: int) -> torch.Tensor:
    """Keras' constant weights give every unit the same value: (B,) -> (B, units)."""
    return torch.tensor(values, dtype=DTYPE)[:, None].expand(-1, units)


PATHS = ["reference", "fast"]

# (source test, kind, options, x, units, last output, last output with go_backwards)
CORRECTNESS = {
    "simple_rnn": (
        "simple_rnn_test.py::test_correctness", "simple", {}, SEQUENCE_2x3x4, 4,
        [0.405432, 0.73605347], [0.11144729, 0.5528889],
    ),
    "gru": (
        "gru_test.py::test_correctness", "gru", {}, SEQUENCE_3x6x4, 3,
        [0.5217289, 0.6371659, 0.39384964], [0.24406259, 0.611516, 0.3928808],
    ),
    "gru_no_bias": (
        "gru_test.py::test_correctness (use_bias=False)", "gru", {"bias": False},
        SEQUENCE_3x6x4, 3, [0.49988455, 0.64701194, 0.4103359], None,
    ),
    "lstm": (
        "lstm_test.py::test_correctness", "lstm", {}, SEQUENCE_3x6x4, 3,
        [0.6288687, 0.86899155, 0.9460773], [0.35622165, 0.74789524, 0.8872726],
    ),
    "lstm_no_unit_forget_bias": (
        "lstm_test.py::test_correctness (unit_forget_bias=False)", "lstm",
        {"unit_forget_bias": False}, SEQUENCE_3x6x4, 3, [0.57019705, 0.8661914, 0.9459622],
        None,
    ),
    "lstm_no_bias": (
        "lstm_test.py::test_correctness (use_bias=False)", "lstm",
        {"bias": False, "unit_forget_bias": False}, SEQUENCE_3x6x4, 3,
        [0.54986924, 0.86226785, 0.9443936], None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CORRECTNESS)
def test_constant_weights_give_keras_numbers(case, path):
    """Keras ``test_correctness`` (simple_rnn, gru, lstm): forward and ``go_backwards``."""
    _, kind, options, x, units, forward, backward = CORRECTNESS[case]
    layer = make(kind, x.shape[-1], units, path, **options)
    outputs, state = layer(x)
    h = hidden(state)
    torch.testing.assert_close(h[0], per_unit(forward, units), atol=TOL, rtol=0)
    # return_sequences=False and return_state (gru_test.py::test_pass_return_state): the last
    # output of the forward direction is its final state.
    torch.testing.assert_close(outputs[:, -1, :units], h[0], atol=0, rtol=0)
    if backward is not None:
        torch.testing.assert_close(h[1], per_unit(backward, units), atol=TOL, rtol=0)
        # The reverse direction ends at t = 0, so its final state is its output there.
        torch.testing.assert_close(outputs[:, 0, units:], h[1], atol=0, rtol=0)


STATEFUL = {
    "simple_rnn": ("simple_rnn_test.py::test_statefulness", "simple", [0.40559256, 0.7361247]),
    "gru": ("gru_test.py::test_statefulness", "gru", [0.29542392, 0.5885018]),
    "lstm": ("lstm_test.py::test_statefulness", "lstm", [0.3124785, 0.6863672]),
}


@pytest.mark.parametrize("case", STATEFUL)
def test_a_stateful_layer_is_the_final_state_passed_back(case):
    """Keras ``test_statefulness``: the second call on the same batch continues the first."""
    _, kind, expected = STATEFUL[case]
    layer = make(kind, 4, 4, "auto")
    _, state = layer(SEQUENCE_2x3x4)
    _, state = layer(SEQUENCE_2x3x4, state)
    torch.testing.assert_close(hidden(state)[0], per_unit(expected, 4), atol=TOL, rtol=0)


# (source test, kind, units, initial h (B, units), last output, with go_backwards)
INITIAL_STATE = {
    "simple_rnn": (
        "simple_rnn_test.py::test_pass_initial_state", "simple", 4,
        torch.arange(8, dtype=DTYPE).reshape(2, 4),
        [[0.33621645] * 4, [0.6262637] * 4], [[0.07344437] * 4, [0.43043602] * 4],
    ),
    "gru": (
        "gru_test.py::test_pass_initial_state", "gru", 2,
        torch.arange(4, dtype=DTYPE).reshape(2, 2),
        [[0.23774096, 0.33508456], [0.83659905, 1.0227708]],
        [[0.13486053, 0.23261218], [0.78257304, 0.9691353]],
    ),
    "lstm": (
        "lstm_test.py::test_pass_initial_state", "lstm", 2,
        torch.arange(4, dtype=DTYPE).reshape(2, 2),
        [[0.20574439, 0.3558822], [0.64930826, 0.66276]],
        [[0.13281618, 0.2790356], [0.5839337, 0.5992567]],
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", INITIAL_STATE)
def test_an_initial_state_gives_keras_numbers(case, path):
    """Keras ``test_pass_initial_state``: both directions start from the given state (for the
    LSTM, h and c both ``arange(4)``, as Keras passes them)."""
    _, kind, units, h0, forward, backward = INITIAL_STATE[case]
    layer = make(kind, 3, units, path)
    state = torch.stack([h0, h0])  # (D, B, units)
    if kind == "lstm":
        state = rnnlab.LSTMState(state, state.clone())
    _, final = layer(SEQUENCE_2x4x3, state)
    h = hidden(final)
    torch.testing.assert_close(h[0], torch.tensor(forward, dtype=DTYPE), atol=TOL, rtol=0)
    torch.testing.assert_close(h[1], torch.tensor(backward, dtype=DTYPE), atol=TOL, rtol=0)


def unmasked_steps_first(x: torch.Tensor, mask: list[list[bool]]):
    """A Keras mask as rnnlab's padding: each sequence's unmasked steps moved to the front,
    in order, zeros after them, and how many there are."""
    mask_bt = torch.tensor(mask)
    lengths = mask_bt.sum(dim=1)
    packed = torch.zeros_like(x)
    for b in range(x.shape[0]):
        packed[b, : lengths[b]] = x[b, mask_bt[b]]
    return packed, lengths


MIDDLE_HOLES = [[True, True, False, True], [True, False, False, True]]
TRAILING = [[True, True, True, False], [True, True, False, False]]
LEADING = [[False, True, True, True], [False, False, True, True]]

# (source, kind, units, mask, last output, last output with go_backwards (mask, values),
#  unmasked outputs of return_sequences=True, zero_output_for_mask=True, per sequence)
MASKING = {
    "simple_rnn": (
        "simple_rnn_test.py::test_masking", "simple", 2, MIDDLE_HOLES,
        None, (MIDDLE_HOLES, None),
        [[0.0599281, 0.15122814, 0.32394567], [0.3969304, 0.608085]],
    ),
    "simple_rnn_4_units": (
        "simple_rnn_test.py::test_masking (4 units, unroll and go_backwards)", "simple", 4,
        MIDDLE_HOLES, [0.32951632, 0.61799484], (MIDDLE_HOLES, [0.07376196, 0.43645123]), None,
    ),
    "gru": (
        "gru_test.py::test_masking", "gru", 2, MIDDLE_HOLES, [0.19393763, 0.30818558],
        (MIDDLE_HOLES, [0.11669192, 0.28380975]),
        [[0.03606692, 0.09497581, 0.19393763], [0.16051409, 0.30818558]],
    ),
    "lstm": (
        "lstm_test.py::test_masking", "lstm", 2, TRAILING, [0.11755939, 0.28556206],
        (LEADING, [0.15341201, 0.3844719]),
        [[0.0158891, 0.05552048, 0.11755939], [0.14185596, 0.28556206]],
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", MASKING)
def test_masked_steps_are_skipped_as_with_lengths(case, path):
    """Keras ``test_masking``: a masked step leaves the state alone, and with
    ``zero_output_for_mask=True`` its output is 0, which is what ``lengths`` does after moving
    the unmasked steps to the front. The LSTM's trailing mask is plain ``lengths``."""
    _, kind, units, mask, forward, (backward_mask, backward), sequences = MASKING[case]
    layer = make(kind, 3, units, path)
    x, lengths = unmasked_steps_first(SEQUENCE_2x4x3, mask)
    outputs, state = layer(x, lengths=lengths)
    h = hidden(state)
    if forward is not None:
        torch.testing.assert_close(h[0], per_unit(forward, units), atol=TOL, rtol=0)
    if sequences is not None:
        for b, values in enumerate(sequences):
            n = len(values)
            want = per_unit(values, units)
            torch.testing.assert_close(outputs[b, :n, :units], want, atol=TOL, rtol=0)
            assert outputs[b, n:].abs().max() == 0  # zero_output_for_mask
    if backward is not None:
        # go_backwards reads the unmasked steps from the last one: rnnlab's reverse direction
        # over the same padded batch starts at lengths[b] - 1.
        x, lengths = unmasked_steps_first(SEQUENCE_2x4x3, backward_mask)
        _, state = layer(x, lengths=lengths)
        torch.testing.assert_close(hidden(state)[1], per_unit(backward, units), atol=TOL, rtol=0)
