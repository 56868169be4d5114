"""Property-based tests of the layers' boundary: random shapes, dtypes, lengths, states and
memory layouts. The property: the default path returns what the reference path returns (values
and gradients), or the call raises a clear error of the documented kinds (TypeError or
ValueError with a message), never another exception.

The example counts come from the hypothesis profile (tests/conftest.py): small in CI, larger
behind the ``slow`` marker.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlab

FAMILIES = {
    "elman_tanh": lambda I, H, **kw: rnnlab.Elman(I, H, **kw),
    "elman_sigmoid": lambda I, H, **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
    "jordan": lambda I, H, **kw: rnnlab.Jordan(I, H, 2, **kw),
    "gru": lambda I, H, **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda I, H, **kw: rnnlab.LSTM(I, H, **kw),
    "lstm_peephole": lambda I, H, **kw: rnnlab.LSTM(I, H, peephole=True, **kw),
}
DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.int64]


@st.composite
def calls(draw):
    """A layer configuration and a call to it, valid or not."""
    family = draw(st.sampled_from(sorted(FAMILIES)))
    I, H = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    options = {"num_layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans())}
    B, T = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    x_dtype = draw(st.sampled_from(DTYPES))
    x_features = draw(st.sampled_from([I, I, I, I + 1]))  # mostly right
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided"]))
    lengths = draw(
        st.none()
        | st.lists(st.integers(0, T + 1), min_size=B, max_size=B)  # some out of [1, T]
        | st.lists(st.integers(1, T), min_size=max(B - 1, 0), max_size=B + 1)  # wrong count
    )
    state = draw(st.sampled_from(["none", "random", "wrong_batch", "wrong_type"]))
    seed = draw(st.integers(0, 2**16))
    return family, I, H, options, B, T, x_dtype, x_features, layout, lengths, state, seed


def make_x(B, T, features, dtype, layout, generator):
    values = torch.randn(B, T, features, dtype=torch.float64, generator=generator)
    if layout == "transposed":  # the same values, time-major in memory
        values = values.transpose(0, 1).contiguous().transpose(0, 1)
    elif layout == "strided":  # every other feature of a wider tensor
        wide = torch.randn(B, T, 2 * features, dtype=torch.float64, generator=generator)
        wide[..., ::2] = values
        values = wide[..., ::2]
    if dtype.is_floating_point:
        return values.to(dtype).requires_grad_()
    return values.to(dtype)


def make_state(layer, B, kind, dtype, generator):
    if kind == "none":
        return None
    if kind == "wrong_type":
        return [[0.0]]
    template = layer.initial_state(max(B, 1))
    parts = template if isinstance(template, tuple) else (template,)
    rows = B + 1 if kind == "wrong_batch" else B
    made = [
        torch.randn(p.shape[0], rows, p.shape[2], dtype=torch.float64, generator=generator)
        .to(dtype if dtype.is_floating_point else torch.float32)
        .requires_grad_()
        for p in parts
    ]
    return rnnlab.LSTMState(*made) if isinstance(template, tuple) else made[0]


def parts(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def outcome(family, I, H, options, B, T, x_dtype, x_features, layout, lengths, state, seed, path):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = FAMILIES[family](I, H, path=path, **options)
    x = make_x(B, T, x_features, x_dtype, layout, generator)
    initial = make_state(layer, B, state, x_dtype, generator)
    lengths = None if lengths is None else torch.tensor(lengths, dtype=torch.int64)
    try:
        outputs, final = layer(x, initial, lengths)
    except (TypeError, ValueError) as error:
        assert str(error), "an error without a message"
        return ("error", type(error))
    loss = outputs.sum() + sum((p**2).sum() for p in parts(final))
    inputs = [t for t in (x, *([] if initial is None else parts(initial))) if t.requires_grad]
    grads = torch.autograd.grad(loss, [*inputs, *layer.parameters()], allow_unused=True)
    return ("result", outputs.detach(), [p.detach() for p in parts(final)], grads)


def check(call):
    got = outcome(*call, path=None)
    want = outcome(*call, path="reference")
    assert got[0] == want[0], (got, want)
    if got[0] == "error":
        assert got[1] is want[1]
        return
    tolerance = 1e-5 if call[6] == torch.float32 else 1e-10
    if call[6] == torch.bfloat16:  # both run the reference unroll: the same operations
        tolerance = 0.0
    torch.testing.assert_close(got[1], want[1], atol=tolerance, rtol=tolerance)
    for g, w in zip(got[2], want[2]):
        torch.testing.assert_close(g, w, atol=tolerance, rtol=tolerance)
    for g, w in zip(got[3], want[3]):
        if w is None:
            assert g is None or not g.abs().any()
        else:
            torch.testing.assert_close(g, w, atol=tolerance * 10, rtol=tolerance * 10)


@given(calls())
def test_a_layer_call_is_the_reference_result_or_a_clear_error(call):
    check(call)


@pytest.mark.slow
@settings(settings.get_profile("slow"))
@given(calls())
def test_a_layer_call_is_the_reference_result_or_a_clear_error_many(call):
    check(call)
