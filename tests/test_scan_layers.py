"""rnnlab.MinGRU and rnnlab.MinLSTM: the parallel scan (the default path) against the
sequential reference loop (``path="reference"``) in values, gradients and second order, over
stacking, directions, lengths and ``record``; spec §6.3.1's float32 check at T = 2048."""

import itertools

import pytest
import torch
from torch.func import functional_call

import rnnlab
from tests.grids import split_grid

B, T, I, H = 3, 7, 2, 3
LENGTHS = torch.tensor([7, 1, 4])

FAMILIES = {
    "mingru": lambda **kw: rnnlab.MinGRU(I, H, **kw),
    "minlstm": lambda **kw: rnnlab.MinLSTM(I, H, **kw),
    "minlstm_no_norm": lambda **kw: rnnlab.MinLSTM(I, H, coefficient_norm=False, **kw),
}
SHAPES = {"L1": dict(num_layers=1), "L2bi": dict(num_layers=2, bidirectional=True),
          "L3": dict(num_layers=3)}  # fmt: skip


def pair(name: str, dtype=torch.float64, **shape):
    """The same weights on the scan and on the reference loop."""
    torch.manual_seed(0)
    fast = FAMILIES[name](dtype=dtype, **shape)
    reference = FAMILIES[name](dtype=dtype, path="reference", **shape)
    reference.load_state_dict(fast.state_dict())
    return fast, reference


GRID = [
    (name, shape, lengths, record)
    for name, shape, lengths, record in itertools.product(
        FAMILIES, SHAPES, [False, True], [False, True]
    )
]


@pytest.mark.parametrize(
    ("name", "shape", "with_lengths", "record"),
    split_grid(GRID, ["-".join(map(str, case)) for case in GRID]),
)
def test_scan_equals_the_reference_loop_in_values_and_gradients(name, shape, with_lengths, record):
    fast, reference = pair(name, **SHAPES[shape])
    assert fast.fast_path_name(B) == "parallel scan" and reference.fast_path_name(B) == "reference"
    LD = fast.num_layers * fast.num_directions
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    initial = torch.randn(LD, B, H, dtype=torch.float64, requires_grad=True)  # any sign
    lengths = LENGTHS if with_lengths else None
    results = []
    for layer in (fast, reference):
        if record:
            trace = layer.record(x, initial, lengths)
            values = tuple(trace)
        else:
            values = layer(x, initial, lengths)
        weights = [torch.randn(v.shape, dtype=v.dtype, generator=torch.Generator().manual_seed(k))
                   for k, v in enumerate(values)]  # fmt: skip
        loss = sum((w * v).sum() for w, v in zip(weights, values))
        grads = torch.autograd.grad(loss, (x, initial, *layer.parameters()))
        results.append((values, grads))
    (fast_values, fast_grads), (ref_values, ref_grads) = results
    for got, want in zip((*fast_values, *fast_grads), (*ref_values, *ref_grads)):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
    if with_lengths:  # zero past each end, in every layer and direction
        top = fast_values[0] if not record else fast_values[0].permute(1, 2, 0, 3)
        assert (top[1, 1:] == 0).all() and (top[2, 4:] == 0).all()


@pytest.mark.parametrize("name", ["mingru", pytest.param("minlstm", marks=pytest.mark.slow)])
def test_float32_at_2048_steps_agrees_with_the_loop_to_1e_4(name):
    """Spec 6.3.1: parallel vs sequential outputs agree to atol 1e-4 (float32, T = 2048);
    gradients too (relative to their size)."""
    fast, reference = pair(name, dtype=torch.float32)
    x = torch.randn(2, 2048, I, requires_grad=True)
    (out_fast, h_fast), (out_ref, h_ref) = fast(x), reference(x)
    torch.testing.assert_close(out_fast, out_ref, atol=1e-4, rtol=0)
    torch.testing.assert_close(h_fast, h_ref, atol=1e-4, rtol=0)
    weights = torch.randn(out_fast.shape)
    g_fast = torch.autograd.grad((weights * out_fast).sum(), (x, *fast.parameters()))
    g_ref = torch.autograd.grad((weights * out_ref).sum(), (x, *reference.parameters()))
    for got, want in zip(g_fast, g_ref):
        torch.testing.assert_close(got, want, atol=1e-4 * float(want.abs().max()), rtol=0)


def checkable(name: str, path: str, num_layers: int):
    """A small bidirectional layer, its parameters as inputs, and the call with lengths."""
    torch.manual_seed(0)
    layer = type(FAMILIES[name]())(
        I, 2, num_layers=num_layers, bidirectional=True, dtype=torch.float64, path=path
    )
    names, params = zip(
        *((n, p.detach().clone().requires_grad_()) for n, p in layer.named_parameters())
    )
    x = torch.randn(2, 5, I, dtype=torch.float64, requires_grad=True)
    initial = torch.randn(2 * num_layers, 2, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3])

    def function(x, initial, *tensors):
        return functional_call(layer, dict(zip(names, tensors)), (x, initial, lengths))

    return function, (x, initial, *params)


SMALL_BLOCKS = pytest.mark.usefixtures("small_blocks")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 2 steps and chunks of 4, so that 5 steps cross both kinds of boundary."""
    from rnnlab.kernels import scan

    monkeypatch.setattr(scan, "BLOCK_SIZE", 2)
    monkeypatch.setattr(scan, "CHUNK_SIZE", 4)


@SMALL_BLOCKS
@pytest.mark.parametrize(
    ("name", "path", "num_layers"),
    [
        ("mingru", "auto", 1),
        pytest.param("mingru", "auto", 2, marks=pytest.mark.slow),
        pytest.param("minlstm", "auto", 2, marks=pytest.mark.slow),
        pytest.param("mingru", "reference", 2, marks=pytest.mark.slow),
        pytest.param("minlstm", "reference", 2, marks=pytest.mark.slow),
    ],
)
def test_gradcheck_both_directions_lengths(name, path, num_layers):
    function, inputs = checkable(name, path, num_layers)
    assert torch.autograd.gradcheck(function, inputs)


@SMALL_BLOCKS
@pytest.mark.parametrize(
    ("name", "path", "num_layers"),
    [
        ("mingru", "auto", 1),
        pytest.param("minlstm", "auto", 1, marks=pytest.mark.slow),
        pytest.param("mingru", "auto", 2, marks=pytest.mark.slow),
        pytest.param("minlstm", "auto", 2, marks=pytest.mark.slow),
        pytest.param("mingru", "reference", 1, marks=pytest.mark.slow),
        pytest.param("minlstm", "reference", 1, marks=pytest.mark.slow),
    ],
)
def test_gradgradcheck(name, path, num_layers):
    """Numerical second derivatives (both directions, lengths); the default run keeps one
    family and one layer (the gradient-penalty test below covers the rest quickly)."""
    function, inputs = checkable(name, path, num_layers)
    assert torch.autograd.gradgradcheck(function, inputs)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_a_gradient_penalty_and_a_hessian_vector_product_match_the_reference(name):
    """Second order through the scan is autograd's own: never a silent constant."""
    fast, reference = pair(name, num_layers=2, bidirectional=True)
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    found = []
    for layer in (fast, reference):
        outputs, _ = layer(x, lengths=LENGTHS)
        (g_x,) = torch.autograd.grad(outputs.pow(2).sum(), x, create_graph=True)
        penalty = g_x.pow(2).sum()
        found.append(torch.autograd.grad(penalty, list(layer.parameters())))
    for got, want in zip(*found):
        assert want.abs().max() > 0
        torch.testing.assert_close(got, want, atol=1e-11, rtol=1e-10)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_layer_api_state_dicts_record_and_validation(name):
    layer = FAMILIES[name](num_layers=2, bidirectional=True)
    rows = 2 if name == "mingru" else 3
    assert {k: tuple(v.shape) for k, v in layer.state_dict().items()} == {
        "weight_ih_l0": (rows * H, I), "bias_ih_l0": (rows * H,),
        "weight_ih_l0_reverse": (rows * H, I), "bias_ih_l0_reverse": (rows * H,),
        "weight_ih_l1": (rows * H, 2 * H), "bias_ih_l1": (rows * H,),
        "weight_ih_l1_reverse": (rows * H, 2 * H), "bias_ih_l1_reverse": (rows * H,),
    }  # fmt: skip
    x = torch.randn(B, T, I)
    outputs, state = layer(x)
    assert outputs.shape == (B, T, 2 * H) and state.shape == (4, B, H)
    assert torch.equal(layer.initial_state(B), torch.zeros(4, B, H))
    trace = layer.record(x)
    assert trace.hidden.shape == (4, B, T, H) and trace.gates.shape == (4, B, T, rows, H)
    torch.testing.assert_close(torch.cat([trace.hidden[2], trace.hidden[3]], -1), outputs)
    assert (trace.hidden > 0).all()  # from the zero state, h is a positive mixture of g > 0
    no_bias = FAMILIES[name](bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0"]
    with pytest.raises(ValueError, match="lengths must lie in"):
        layer(x, lengths=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"state h must have shape"):
        layer(x, torch.zeros(2, B, H))
    empty, empty_state = layer(torch.randn(0, T, I))
    assert empty.shape == (0, T, 2 * H) and empty_state.shape == (4, 0, H)
    rnnlab.MinGRU(I, H, path="fast")(torch.randn(B, T, I))  # "fast" serves: no error
