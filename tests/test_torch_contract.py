"""PyTorch's own recurrent-layer tests, ported: rnnlab as a drop-in for torch.nn.

Each test names the PyTorch test whose intent it carries over: ``test/test_nn.py`` (``TestNN``
and ``TestNNDeviceType``) or the RNN entries of ``torch/testing/_internal/common_modules.py``.
The code is written here, not copied. Every test compares values with torch.nn or with numbers
in closed form, not only shapes. Where rnnlab differs from torch.nn on purpose (README,
"Differences from torch.nn": batch first only, ``lengths`` instead of PackedSequence, no
unbatched input, ``state`` instead of ``hx``), a test checks that the difference is a clear
error and that the batch-first, padded equivalent gives torch.nn's numbers.
"""

import io
import re

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab
from tests.test_layers_vs_torch import run_rnnlab, run_torch, values_and_gradients

DTYPE = torch.float64
TOL = 1e-10
B, T, I, H, P = 4, 6, 3, 5, 2
LENGTHS = [6, 2, 5, 1]

# rnnlab's layer, its torch.nn twin, and the options that make them the same network.
TWINS = {
    "rnn_tanh": (rnnlab.Elman, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnnlab.Elman, nn.RNN, {"nonlinearity": "relu"}),
    "gru": (rnnlab.GRU, nn.GRU, {}),
    "lstm": (rnnlab.LSTM, nn.LSTM, {}),
    "lstm_proj": (rnnlab.LSTM, nn.LSTM, {"proj_size": P}),
}


def twins(kind: str, input_size=I, hidden_size=H, path=None, **options):
    """An rnnlab layer and its torch.nn twin (batch first, float64) with the same weights."""
    ours, theirs, extra = TWINS[kind]
    options = {**extra, **options}
    torch.manual_seed(0)
    reference = theirs(input_size, hidden_size, batch_first=True, **options).to(DTYPE)
    layer = ours(input_size, hidden_size, dtype=DTYPE, path=path, **options)
    layer.load_state_dict(reference.state_dict())
    return layer, reference


def parts(state) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, tuple) else (state,)


def random_state(layer, batch_size: int, generator=None):
    """A random state in the layer's public layout (h (L*D, B, P or H), c (L*D, B, H))."""
    rest = layer.initial_state(batch_size)
    drawn = [torch.randn(p.shape, dtype=DTYPE, generator=generator) for p in parts(rest)]
    return rnnlab.LSTMState(*drawn) if isinstance(rest, tuple) else drawn[0]


def torch_state(state):
    """The same state for torch.nn: a plain tuple (h, c) or a tensor."""
    return tuple(state) if isinstance(state, tuple) else state


def assert_all_close(got, want, tol=TOL):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        torch.testing.assert_close(g, w, atol=tol, rtol=0, msg=f"item {k}")


# -- construction -------------------------------------------------------------------------------

# Every argument of torch.nn's constructors, positionally, in torch.nn's order (batch_first=True
# is the one value rnnlab takes).
POSITIONAL = {
    "rnn": (rnnlab.Elman, nn.RNN, (3, 4, 2, "relu", False, True, 0.5, True)),
    "gru": (rnnlab.GRU, nn.GRU, (3, 4, 2, False, True, 0.5, True)),
    "lstm": (rnnlab.LSTM, nn.LSTM, (3, 4, 2, False, True, 0.5, True, 2)),
}
ATTRIBUTES = (
    "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
    "bidirectional",
)  # fmt: skip


@pytest.mark.parametrize("kind", POSITIONAL)
def test_positional_arguments_mean_what_they_mean_in_torch(kind):
    """test_nn.py::TestNN::test_RNN_nonlinearity_passed_as_arg, for every argument: the same
    positional call builds the same network, with the same parameters and results."""
    ours, theirs, args = POSITIONAL[kind]
    torch.manual_seed(0)
    reference = theirs(*args).to(DTYPE)
    layer = ours(*args, dtype=DTYPE)
    for name in ATTRIBUTES + (("nonlinearity",) if kind == "rnn" else ()):
        assert getattr(layer, name) == getattr(reference, name), name
    if kind == "lstm":
        assert layer.proj_size == reference.proj_size == 2
    shapes = {name: tuple(p.shape) for name, p in reference.state_dict().items()}
    assert {name: tuple(p.shape) for name, p in layer.state_dict().items()} == shapes
    layer.load_state_dict(reference.state_dict())
    layer.eval()
    reference.eval()
    x = torch.randn(2, 5, 3, dtype=DTYPE)
    assert_all_close([layer(x)[0], *parts(layer(x)[1])], [reference(x)[0], *parts(reference(x)[1])])


@pytest.mark.parametrize("ours", [rnnlab.Elman, rnnlab.GRU, rnnlab.LSTM, rnnlab.Jordan])
def test_batch_first_false_says_to_transpose(ours):
    """rnnlab is batch first (a deliberate difference): ``batch_first=False``, which is
    torch.nn's default, is refused with what to do instead, and ``True`` is accepted both by
    keyword and in torch.nn's position."""
    sizes = (3, 4, 2) if ours is rnnlab.Jordan else (3, 4)
    message = "rnnlab is batch first: x is (B, T, I)"
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        ours(*sizes, batch_first=False)
    assert "transpose" in str(error.value)
    assert ours(*sizes, batch_first=True).batch_first is True


def test_jordan_takes_elmans_order_with_output_size_after_hidden_size():
    """Jordan has no torch.nn twin; its positional order is Elman's with output_size third."""
    layer = rnnlab.Jordan(3, 4, 2, 2, "relu", False, True, 0.5, True)
    assert (layer.output_size, layer.num_layers, layer.nonlinearity) == (2, 2, "relu")
    assert (layer.bias, layer.dropout, layer.bidirectional) == (False, 0.5, True)
    with pytest.raises(TypeError, match="positional"):
        rnnlab.Jordan(3, 4, 2, 2, "relu", False, True, 0.5, True, "identity")


def test_nonlinearity_as_torch_with_sigmoid_as_an_extension():
    """test_nn.py::TestNN::test_RNN_nonlinearity: tanh by default, relu on request, anything
    else refused; rnnlab adds Elman's (1990) sigmoid, which torch.nn refuses."""
    assert rnnlab.Elman(1, 10).nonlinearity == nn.RNN(1, 10).nonlinearity == "tanh"
    assert rnnlab.Elman(1, 10, nonlinearity="relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        rnnlab.Elman(1, 10, nonlinearity="garbage")
    with pytest.raises(ValueError):
        nn.RNN(1, 10, nonlinearity="sigmoid")
    assert rnnlab.Elman(1, 10, nonlinearity="sigmoid").nonlinearity == "sigmoid"


# name: (arguments, torch.nn's exception or None where torch.nn accepts, rnnlab's exception,
# rnnlab's message)
CONSTRUCTION_ERRORS = {
    "hidden_size=0": (
        dict(args=(10, 0, 1)),
        ValueError,
        ValueError,
        "hidden_size must be >= 1; got 0",
    ),
    "num_layers=0": (
        dict(args=(10, 10, 0)),
        ValueError,
        ValueError,
        "num_layers must be >= 1; got 0",
    ),
    "bias=0": (
        dict(bias=0),
        TypeError,
        TypeError,
        "bias must be a bool (True or False); got int 0",
    ),
    "bias=1": (
        dict(bias=1),
        TypeError,
        TypeError,
        "bias must be a bool (True or False); got int 1",
    ),
    "bias='True'": (dict(bias="True"), TypeError, TypeError, "bias must be a bool (True or False)"),
    "batch_first=0": (dict(batch_first=0), TypeError, TypeError, "batch_first must be a bool"),
    "batch_first=1": (dict(batch_first=1), TypeError, TypeError, "batch_first must be a bool"),
    "batch_first='False'": (
        dict(batch_first="False"),
        TypeError,
        TypeError,
        "batch_first must be a bool",
    ),
    "input_size=3.0": (
        dict(args=(3.0, 5)),
        TypeError,
        TypeError,
        "input_size must be an int >= 1; got float 3.0",
    ),
    "input_size='10'": (
        dict(args=("10", 5)),
        TypeError,
        TypeError,
        "input_size must be an int >= 1; got str '10'",
    ),
    "input_size=0": (dict(args=(0, 5)), ValueError, ValueError, "input_size must be >= 1; got 0"),
    "input_size=-1": (
        dict(args=(-1, 5)),
        ValueError,
        ValueError,
        "input_size must be >= 1; got -1",
    ),
    "hidden_size=5.0": (
        dict(args=(3, 5.0)),
        TypeError,
        TypeError,
        "hidden_size must be an int >= 1; got float",
    ),
    "dropout=1.5": (
        dict(num_layers=2, dropout=1.5),
        ValueError,
        ValueError,
        "dropout must be a number in [0, 1]",
    ),
    "dropout=-0.1": (
        dict(num_layers=2, dropout=-0.1),
        ValueError,
        ValueError,
        "dropout must be a number in [0, 1]",
    ),
    "dropout=True": (
        dict(num_layers=2, dropout=True),
        ValueError,
        TypeError,
        "dropout must be a number in [0, 1]; got bool True",
    ),
    # torch.nn accepts these two; rnnlab refuses them.
    "bidirectional=1": (
        dict(bidirectional=1),
        None,
        TypeError,
        "bidirectional must be a bool (True or False)",
    ),
    "num_layers=True": (
        dict(num_layers=True),
        None,
        TypeError,
        "num_layers must be an int >= 1; got bool True",
    ),
}


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
@pytest.mark.parametrize("case", CONSTRUCTION_ERRORS)
def test_bad_arguments_are_refused_as_torch_refuses_them(case, kind):
    """common_modules.py::module_error_inputs_torch_nn_RNN_GRU (construction errors), for the
    LSTM too: each bad argument is an error in both libraries, and rnnlab's names expected vs
    got. rnnlab is stricter where torch.nn lets a non-bool or a bool size through."""
    options, torch_error, our_error, message = CONSTRUCTION_ERRORS[case]
    options = dict(options)
    args = options.pop("args", (3, 5))
    ours, theirs, extra = TWINS[kind]
    with pytest.raises(our_error, match=re.escape(message)):
        ours(*args, **extra, **options)
    if torch_error is None:
        theirs(*args, **extra, **options)
    else:
        with pytest.raises(torch_error):
            theirs(*args, **extra, **options)


def test_dropout_with_one_layer_is_an_error_not_a_warning():
    """torch.nn warns that dropout with num_layers=1 does nothing; rnnlab refuses it (an
    accepted-but-ignored argument), and accepts torch.nn's whole range [0, 1] otherwise."""
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 5, dropout=0.5)
    with pytest.raises(ValueError, match=re.escape("needs num_layers >= 2; got dropout=0.5")):
        rnnlab.GRU(3, 5, dropout=0.5)
    assert rnnlab.GRU(3, 5, 2, dropout=1).dropout == nn.GRU(3, 5, 2, dropout=1).dropout == 1.0


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
def test_input_dtype_must_match_the_parameters(kind):
    """module_error_inputs_torch_nn_RNN_GRU (dtype mismatch): both refuse a float64 x for
    float32 weights and say how to convert; rnnlab raises a TypeError, torch.nn a ValueError."""
    ours, theirs, extra = TWINS[kind]
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=re.escape("convert one (x.to(torch.float32)")):
        ours(3, 5, **extra)(x)
    with pytest.raises(ValueError, match="does not match weight dtype"):
        theirs(3, 5, batch_first=True, **extra)(x)


@pytest.mark.parametrize("ours", [rnnlab.Elman, rnnlab.GRU])
def test_proj_size_is_only_for_the_lstm(ours):
    """test_nn.py::TestNN::test_projections_errors_on_gru_and_rnn."""
    with pytest.raises(TypeError, match="proj_size"):
        ours(30, 20, 2, proj_size=10)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(30, 20, 2, proj_size=10)


@pytest.mark.parametrize(
    ("proj_size", "error", "message"),
    [
        (5, ValueError, "proj_size must be smaller than hidden_size (5)"),
        (6, ValueError, "proj_size must be smaller than hidden_size (5)"),
        (-1, ValueError, "proj_size must be >= 0; got -1"),
        (1.0, TypeError, "proj_size must be an int >= 0; got float 1.0"),
    ],
)
def test_proj_size_follows_torchs_rule(proj_size, error, message):
    """nn.LSTM: 0 <= proj_size < hidden_size, an int (torch.nn's construction errors)."""
    with pytest.raises(error, match=re.escape(message)):
        rnnlab.LSTM(3, 5, proj_size=proj_size)
    with pytest.raises((ValueError, TypeError)):
        nn.LSTM(3, 5, proj_size=proj_size)


# -- shapes of inputs and states ----------------------------------------------------------------

SHAPE_ERRORS = ["x batch", "state batch", "x features", "state features", "state layers"]
ARGS_CASES = [
    (kind, where, part)
    for kind in TWINS
    for where in SHAPE_ERRORS
    for part in ((0, 1) if kind.startswith("lstm") and where.startswith("state") else (0,))
]


@pytest.mark.parametrize(("kind", "where", "part"), ARGS_CASES)
def test_wrong_shapes_are_refused_as_torch_refuses_them(kind, where, part):
    """test_nn.py::TestNN::test_rnn_args_check and test_projections_lstm_args_check: a wrong
    batch, feature or layer count in x or in either part of the state (h or c; for a projected
    LSTM, h of size H instead of P too) fails in both libraries; rnnlab names both shapes."""
    layer, reference = twins(kind, num_layers=2)
    bad = 7  # a prime, so no size divides it
    x = torch.randn(B, T, I, dtype=DTYPE)
    state = [p.clone() for p in parts(layer.initial_state(B))]
    if where == "x batch":
        x = torch.randn(bad, T, I, dtype=DTYPE)
    elif where == "x features":
        x = torch.randn(B, T, bad, dtype=DTYPE)
    else:
        axis = {"state layers": 0, "state batch": 1, "state features": 2}[where]
        shape = list(state[part].shape)
        shape[axis] = bad
        state[part] = torch.zeros(shape, dtype=DTYPE)
    state = tuple(state) if len(state) == 2 else state[0]
    with pytest.raises(ValueError, match=r"must have shape .*; got"):
        layer(x, state)
    with pytest.raises(RuntimeError):
        reference(x, state)


def test_a_projected_lstm_refuses_h_of_the_hidden_size():
    """test_projections_lstm_args_check ("proj size = hidden size"): h must be P wide."""
    layer, reference = twins("lstm_proj")
    x = torch.randn(B, T, I, dtype=DTYPE)
    state = (torch.zeros(1, B, H, dtype=DTYPE), torch.zeros(1, B, H, dtype=DTYPE))
    with pytest.raises(ValueError, match=re.escape(f"state h must have shape (L*D, B, {P})")):
        layer(x, state)
    with pytest.raises(RuntimeError):
        reference(x, state)


@pytest.mark.parametrize("kind", TWINS)
def test_unbatched_input_is_an_error_and_unsqueeze_gives_torchs_numbers(kind):
    """common_modules.py::module_inputs_torch_nn_RNN_GRU / _LSTM (no-batch-dim samples):
    torch.nn takes one sequence as (T, I); rnnlab refuses it (a deliberate difference) and
    says to add the batch axis, which gives torch.nn's unbatched results."""
    layer, reference = twins(kind, input_size=2, hidden_size=3, num_layers=2, bidirectional=True)
    x = torch.randn(4, 2, dtype=DTYPE)
    with pytest.raises(ValueError, match=re.escape("pass x.unsqueeze(0)")):
        layer(x)
    state = random_state(layer, 1)
    unbatched = tuple(p[:, 0] for p in parts(state))  # (L*D, size): torch.nn's unbatched state
    want_outputs, want_final = reference(x, unbatched if len(unbatched) == 2 else unbatched[0])
    outputs, final = layer(x.unsqueeze(0), state)
    assert_all_close(
        [outputs[0], *(p[:, 0] for p in parts(final))], [want_outputs, *parts(want_final)]
    )


def test_a_packed_sequence_is_an_error_that_says_to_pad_it():
    """rnnlab takes lengths, not PackedSequence (a deliberate difference)."""
    layer = rnnlab.GRU(I, H)
    packed = pack_padded_sequence(
        torch.randn(B, T, I), LENGTHS, batch_first=True, enforce_sorted=False
    )
    with pytest.raises(TypeError, match=re.escape("pad_packed_sequence(packed, batch_first=True)")):
        layer(packed)


def test_the_state_argument_is_state_not_hx():
    """torch.nn's forward calls the state hx; rnnlab calls it state (DESIGN's one name), so hx=
    is an error, and the state passed positionally works in both."""
    layer, reference = twins("gru")
    x = torch.randn(B, T, I, dtype=DTYPE)
    state = random_state(layer, B)
    with pytest.raises(TypeError, match="hx"):
        layer(x, hx=state)
    assert_all_close(layer(x, state), reference(x, state))


# -- values and gradients against torch.nn ------------------------------------------------------


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("path", ["reference", "auto"])
def test_projected_lstm_matches_torch_nn(path, num_layers, bidirectional, bias, lengths):
    """nn.LSTM(proj_size=P): outputs, final (h, c) and the gradients of x, of both state parts
    and of every parameter (weight_hr_l* included) agree with torch.nn to 1e-10, with variable
    lengths compared against torch's packed sequences (test_nn.py's _test_RNN_cpu_vs_cudnn,
    "checking LSTM with projections", whose reference is torch's CPU LSTM)."""
    layer, reference = twins(
        "lstm_proj", num_layers=num_layers, bidirectional=bidirectional, bias=bias, path=path
    )
    x = torch.randn(B, T, I, dtype=DTYPE)
    state = tuple(random_state(layer, B))
    assert tuple(state[0].shape)[-1] == P and tuple(state[1].shape)[-1] == H
    expected = values_and_gradients(reference, run_torch, x, state, lengths, seed=1)
    got = values_and_gradients(layer, run_rnnlab, x, state, lengths, seed=1)
    assert expected.keys() == got.keys()
    assert any("weight_hr" in name for name in got)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=TOL, rtol=0, msg=name)


def test_projected_lstm_second_derivatives_match_torch_nn():
    """DESIGN: every path computes the same function to every order; a Hessian-vector product
    through a projected LSTM (the reference loop serves it) agrees with torch.nn's."""
    layer, reference = twins("lstm_proj", num_layers=2, bidirectional=True)
    x = torch.randn(B, T, I, dtype=DTYPE, requires_grad=True)

    def hessian_vector_product(module):
        outputs = module(x)[0]
        grads = torch.autograd.grad(
            outputs.pow(2).sum(), list(module.parameters()), create_graph=True
        )
        return torch.autograd.grad(sum(g.pow(2).sum() for g in grads), x)  # fmt: skip

    assert_all_close(hessian_vector_product(layer), hessian_vector_product(reference))


def test_projected_lstm_runs_on_the_reference_loop_and_path_fast_says_so():
    """The kernels have no projection: "auto" falls back to the reference loop (and never to
    torch's fused LSTM), "fast" is an error naming the projection."""
    layer, _ = twins("lstm_proj")
    assert layer.fast_path_name(batch_size=1) == "reference"
    assert not layer._has_fused_kernel(1)
    layer.path = "fast"
    with pytest.raises(ValueError, match=re.escape("the fast kernels have no projection")):
        layer(torch.randn(B, T, I, dtype=DTYPE))


def test_record_of_a_projected_lstm_keeps_the_projected_h():
    """record(): trace.hidden is the projected h (L*D, B, T, P), the cell and gates are H wide,
    and h_t = (o_t * tanh(c_t)) W_hr^T."""
    layer, reference = twins("lstm_proj", num_layers=2, bidirectional=True)
    x = torch.randn(B, T, I, dtype=DTYPE)
    trace = layer.record(x)
    assert tuple(trace.hidden.shape) == (4, B, T, P)
    assert tuple(trace.cell.shape) == (4, B, T, H)
    assert tuple(trace.gates.shape) == (4, B, T, 4, H)
    o, c = trace.gates[0, :, :, 3], trace.cell[0]
    projected = (o * torch.tanh(c)) @ layer.weight_hr_l0.T
    torch.testing.assert_close(trace.hidden[0], projected, atol=1e-12, rtol=0)
    top = torch.cat([trace.hidden[2], trace.hidden[3]], dim=-1)
    torch.testing.assert_close(top, reference(x)[0], atol=TOL, rtol=0)


def _noncontiguous(tensor: torch.Tensor) -> torch.Tensor:
    """The same values in a tensor whose last axis has stride 2."""
    return torch.stack([torch.zeros_like(tensor), tensor], dim=-1)[..., 1]


@pytest.mark.parametrize("dropout", [0.0, 1.0])
@pytest.mark.parametrize("inputs", ["contiguous", "noncontiguous", "lengths", "lengths tensor"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", TWINS)
def test_weights_copied_through_all_weights_give_torchs_results(
    kind, bias, bidirectional, inputs, dropout
):
    """test_nn.py::TestNN::_test_RNN_cpu_vs_cudnn (test_RNN_cpu_vs_cudnn_no_dropout and
    _with_dropout): torch copies weights layer by layer through all_weights, runs two layers
    with dropout 0 or 1 (the two deterministic values) in training mode, on contiguous and
    non-contiguous inputs and on variable lengths, and compares outputs, final states and all
    gradients; here the second implementation is rnnlab."""
    ours, theirs, extra = TWINS[kind]
    options = dict(bias=bias, dropout=dropout, bidirectional=bidirectional, **extra)
    if kind == "lstm_proj":
        options["proj_size"] = 3
    torch.manual_seed(0)
    reference = theirs(10, 6, 2, batch_first=True, **options).to(DTYPE)
    layer = ours(10, 6, 2, dtype=DTYPE, **options)
    torch.manual_seed(1)
    layer.reset_parameters()  # different weights, which the copy must overwrite
    with torch.no_grad():
        for mine, theirs_weights in zip(layer.all_weights, reference.all_weights, strict=True):
            for weight, value in zip(mine, theirs_weights, strict=True):
                weight.copy_(value)

    generator = torch.Generator().manual_seed(2)
    x = torch.randn(6, 7, 10, dtype=DTYPE, generator=generator)
    state = parts(random_state(layer, 6, generator))
    if inputs == "noncontiguous":
        x, state = _noncontiguous(x), tuple(_noncontiguous(p) for p in state)
        assert not x.is_contiguous()
    lengths = {"lengths": [7, 5, 5, 2, 1, 1], "lengths tensor": torch.tensor([7, 5, 5, 2, 1, 1])}
    lengths = lengths.get(inputs)

    def run(module, is_torch):
        x_ = x.clone().requires_grad_()
        state_ = tuple(p.clone().requires_grad_() for p in state)
        given = state_ if len(state_) == 2 else state_[0]
        if is_torch and lengths is not None:
            packed, final = module(pack_padded_sequence(x_, lengths, batch_first=True), given)
            outputs = pad_packed_sequence(packed, batch_first=True, total_length=7)[0]
        else:
            outputs, final = module(x_, given, lengths) if not is_torch else module(x_, given)
        g = torch.Generator().manual_seed(3)
        loss = (outputs * torch.randn(outputs.shape, dtype=DTYPE, generator=g)).sum()
        for part in parts(final):
            loss = loss + (part * torch.randn(part.shape, dtype=DTYPE, generator=g)).sum()
        weights = [w for layer_weights in module.all_weights for w in layer_weights]
        grads = torch.autograd.grad(loss, [x_, *state_, *weights])
        return [outputs, *parts(final), *grads]

    assert_all_close(run(layer, False), run(reference, True))


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_cell_steps_match_torch_cells(kind, bias):
    """test_nn.py::TestNN::test_RNN_cell (and the LSTMCell variant): six steps from a given
    state, and from the default (zero) state, agree with torch.nn's cells in value and in the
    gradients of the input, the initial state and every parameter."""
    ours, theirs, extra = {
        "rnn_tanh": (rnnlab.ElmanCell, nn.RNNCell, {"nonlinearity": "tanh"}),
        "rnn_relu": (rnnlab.ElmanCell, nn.RNNCell, {"nonlinearity": "relu"}),
        "gru": (rnnlab.GRUCell, nn.GRUCell, {}),
        "lstm": (rnnlab.LSTMCell, nn.LSTMCell, {}),
    }[kind]
    torch.manual_seed(0)
    reference = theirs(10, 20, bias=bias, **extra).to(DTYPE)
    cell = ours(10, 20, bias=bias, dtype=DTYPE, **extra)
    cell.load_state_dict(reference.state_dict())
    x_t = torch.randn(3, 10, dtype=DTYPE, requires_grad=True)
    lstm = kind == "lstm"
    given = [torch.randn(3, 20, dtype=DTYPE, requires_grad=True) for _ in range(2 if lstm else 1)]

    def run(module, start, is_torch):
        state = (tuple(start) if lstm else start[0]) if start is not None else None
        if state is None and not is_torch:
            state = module.initial_state(3)
        for _ in range(6):
            if is_torch:
                state = module(x_t, state)
            else:
                state = module(x_t, rnnlab.LSTMState(*state) if lstm else state)[1]
        h = state[0] if lstm else state
        loss = h.sum() + (state[1].sum() if lstm else 0)
        inputs = [x_t, *(start or []), *module.parameters()]
        return [h, *torch.autograd.grad(loss, inputs)]

    assert_all_close(run(cell, given, False), run(reference, given, True))
    assert_all_close(run(cell, None, False), run(reference, None, True))


CELL_TWINS = {
    "rnn": (rnnlab.ElmanCell, nn.RNNCell),
    "gru": (rnnlab.GRUCell, nn.GRUCell),
    "lstm": (rnnlab.LSTMCell, nn.LSTMCell),
}


@pytest.mark.parametrize(
    ("input_size", "hidden_size", "batch_size"), [(3, 0, 2), (0, 3, 2), (0, 0, 2), (3, 4, 0)]
)
@pytest.mark.parametrize("kind", CELL_TWINS)
def test_cells_of_zero_size_and_batches_of_zero_rows_work_as_in_torch(
    kind, input_size, hidden_size, batch_size
):
    """TestNNDeviceType::test_RNN_cell_forward_zero_hidden_size (and input_size 0, and a batch
    of no rows, which torch.nn's cells accept): the same parameter shapes, the same values
    (bias terms alone when there is no input), and gradients that flow."""
    ours, theirs = CELL_TWINS[kind]
    torch.manual_seed(0)
    reference = theirs(input_size, hidden_size).to(DTYPE)
    cell = ours(input_size, hidden_size, dtype=DTYPE)
    cell.load_state_dict(reference.state_dict())
    x_t = torch.randn(batch_size, input_size, dtype=DTYPE, requires_grad=True)
    state = cell.initial_state(batch_size)
    want = reference(x_t, tuple(state) if kind == "lstm" else state)
    _, got = cell(x_t, state)
    want, got = parts(want), parts(got)
    assert_all_close(got, want)
    grads = torch.autograd.grad(sum(g.sum() for g in got), [x_t, *cell.parameters()])
    want_grads = torch.autograd.grad(sum(w.sum() for w in want), [x_t, *reference.parameters()])
    assert_all_close(grads, want_grads)


CELL_SHAPE_CASES = [
    (kind, where, part)
    for kind in CELL_TWINS
    for where in ["state batch", "state size", "x size", "x dims", "x unbatched"]
    for part in ((0, 1) if kind == "lstm" and where.startswith("state") else (0,))
]


@pytest.mark.parametrize(("kind", "where", "part"), CELL_SHAPE_CASES)
def test_cells_do_not_broadcast(kind, where, part):
    """test_nn.py::TestNN::test_RNN_cell_no_broadcasting and common_modules.py's
    module_error_inputs_torch_nn_RNN_GRU_Cell / _LSTMCell: a state of batch 1 against an input of
    batch 3, a state of size 1 against 20, an input of size 1 against 10, or a 3-D input all fail
    in both libraries. An unbatched 1-D input, which torch.nn accepts, is refused by rnnlab."""
    ours, theirs = CELL_TWINS[kind]
    cell, reference = ours(10, 20), theirs(10, 20)
    x_t = torch.randn(3, 10)
    state = [torch.randn(3, 20) for _ in range(2 if kind == "lstm" else 1)]
    if where == "state batch":
        state[part] = torch.randn(1, 20)
    elif where == "state size":
        state[part] = torch.randn(3, 1)
    elif where == "x size":
        x_t = torch.randn(3, 1)
    elif where == "x dims":
        x_t = torch.randn(1, 3, 10)
    else:
        x_t, state = torch.randn(10), [torch.randn(20) for _ in state]
    theirs_state = tuple(state) if kind == "lstm" else state[0]
    ours_state = rnnlab.LSTMState(*state) if kind == "lstm" else state[0]
    with pytest.raises(ValueError, match=r"must have shape .*; got"):
        cell(x_t, ours_state)
    if where == "x unbatched":
        reference(x_t, theirs_state)  # torch.nn accepts it
    else:
        with pytest.raises((RuntimeError, ValueError)):
            reference(x_t, theirs_state)


# -- empty batches, no steps --------------------------------------------------------------------


def _jordan(**options):
    return rnnlab.Jordan(I, H, 2, dtype=DTYPE, **options)


@pytest.mark.parametrize("lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("path", ["reference", "fast", "auto"])
@pytest.mark.parametrize("kind", [*TWINS, "jordan"])
def test_a_batch_of_no_sequences_gives_empty_results(kind, path, bidirectional, lengths):
    """test_nn.py::TestNN::test_RNN_input_size_zero (a batch of zero sequences): outputs
    (0, T, D*H) and a state (L*D, 0, H), as torch.nn returns, whose backward works and gives
    zero gradients to every parameter (torch.nn's too), on every path (B = 0 is handled before
    the kernels are chosen, so even path='fast' with a projection serves it); record() gives
    empty traces."""
    options = dict(num_layers=2, bidirectional=bidirectional, path=path)
    if kind == "jordan":
        layer, reference = _jordan(**options), None
    else:
        layer, reference = twins(kind, **options)
    x = torch.zeros(0, T, I, dtype=DTYPE, requires_grad=True)
    outputs, state = layer(x, lengths=torch.zeros(0, dtype=torch.long) if lengths else None)
    D = 2 if bidirectional else 1
    width = layer.output_size_per_direction
    assert tuple(outputs.shape) == (0, T, D * width)
    assert [tuple(p.shape)[:2] for p in parts(state)] == [(2 * D, 0)] * len(parts(state))
    loss = outputs.sum() + sum(p.sum() for p in parts(state))
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    assert tuple(grads[0].shape) == (0, T, I)
    assert all(g.abs().max() == 0 for g in grads[1:])
    if reference is not None:
        want_outputs, want_state = reference(x)
        assert outputs.shape == want_outputs.shape
        assert [p.shape for p in parts(state)] == [p.shape for p in parts(want_state)]
        want_loss = want_outputs.sum() + sum(p.sum() for p in parts(want_state))
        assert_all_close(grads, torch.autograd.grad(want_loss, [x, *reference.parameters()]))
    trace = layer.record(x)
    assert all(field.shape[:3] == (2 * D, 0, T) for field in trace)


@pytest.mark.parametrize("kind", TWINS)
def test_a_sequence_of_no_steps_is_refused_as_in_torch(kind):
    """TestNN::test_error_RNN_seq_len_zero: torch.nn refuses T = 0, and so does rnnlab."""
    layer, reference = twins(kind, bidirectional=True)
    x = torch.ones(10, 0, I, dtype=DTYPE)
    with pytest.raises(ValueError, match=re.escape("at least one step, T >= 1; got shape")):
        layer(x)
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        reference(x)


# -- states, lengths, dropout ---------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", TWINS)
def test_a_zero_state_is_the_default_state(kind, bidirectional):
    """test_nn.py::TestNN::test_rnn_initial_hidden_state and
    test_projections_lstm_initial_hidden_state: zeros given = no state given, and both are
    torch.nn's results."""
    layer, reference = twins(kind, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(B, T, I, dtype=DTYPE)
    zeros = layer.initial_state(B)
    assert all(p.abs().max() == 0 for p in parts(zeros))
    default, given = layer(x), layer(x, zeros)
    assert_all_close([default[0], *parts(default[1])], [given[0], *parts(given[1])], tol=0)
    want = reference(x)
    assert_all_close([default[0], *parts(default[1])], [want[0], *parts(want[1])])


@pytest.mark.parametrize("kind", TWINS)
def test_each_sequence_of_a_padded_batch_is_computed_as_if_alone(kind):
    """TestNNDeviceType::test_variable_sequence: a bidirectional two-layer network over a
    padded batch gives, for each sequence, what it gives that sequence alone (rnnlab and
    torch.nn, unpadded): outputs, zeros after the end, final states and input gradients."""
    layer, reference = twins(kind, num_layers=2, bidirectional=True)
    lengths = [6, 6, 4, 2, 2, 1, 1]
    x = torch.randn(len(lengths), T, I, dtype=DTYPE, requires_grad=True)
    weights = torch.randn(len(lengths), T, 2 * layer.output_size_per_direction, dtype=DTYPE)
    outputs, final = layer(x, lengths=torch.tensor(lengths))
    (grad_x,) = torch.autograd.grad((outputs * weights).sum(), x)
    for b, n in enumerate(lengths):
        alone = x[b : b + 1, :n].detach().requires_grad_()
        for module in (layer, reference):
            want_outputs, want_final = module(alone)
            (want_grad,) = torch.autograd.grad((want_outputs * weights[b : b + 1, :n]).sum(), alone)
            torch.testing.assert_close(outputs[b : b + 1, :n], want_outputs, atol=TOL, rtol=0)
            for got, want in zip(parts(final), parts(want_final)):
                torch.testing.assert_close(got[:, b : b + 1], want, atol=TOL, rtol=0)
            torch.testing.assert_close(grad_x[b : b + 1, :n], want_grad, atol=TOL, rtol=0)
        assert torch.all(outputs[b, n:] == 0) and torch.all(grad_x[b, n:] == 0)


@pytest.mark.parametrize("path", ["reference", "fast"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
def test_dropout_acts_between_layers_in_closed_form(p, train, path):
    """test_nn.py::TestNN::test_RNN_dropout: ten inputs of 1 into two relu layers of 1,000
    units with every weight 1 and no bias give 10 in every unit of layer 0 and 10,000 at the
    top; dropout p between them zeroes units of layer 0 and scales the rest by 1 / (1 - p), so
    the top is 0 for p = 1 and a multiple of 10 / (1 - p) near 10,000 otherwise."""
    layer = rnnlab.Elman(10, 1000, 2, "relu", False, dropout=p, dtype=DTYPE, path=path)
    layer.train(train)
    with torch.no_grad():
        for weight in layer.parameters():
            weight.fill_(1)
    with torch.no_grad():
        outputs, state = layer(
            torch.ones(1, 1, 10, dtype=DTYPE), torch.zeros(2, 1, 1000, dtype=DTYPE)
        )
    assert outputs.min() == outputs.max()
    top = float(outputs[0, 0, 0])
    if p == 0 or not train:
        assert top == 10000
    elif p == 1:
        assert top == 0
    else:
        assert 8000 < top < 12000
        kept = top * (1 - p) / 10
        assert abs(kept - round(kept)) < 1e-6
    assert state[0].min() == state[0].max() == 10
    assert state[1].min() == state[1].max() == top


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("p", [0, 0.1234])
def test_dropout_draws_fresh_masks_and_survives_a_state_dict_round_trip(p, train):
    """test_nn.py::TestNN::test_RNN_dropout_state: two calls agree exactly when dropout is off
    (p = 0 or eval mode) and differ when it is on; a copy saved and loaded (then
    flatten_parameters(), which rnnlab accepts and needs not) behaves the same way."""
    torch.manual_seed(0)
    layer = rnnlab.Elman(100, 100, 2, "relu", False, dropout=p).train(train)
    x, state = torch.rand(1, 1, 100), torch.rand(2, 1, 100)
    first, second = layer(x, state), layer(x, state)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    copy = rnnlab.Elman(100, 100, 2, "relu", False, dropout=p).train(train)
    copy.load_state_dict(torch.load(buffer, weights_only=True))
    copy.flatten_parameters()
    third = copy(x, state)
    for other in (second, third):
        same = all(torch.equal(a, b) for a, b in zip(first, other))
        assert same == (p == 0 or not train)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_changing_dropout_after_construction_takes_effect(train):
    """test_nn.py::TestNN::test_RNN_change_dropout: setting ``layer.dropout`` between calls
    changes the next call (deterministic for p = 0 and p = 1, random in between, no effect in
    eval mode), as torch.nn's attribute does."""
    torch.manual_seed(0)
    layer = rnnlab.Elman(100, 100, 2, "relu", dropout=0).train(train)
    x = torch.rand(2, 3, 100)
    previous = None
    for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
        layer.dropout = p
        first, second = layer(x), layer(x)
        same = all(torch.equal(a, b) for a, b in zip(first, second))
        assert same == (p in (0, 1) or not train)
        if previous is not None:
            assert torch.equal(first[0], previous) == (not train)
        previous = first[0]


LAYERS = {
    **{kind: (lambda kind=kind, **kw: twins(kind, **kw)[0]) for kind in TWINS},
    "jordan": _jordan,
    "lstm_peephole": lambda **kw: rnnlab.LSTM(I, H, peephole=True, dtype=DTYPE, **kw),
}


# path='fast' cannot serve a projected LSTM (tested above).
RETAIN_CASES = [
    (kind, path)
    for kind in LAYERS
    for path in ("reference", "fast")
    if (kind, path) != ("lstm_proj", "fast")
]


@pytest.mark.parametrize(("kind", "path"), RETAIN_CASES)
def test_the_graph_can_be_walked_back_again(kind, path):
    """test_nn.py::TestNN::test_rnn_retain_variables: with retain_graph, backward through the
    same outputs three times gives the same gradients each time (the kernels keep what their
    backward needs), equal to torch.nn's where there is a twin."""
    layer = LAYERS[kind](num_layers=2, bidirectional=True, path=path)
    x = torch.randn(B, T, I, dtype=DTYPE, requires_grad=True)
    outputs = layer(x)[0]
    inputs = [x, *layer.parameters()]
    first = torch.autograd.grad(outputs.sum(), inputs, retain_graph=True)
    for _ in range(2):
        assert_all_close(torch.autograd.grad(outputs.sum(), inputs, retain_graph=True), first, 0)
    if kind in TWINS:
        _, reference = twins(kind, num_layers=2, bidirectional=True)
        want = torch.autograd.grad(reference(x)[0].sum(), [x, *reference.parameters()])
        assert_all_close(first, want)


WEIGHT_NORM = [("lstm", "weight_hh_l0"), ("lstm_proj", "weight_hr_l0"), ("gru", "weight_hh_l1")]


@pytest.mark.parametrize("path", ["reference", "auto"])
@pytest.mark.parametrize(("kind", "name"), WEIGHT_NORM)
def test_weight_norm_reparametrizes_a_weight_as_in_torch(kind, name, path):
    """test_nn.py::TestNN::test_RNN_cudnn_weight_norm (and test_rnn_weight_norm): weight norm
    on weight_hh_l0 (weight_hr_l0 with a projection) leaves the outputs unchanged, and
    outputs and the gradients of g and v agree with torch.nn's weight-normed layer."""
    layer, reference = twins(kind, num_layers=2, path=path)
    x = torch.randn(B, T, I, dtype=DTYPE)
    before = layer(x)[0]
    parametrizations.weight_norm(layer, name=name)
    parametrizations.weight_norm(reference, name=name)
    outputs, want = layer(x)[0], reference(x)[0]
    torch.testing.assert_close(outputs, before, atol=TOL, rtol=0)
    torch.testing.assert_close(outputs, want, atol=TOL, rtol=0)
    ours, theirs = dict(layer.named_parameters()), dict(reference.named_parameters())
    assert ours.keys() == theirs.keys()
    assert f"parametrizations.{name}.original0" in ours
    grads = torch.autograd.grad(outputs.sum(), list(ours.values()))
    want_grads = torch.autograd.grad(want.sum(), list(theirs.values()))
    assert_all_close(grads, want_grads)


@pytest.mark.parametrize("kind", TWINS)
def test_a_parameter_tied_across_directions_trains_as_in_torch(kind):
    """test_nn.py::TestNN::test_cudnn_weight_tying: one Parameter as both directions'
    bias_ih_l0; an SGD step on the sum of outputs changes it once, as in torch.nn, and the
    next outputs agree."""
    layer, reference = twins(kind, bidirectional=True)
    x = torch.randn(B, T, I, dtype=DTYPE)
    for module in (layer, reference):
        module.bias_ih_l0_reverse = module.bias_ih_l0
        assert module.bias_ih_l0_reverse is module.bias_ih_l0
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        module(x)[0].sum().backward()
        optimizer.step()
    assert len(list(layer.parameters())) == len(list(reference.parameters()))
    assert_all_close(list(layer.parameters()), list(reference.parameters()))
    assert_all_close([layer(x)[0]], [reference(x)[0]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("kind", TWINS)
def test_x_state_and_parameters_must_share_a_device(kind):
    """test_nn.py::TestNN::test_rnn_check_device: an input, or a state, on another device than
    the parameters is an error in both libraries."""
    layer, reference = twins(kind)
    x = torch.randn(B, T, I, dtype=DTYPE)
    with pytest.raises((TypeError, RuntimeError)):
        layer(x.cuda())
    with pytest.raises(RuntimeError):
        reference(x.cuda())
    state = layer.initial_state(B)
    cuda_state = (
        type(state)(*(p.cuda() for p in state)) if isinstance(state, tuple) else state.cuda()
    )
    with pytest.raises(TypeError, match="must match x's dtype and device"):
        layer(x, cuda_state)


# -- torch.nn.RNNBase's remaining interface -----------------------------------------------------


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", TWINS)
def test_all_weights_lists_parameters_in_torchs_order(kind, bidirectional, bias):
    """torch.nn.RNNBase.all_weights: one list per layer and direction (index layer * D +
    direction), each [w_ih, w_hh, b_ih, b_hh(, w_hr)]; the same shapes and values as torch.nn's
    after a state-dict load, and the layer's own Parameter objects."""
    layer, reference = twins(kind, num_layers=2, bidirectional=bidirectional, bias=bias)
    ours, theirs = layer.all_weights, reference.all_weights
    assert [[tuple(w.shape) for w in ws] for ws in ours] == [
        [tuple(w.shape) for w in ws] for ws in theirs
    ]
    assert_all_close([w for ws in ours for w in ws], [w for ws in theirs for w in ws], 0)
    assert ours[-1][0] is getattr(layer, "weight_ih_l1" + ("_reverse" if bidirectional else ""))
    assert all(isinstance(w, nn.Parameter) for ws in ours for w in ws)


def test_flatten_parameters_is_a_harmless_no_op():
    """torch.nn.RNNBase.flatten_parameters: rnnlab keeps no cuDNN buffer, so the call does
    nothing and returns None; parameters and results are unchanged."""
    layer, reference = twins("lstm", num_layers=2)
    x = torch.randn(B, T, I, dtype=DTYPE)
    before = {name: p.clone() for name, p in layer.state_dict().items()}
    assert layer.flatten_parameters() is None and reference.flatten_parameters() is None
    assert all(torch.equal(before[name], p) for name, p in layer.state_dict().items())
    torch.testing.assert_close(layer(x)[0], reference(x)[0], atol=TOL, rtol=0)
