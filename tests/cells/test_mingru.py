"""The minGRU's and minLSTM's cells: g's positivity and continuity (spec §6.3.2), the
log-space coefficients against the steps' own gates, the minLSTM's normalisation (§6.3.3), and
the cells against their layers."""

import math

import pytest
import torch

import rnnlab
from rnnlab.cells.mingru import log_positive, mingru_log_coefficients, mingru_step, positive
from rnnlab.cells.minlstm import minlstm_log_coefficients, minlstm_step

B, T, I, H = 3, 5, 2, 4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_g_is_positive_everywhere_and_log_g_is_its_finite_logarithm(dtype):
    x = torch.cat(
        [torch.linspace(-200, 200, 40001, dtype=dtype), torch.tensor([0.0, -1e4, 1e6], dtype=dtype)]
    )
    g, log_g = positive(x), log_positive(x)
    assert (g[x > -80] > 0).all() and (g >= 0).all()  # only underflow reaches 0
    assert torch.isfinite(log_g).all()
    # g itself underflows below about -88 (float32); log g does not: it is x there.
    moderate = x > -80
    torch.testing.assert_close(log_g[moderate], torch.log(g[moderate]))
    torch.testing.assert_close(log_g[x < -100], x[x < -100])
    torch.testing.assert_close(g[x >= 0], x[x >= 0] + 0.5)  # the definition's two sides
    torch.testing.assert_close(g[x < 0], torch.sigmoid(x[x < 0]))


def test_log_g_is_continuous_at_zero():
    """Spec 6.3.2: log 0.5 from both sides."""
    x = torch.tensor([-1e-12, 0.0, 1e-12], dtype=torch.float64)
    torch.testing.assert_close(
        log_positive(x), torch.full((3,), math.log(0.5), dtype=torch.float64), atol=1e-11, rtol=0
    )
    torch.testing.assert_close(
        positive(x), torch.full((3,), 0.5, dtype=torch.float64), atol=1e-11, rtol=0
    )


def parameters(rows: int, bias: bool = True):
    torch.manual_seed(0)
    return {
        "weight_ih": 2 * torch.randn(rows * H, I, dtype=torch.float64),
        "bias_ih": torch.randn(rows * H, dtype=torch.float64) if bias else None,
    }


def test_mingru_log_coefficients_are_the_logs_of_the_steps_gates():
    """log a = log(1 - z), log b = log(z h~), and the trace's gates, from the step."""
    p = parameters(2)
    x = 3 * torch.randn(B, T, I, dtype=torch.float64)
    log_a, log_b, (gates,) = mingru_log_coefficients(x, p, {}, record=True)
    zero = torch.zeros(B * T, H, dtype=torch.float64)
    one = torch.ones(B * T, H, dtype=torch.float64)
    b, step_gates = mingru_step(x.reshape(B * T, I), zero, p["weight_ih"], p["bias_ih"])
    a_plus_b, _ = mingru_step(x.reshape(B * T, I), one, p["weight_ih"], p["bias_ih"])
    torch.testing.assert_close(log_b.exp().reshape(B * T, H), b)  # h_{t-1} = 0 gives b_t
    torch.testing.assert_close(log_a.exp().reshape(B * T, H), a_plus_b - b)
    torch.testing.assert_close(gates.reshape(B * T, 2, H), step_gates)


@pytest.mark.parametrize("norm", [True, False], ids=["norm", "no_norm"])
def test_minlstm_log_coefficients_are_the_logs_of_the_steps_coefficients(norm):
    p = parameters(3)
    x = 3 * torch.randn(B, T, I, dtype=torch.float64)
    options = {"coefficient_norm": norm}
    log_a, log_b, (gates,) = minlstm_log_coefficients(x, p, options, record=True)
    flat = x.reshape(B * T, I)
    zero = torch.zeros(B * T, H, dtype=torch.float64)
    b, step_gates = minlstm_step(flat, zero, p["weight_ih"], p["bias_ih"], norm)
    a_plus_b, _ = minlstm_step(flat, zero + 1, p["weight_ih"], p["bias_ih"], norm)
    torch.testing.assert_close(log_b.exp().reshape(B * T, H), b)
    torch.testing.assert_close(log_a.exp().reshape(B * T, H), a_plus_b - b)
    torch.testing.assert_close(gates.reshape(B * T, 3, H), step_gates)


@pytest.mark.parametrize("path", ["auto", "reference"])
def test_minlstm_normalised_coefficients_sum_to_one(path):
    """Spec 6.3.3: f' + i' = 1 to 1e-6, also with saturated gates, on both paths."""
    torch.manual_seed(0)
    layer = rnnlab.MinLSTM(I, H, num_layers=2, path=path)
    with torch.no_grad():
        layer.weight_ih_l0.mul_(20)  # pre-activations of tens: gates near 0 and 1
    trace = layer.record(torch.randn(B, 50, I))
    total = trace.gates[:, :, :, 0] + trace.gates[:, :, :, 1]
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-6, rtol=0)
    unnormalised = rnnlab.MinLSTM(I, H, coefficient_norm=False, path=path)
    trace = unnormalised.record(torch.randn(B, 50, I))
    assert (trace.gates[..., 0, :] + trace.gates[..., 1, :] - 1).abs().max() > 0.01


def test_forget_bias_sets_the_forget_gates_bias_and_is_checked():
    layer = rnnlab.MinLSTM(I, H, num_layers=2, forget_bias=2.0)
    for name in ("bias_ih_l0", "bias_ih_l1"):
        assert torch.equal(getattr(layer, name)[:H], torch.full((H,), 2.0))
        assert not torch.equal(getattr(layer, name)[H : 2 * H], torch.full((H,), 2.0))
    with pytest.raises(ValueError, match="forget_bias needs bias=True"):
        rnnlab.MinLSTM(I, H, bias=False, forget_bias=1.0)
    with pytest.raises(TypeError, match="coefficient_norm must be a bool"):
        rnnlab.MinLSTM(I, H, coefficient_norm=1)


def test_initialisation_is_torch_linears():
    """U(-1/sqrt(I_l), 1/sqrt(I_l)): the bound follows each layer's input width, not H."""
    torch.manual_seed(0)
    layer = rnnlab.MinGRU(4, 64, num_layers=2, bidirectional=True)
    for name, bound in (("weight_ih_l0", 1 / 2), ("weight_ih_l1_reverse", 1 / math.sqrt(128))):
        weight = getattr(layer, name)
        assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound


@pytest.mark.parametrize(
    ("make_cell", "make_layer"),
    [
        (lambda: rnnlab.MinGRUCell(I, H), lambda: rnnlab.MinGRU(I, H)),
        (lambda: rnnlab.MinLSTMCell(I, H), lambda: rnnlab.MinLSTM(I, H)),
        (
            lambda: rnnlab.MinLSTMCell(I, H, coefficient_norm=False),
            lambda: rnnlab.MinLSTM(I, H, coefficient_norm=False),
        ),
    ],
    ids=["mingru", "minlstm", "minlstm_no_norm"],
)
def test_cell_stepped_by_hand_matches_its_layer(make_cell, make_layer):
    torch.manual_seed(0)
    cell, layer = make_cell().double(), make_layer().double()
    layer.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    x = torch.randn(B, T, I, dtype=torch.float64)
    initial = -torch.rand(B, H, dtype=torch.float64)  # any sign: the scan carries it linearly
    state, ys = initial, []
    for t in range(T):
        y_t, state = cell(x[:, t], state)
        ys.append(y_t)
    outputs, final = layer(x, initial.unsqueeze(0))
    torch.testing.assert_close(torch.stack(ys, dim=1), outputs, atol=1e-12, rtol=0)
    torch.testing.assert_close(state, final[0], atol=1e-12, rtol=0)
