"""Fixed points against a system whose fixed points are known, against the map itself
(F(s*) = s*), against finite-difference Jacobians, and between the cell and layer paths."""

import io
import math

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.analysis.fixed_points import (
    FixedPoints,
    find_fixed_points,
    follow_unstable_modes,
    recurrent_map,
    sample_states,
    trajectories,
)

DTYPE = torch.float64


def tanh_fixed_point() -> float:
    """x* > 0 with x* = tanh(2 x*), by Newton's method from 1."""
    x = 1.0
    for _ in range(50):
        x -= (x - math.tanh(2 * x)) / (1 - 2 / math.cosh(2 * x) ** 2)
    return x


def diagonal_elman(kind: str):
    """h <- tanh(W h) with W = diag(2, 2): an Elman cell (or a one-layer Elman) with zero input
    weights and biases."""
    net = rnnlab.ElmanCell(1, 2, dtype=DTYPE) if kind == "cell" else rnnlab.Elman(1, 2, dtype=DTYPE)
    suffix = "" if kind == "cell" else "_l0"
    with torch.no_grad():
        for value in net.parameters():
            value.zero_()
        getattr(net, "weight_hh" + suffix).copy_(2 * torch.eye(2, dtype=DTYPE))
    return net


def uniform_starts(num: int, size: int, low: float, high: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(num, size, generator=generator, dtype=DTYPE)


@pytest.mark.parametrize("kind", ["cell", "layer"])
def test_the_nine_fixed_points_of_tanh_2h_with_their_stability(kind):
    a = tanh_fixed_point()
    assert a == pytest.approx(0.9575, abs=5e-5)
    fps = find_fixed_points(
        diagonal_elman(kind), torch.zeros(1, dtype=DTYPE), uniform_starts(400, 2, -1.3, 1.3)
    )
    assert len(fps) == 9
    expected = {(x, y) for x in (-a, 0.0, a) for y in (-a, 0.0, a)}
    found = [tuple(point) for point in fps.points]
    for point in expected:  # each known point found once, to 1e-6
        distances = [max(abs(p - q) for p, q in zip(point, f)) for f in found]
        assert sorted(distances)[0] < 1e-6
        assert sorted(distances)[1] > 0.5
    assert fps.speeds.max() < 1e-20
    for point, modes, stable in zip(fps.points, fps.unstable_modes, fps.is_stable):
        on_axis = int(np.sum(np.abs(point) < 1e-6))  # coordinates at 0: unstable directions
        assert modes == on_axis  # origin 2, the four (+-a, 0), (0, +-a) 1, the corners 0
        assert stable == (on_axis == 0)
    assert int(fps.is_stable.sum()) == 4
    # J = diag(2 (1 - h^2)): 2 at the origin, 2 (1 - a^2) at the corners
    corner = fps.stable.jacobians[0]
    assert np.allclose(corner, np.diag([2 * (1 - a * a)] * 2), atol=1e-6)
    origin = fps[np.argmax(fps.unstable_modes)]
    assert np.allclose(origin.eigenvalues, [[2.0, 2.0]], atol=1e-9)
    assert fps.converged and fps.starts == 400
    assert fps.cell == ("ElmanCell" if kind == "cell" else "Elman(tanh), layer 0 of 1")


# -- gated cells: the points are fixed points, the Jacobians are exact ------------------------

I, H = 3, 5


def lively(cell: torch.nn.Module) -> torch.nn.Module:
    """Recurrent weights tripled, for more than one fixed point."""
    with torch.no_grad():
        cell.weight_hh.mul_(3.0)
    return cell


CELLS = {
    "gru": lambda: lively(rnnlab.GRUCell(I, H, dtype=DTYPE)),
    "lstm": lambda: lively(rnnlab.LSTMCell(I, H, dtype=DTYPE)),
    "elman": lambda: lively(rnnlab.ElmanCell(I, H, dtype=DTYPE)),
    "jordan": lambda: lively(rnnlab.JordanCell(I, H, 2, output_nonlinearity="tanh", dtype=DTYPE)),
}


def step_of(cell, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """F(s, u) by calling the cell, independently of the module under test."""
    if isinstance(cell, rnnlab.LSTMCell):
        _, state = cell(u, rnnlab.LSTMState(s[:, :H], s[:, H:]))
        return torch.cat(list(state), dim=1)
    return cell(u, s)[1]


def finite_difference_jacobian(cell, s: torch.Tensor, u: torch.Tensor, eps=1e-6) -> np.ndarray:
    """(S, S) central differences of F at one state s (S,)."""
    columns = []
    for j in range(len(s)):
        e = torch.zeros_like(s)
        e[j] = eps
        plus = step_of(cell, (s + e)[None], u[None])[0]
        minus = step_of(cell, (s - e)[None], u[None])[0]
        columns.append((plus - minus) / (2 * eps))
    return torch.stack(columns, dim=1).detach().numpy()


def starts_along_trajectories(cell, num: int, seed: int = 0) -> torch.Tensor:
    """Half the starts from the cell's states under random inputs, half uniform in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 30, I, generator=generator, dtype=DTYPE)
    along = sample_states(trajectories(cell, x), num - num // 2, seed=seed)
    S = along.shape[1]
    return torch.cat([along, uniform_starts(num // 2, S, -1.0, 1.0, seed=seed)])


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("constant", ["zero", "per_start"])
def test_points_are_fixed_and_jacobians_match_finite_differences(name, constant):
    torch.manual_seed(1)
    cell = CELLS[name]()
    S = recurrent_map(cell).state_size  # H; 2H for the LSTM's [h; c]; O for Jordan's y
    expected = {"lstm": 2 * H, "jordan": 2}.get(name, H)
    assert expected == S
    K = 32
    starts = starts_along_trajectories(cell, K, seed=2)
    if constant == "zero":
        inputs = torch.zeros(I, dtype=DTYPE)
    else:  # one of two inputs per start
        inputs = torch.where(torch.arange(K)[:, None] % 2 == 0, 0.5, -0.5).to(DTYPE).expand(K, I)
    fps = find_fixed_points(cell, inputs, starts, max_iters=1000)
    assert fps.points.shape == (len(fps), S) and fps.inputs.shape == (len(fps), I)
    assert fps.jacobians.shape == (len(fps), S, S)
    assert fps.eigenvalues.shape == (len(fps), S) and np.iscomplexobj(fps.eigenvalues)
    assert fps.is_stable.dtype == bool and fps.unstable_modes.dtype == np.int64
    s = torch.from_numpy(fps.points)
    u = torch.from_numpy(fps.inputs)
    with torch.no_grad():
        residual = (step_of(cell, s, u) - s).norm(dim=1)
    assert np.allclose(fps.speeds, 0.5 * residual.numpy() ** 2, rtol=1e-9, atol=1e-30)
    # Points that did not converge (slow points, drifts) are reported with their speed;
    # the converged ones are fixed to rounding, and at least the attractor of each input is.
    fixed = fps.speeds < 1e-20
    assert fixed.sum() >= (1 if constant == "zero" else 2)
    assert float(residual[torch.from_numpy(fixed)].max()) < 1e-10
    for k in range(len(fps)):
        J = finite_difference_jacobian(cell, s[k], u[k])
        assert np.allclose(fps.jacobians[k], J, atol=1e-7)
        moduli = np.abs(np.linalg.eigvals(J))
        if np.abs(moduli - 1).min() > 1e-6:  # not at the edge of stability, where rounding decides
            assert fps.unstable_modes[k] == int((moduli > 1).sum())
            assert fps.is_stable[k] == (moduli.max() < 1)
        exact = np.abs(fps.eigenvalues[k])
        assert fps.unstable_modes[k] == int((exact > 1).sum())
        assert fps.is_stable[k] == (exact[0] < 1)
    moduli = np.abs(fps.eigenvalues)
    assert (np.diff(moduli, axis=1) <= 1e-12).all()  # sorted by decreasing modulus
    for k in range(len(fps)):  # eigenvectors: J v = lambda v
        J, values, vectors = fps.jacobians[k], fps.eigenvalues[k], fps.eigenvectors[k]
        assert np.allclose(J @ vectors, vectors * values, atol=1e-8)
    if name == "lstm":
        assert fps.names == ("h", "c") and fps.part("c").shape == (len(fps), H)
        assert np.array_equal(fps.part("h"), fps.points[:, :H])


def copy_into_layer(cell: torch.nn.Module, layer: rnnlab.layers.RecurrentLayer, index: int):
    with torch.no_grad():
        for name, value in cell.named_parameters():
            getattr(layer, f"{name}_l{index}").copy_(value)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_a_layer_of_a_stack_has_the_fixed_points_of_the_same_cell(name):
    torch.manual_seed(3)
    layer_type = rnnlab.GRU if name == "gru" else rnnlab.LSTM
    stack = layer_type(I, H, num_layers=2, dtype=DTYPE)
    top = layer_type(H, H, dtype=DTYPE)
    cell_h = lively((rnnlab.GRUCell if name == "gru" else rnnlab.LSTMCell)(H, H, dtype=DTYPE))
    copy_into_layer(cell_h, stack, 1)  # the upper layer reads the H outputs of the one below
    copy_into_layer(cell_h, top, 0)
    x = torch.randn(8, 30, H, dtype=DTYPE)
    starts = sample_states(trajectories(cell_h, x), 24, seed=4)
    u = torch.full((H,), 0.1, dtype=DTYPE)
    from_cell = find_fixed_points(cell_h, u, starts, max_iters=1000)
    from_stack = find_fixed_points(stack, u, starts, layer=1, max_iters=1000)
    from_top = find_fixed_points(top, u, starts, max_iters=1000)
    assert len(from_cell) == len(from_stack) == len(from_top)
    assert np.allclose(from_cell.points, from_stack.points, atol=1e-9)
    assert np.allclose(from_cell.points, from_top.points, atol=1e-9)
    assert np.array_equal(from_cell.unstable_modes, from_stack.unstable_modes)
    assert from_stack.cell.endswith("layer 1 of 2")
    assert recurrent_map(stack, layer=1).input_size == H
    assert recurrent_map(stack, layer=0).input_size == I


def test_a_push_off_a_saddle_runs_to_the_attractors_on_either_side():
    cell = diagonal_elman("cell")
    a = tanh_fixed_point()
    fps = find_fixed_points(cell, torch.zeros(1, dtype=DTYPE), uniform_starts(200, 2, -1.3, 1.3))
    saddles = fps[fps.unstable_modes == 1]
    ends = follow_unstable_modes(cell, saddles)  # (4, 2, 2)
    assert ends.shape == (4, 2, 2)
    for point, (minus, plus) in zip(saddles.points, ends):
        axis = int(np.argmin(np.abs(point)))  # the unstable direction is the axis at 0
        assert np.allclose(np.abs(minus), [a, a], atol=1e-6)
        assert np.allclose(np.abs(plus), [a, a], atol=1e-6)
        assert minus[axis] * plus[axis] < 0  # one on each side
        assert np.allclose(minus[1 - axis], point[1 - axis], atol=1e-6)
    stays = follow_unstable_modes(cell, fps.stable)
    assert np.allclose(stays, fps.stable.points[:, None], atol=1e-9)


# -- merging, outliers, noise -----------------------------------------------------------------


def test_duplicates_merge_and_far_points_are_outliers():
    cell = diagonal_elman("cell")
    u = torch.zeros(1, dtype=DTYPE)
    a = tanh_fixed_point()
    # Starts huddled around (0.5, 0.5) all run to the corner (a, a), far in units of their spread.
    huddle = 0.5 + 0.01 * uniform_starts(50, 2, -1.0, 1.0, seed=5)
    kept = find_fixed_points(cell, u, huddle, outlier_distance_scale=None)
    assert len(kept) == 1 and np.allclose(kept.points, [[a, a]], atol=1e-9)
    dropped = find_fixed_points(cell, u, huddle)
    assert len(dropped) == 0 and dropped.outliers == 1
    assert dropped.points.shape == (0, 2) and dropped.jacobians.shape == (0, 2, 2)
    # The same start twice is one point.
    twice = find_fixed_points(cell, u, torch.tensor([[0.7, 0.7], [0.7, 0.7]], dtype=DTYPE))
    assert len(twice) == 1


def test_noise_on_the_starts_is_seeded():
    cell = CELLS["gru"]()
    starts = uniform_starts(16, H, -0.5, 0.5, seed=6)
    u = torch.zeros(I, dtype=DTYPE)
    options = {"noise_scale": 0.5, "max_iters": 50, "newton_steps": 0, "tol_unique": 1e-12,
               "outlier_distance_scale": None}  # fmt: skip
    first = find_fixed_points(cell, u, starts, seed=1, **options)
    again = find_fixed_points(cell, u, starts, seed=1, **options)
    other = find_fixed_points(cell, u, starts, seed=2, **options)
    assert np.array_equal(first.points, again.points)
    assert not np.array_equal(first.points, other.points)
    assert first.iterations == 50 and not first.converged


def test_parameters_are_untouched_and_the_mode_is_restored():
    cell = CELLS["lstm"]()
    before = {name: value.clone() for name, value in cell.named_parameters()}
    cell.train()
    starts = uniform_starts(8, 2 * H, -1, 1)
    find_fixed_points(cell, torch.zeros(I, dtype=DTYPE), starts, max_iters=100)
    assert cell.training
    for name, value in cell.named_parameters():
        assert torch.equal(value, before[name]) and value.grad is None


# -- starting states along trajectories -------------------------------------------------------


@pytest.mark.parametrize("family", ["gru", "lstm", "elman"])
def test_trajectories_are_the_full_states_record_sees(family):
    torch.manual_seed(7)
    make = {"gru": rnnlab.GRU, "lstm": rnnlab.LSTM, "elman": rnnlab.Elman}[family]
    layer = make(I, H, num_layers=2, dtype=DTYPE)
    x = torch.randn(4, 6, I, dtype=DTYPE)
    trace = layer.record(x)
    for index in (0, 1):
        states = trajectories(layer, x, layer=index)
        assert states.shape == (4, 6, 2 * H if family == "lstm" else H)
        assert torch.allclose(states[..., :H], trace.hidden[index], atol=1e-12)
        if family == "lstm":
            assert torch.allclose(states[..., H:], trace.cell[index], atol=1e-12)


def test_trajectories_of_a_cell_step_the_cell():
    torch.manual_seed(8)
    cell = rnnlab.LSTMCell(I, H, dtype=DTYPE)
    x = torch.randn(3, 5, I, dtype=DTYPE)
    states = trajectories(cell, x)
    state = cell.initial_state(3)
    for t in range(5):
        _, state = cell(x[:, t], state)
        assert torch.allclose(states[:, t], torch.cat(list(state), dim=1))


def test_sample_states_is_seeded_and_respects_the_mask():
    states = torch.arange(2 * 4 * 3, dtype=DTYPE).reshape(2, 4, 3)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[1, 2:] = True
    picked = sample_states(states, 20, mask=mask, seed=3)
    allowed = {tuple(states[1, t].tolist()) for t in (2, 3)}
    assert picked.shape == (20, 3) and {tuple(p.tolist()) for p in picked} == allowed
    assert torch.equal(picked, sample_states(states, 20, mask=mask, seed=3))
    noisy = sample_states(states, 20, mask=mask, seed=3, noise_scale=0.1)
    assert 0 < float((noisy - picked).abs().max()) < 1.0


# -- the result and its figures -----------------------------------------------------------------


def test_indexing_subsets_and_figures():
    cell = diagonal_elman("cell")
    fps = find_fixed_points(cell, torch.zeros(1, dtype=DTYPE), uniform_starts(200, 2, -1.3, 1.3))
    assert isinstance(fps.stable, FixedPoints) and len(fps.stable) == 4
    assert len(fps.unstable) == 5 and len(fps[0]) == 1 and len(fps[:3]) == 3
    assert "9 fixed points" in fps.summary() and "4 stable" in fps.summary()
    x = torch.randn(5, 20, 1, dtype=DTYPE)
    states = trajectories(cell, x, state=torch.full((5, 2), 0.3, dtype=DTYPE))
    figures = [fps.plot(states, components=2), fps.plot(), fps.plot_spectra()]
    for figure in figures:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        assert buffer.getvalue()[:4] == b"\x89PNG"
    assert figures[0].axes[0].get_xlabel().startswith("PC 1")


def test_three_components_for_a_larger_state():
    cell = CELLS["gru"]()
    states = trajectories(cell, torch.randn(4, 10, I, dtype=DTYPE))
    starts = sample_states(states, 16)
    fps = find_fixed_points(cell, torch.zeros(I, dtype=DTYPE), starts, max_iters=300)
    figure = fps.plot(states)
    assert figure.axes[0].name == "3d"


# -- what is refused --------------------------------------------------------------------------


class NoisyCell(rnnlab.ElmanCell):
    def forward(self, x_t, state):
        y, state = super().forward(x_t, state)
        return y, state + 1e-3 * torch.randn_like(state)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: find_fixed_points(rnnlab.GRU(I, H, num_layers=2), torch.zeros(I),
                                   torch.zeros(4, H)), ValueError, "say which one with layer=k"),
        (lambda: find_fixed_points(rnnlab.GRU(I, H), torch.zeros(I), torch.zeros(4, H), layer=1),
         ValueError, r"layer must be in 0\.\.0; got 1"),
        (lambda: find_fixed_points(rnnlab.GRUCell(I, H), torch.zeros(I), torch.zeros(4, H),
                                   layer=0), ValueError, "a cell"),
        (lambda: find_fixed_points(torch.nn.Linear(2, 2), torch.zeros(2), torch.zeros(4, 2)),
         TypeError, "rnnlab cell"),
        (lambda: find_fixed_points(rnnlab.GRUCell(I, H), torch.zeros(I + 1), torch.zeros(4, H)),
         ValueError, r"inputs must be \(I,\) = \(3,\) or \(K, I\) = \(4, 3\)"),
        (lambda: find_fixed_points(rnnlab.LSTMCell(I, H), torch.zeros(I), torch.zeros(4, H)),
         ValueError, r"initial_states must be \(K, S\) with K >= 1 and S = 10 \(the state \[h;"),
        (lambda: find_fixed_points(NoisyCell(I, H), torch.zeros(I), torch.zeros(4, H)),
         ValueError, "deterministic map"),
        (lambda: find_fixed_points(rnnlab.GRUCell(I, H), torch.zeros(I), torch.zeros(4, H),
                                   lr_factor=1.0), ValueError, r"lr_factor must be in \(0, 1\)"),
        (lambda: find_fixed_points(rnnlab.GRUCell(I, H), torch.zeros(I), torch.zeros(4, H),
                                   max_iters=0), ValueError, "max_iters must be an int >= 1"),
    ],
)  # fmt: skip
def test_refused_with_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_initial_states_may_be_given_as_parts():
    torch.manual_seed(9)
    cell = CELLS["lstm"]()
    h, c = uniform_starts(8, H, -1, 1, seed=1), uniform_starts(8, H, -1, 1, seed=2)
    u = torch.zeros(I, dtype=DTYPE)
    as_parts = find_fixed_points(cell, u, rnnlab.LSTMState(h, c), max_iters=100)
    joined = find_fixed_points(cell, u, torch.cat([h, c], dim=1), max_iters=100)
    assert np.array_equal(as_parts.points, joined.points)
