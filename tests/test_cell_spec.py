r"""A cell family from its spec alone: an IndRNN defined in this file, nothing of it in src/.

The independently recurrent network (Li, Li, Cook, Zhu & Gao 2018, "Independently recurrent
neural network (IndRNN): building a longer and deeper RNN", CVPR) gives every unit one
recurrent weight of its own, ``u`` (H,), instead of a matrix::

    h_t = f(W_ih x_t + b_ih + u ⊙ h_{t-1} + b_hh),   f = relu (the paper's) or tanh

Its one-step Jacobian is diagonal, ``J_t = diag(u ⊙ f'(a_t))``, so ∂h_T/∂h_t has a closed form.
From the spec below, and nothing else, the generic layer must give the stacked, bidirectional,
variable-length unroll, ``record``, the state helpers, empty batches and the gradient-flow
analysis; each is checked against a loop written out here, not the layer's own unroll.
"""

import copy
import re
from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.analysis.gradient_flow import recurrent_jacobians, state_gradient_norms
from rnnlab.cells import CellSpec
from rnnlab.layers import RecurrentLayer
from rnnlab.tasks.registry import build_task
from rnnlab.train.config import parse_config
from rnnlab.train.trainer import fit
from rnnlab.train.validation import evaluate_split

B, T, I, H = 3, 6, 2, 4
LENGTHS = [6, 2, 4]
DTYPE = torch.float64
TOL = 1e-12

# -- the family: its spec, and nothing in src/ -----------------------------------------------

NONLINEARITIES = {"relu": torch.relu, "tanh": torch.tanh}


class IndRNNTrace(NamedTuple):
    """Every step of an IndRNN layer: ``hidden`` (L*D, B, T, H)."""

    hidden: torch.Tensor


def indrnn_options(hidden_size: int, bias: bool, *, nonlinearity: str = "relu") -> dict:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'relu' or 'tanh'; got {nonlinearity!r}")
    return {"nonlinearity": nonlinearity}


def indrnn_shapes(input_size: int, hidden_size: int, bias: bool, options) -> dict:
    H = hidden_size
    return {
        "weight_ih": (H, input_size),
        "weight_hh": (H,),  # u: one recurrent weight per unit
        "bias_ih": (H,) if bias else None,
        "bias_hh": (H,) if bias else None,
    }


def indrnn_step(x_t, state, p, options):
    a = F.linear(x_t, p["weight_ih"], p["bias_ih"]) + p["weight_hh"] * state[0]
    if p["bias_hh"] is not None:
        a = a + p["bias_hh"]
    h = NONLINEARITIES[options["nonlinearity"]](a)
    return (h,), (h,)


def indrnn_bound(p, options) -> float:
    """‖diag(u ⊙ f'(a))‖₂ ≤ max|u|, since |f'| ≤ 1 for relu and tanh."""
    return float(p["weight_hh"].detach().abs().max())


INDRNN = CellSpec(
    name="IndRNN",
    parameter_shapes=indrnn_shapes,
    state_names=("h",),
    step=indrnn_step,
    trace_type=IndRNNTrace,
    check_options=indrnn_options,
    jacobian_bound=indrnn_bound,
)


def make(num_layers=2, bidirectional=True, nonlinearity="tanh", seed=0, **kw):
    torch.manual_seed(seed)
    return RecurrentLayer(
        INDRNN, I, H, num_layers, bidirectional=bidirectional, dtype=DTYPE,
        nonlinearity=nonlinearity, **kw,
    )  # fmt: skip


# -- an independent loop: one sequence at a time, only its valid steps -----------------------


def by_hand(layer, x, h0, lengths):
    """The IndRNN written out: each sequence cut to its length, every layer and direction.

    Returns outputs (B, T, D*H) (0 past each length), the final state (L*D, B, H) and the
    hidden state of every layer, direction and step (L*D, B, T, H), 0 past each length.
    """
    L, D = layer.num_layers, layer.num_directions
    f = NONLINEARITIES[layer.nonlinearity]
    outputs, finals, hidden = [], [], []
    for b in range(x.shape[0]):
        n = int(lengths[b])
        seq = x[b, :n]  # (n, I)
        finals_b, hidden_b = [], []
        for layer_index in range(L):
            per_direction = []
            for direction in range(D):
                suffix = f"_l{layer_index}" + ("_reverse" if direction else "")
                w, u, b_ih, b_hh = (
                    getattr(layer, name + suffix)
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                )
                h = h0[layer_index * D + direction, b]
                steps = [None] * n
                for t in reversed(range(n)) if direction else range(n):
                    h = f(w @ seq[t] + b_ih + u * h + b_hh)
                    steps[t] = h
                finals_b.append(h)
                states = torch.stack(steps)  # (n, H)
                hidden_b.append(torch.cat([states, states.new_zeros(T - n, H)]))
                per_direction.append(states)
            seq = torch.cat(per_direction, dim=-1)  # (n, D*H), the next layer's input
        outputs.append(torch.cat([seq, seq.new_zeros(T - n, seq.shape[1])]))
        finals.append(torch.stack(finals_b))
        hidden.append(torch.stack(hidden_b))
    return torch.stack(outputs), torch.stack(finals, dim=1), torch.stack(hidden, dim=1)


def inputs(seed=1, lengths=True):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, I, dtype=DTYPE, generator=generator, requires_grad=True)
    h0 = torch.randn(4, B, H, dtype=DTYPE, generator=generator, requires_grad=True)
    return x, h0, torch.tensor(LENGTHS if lengths else [T] * B)


def assert_all_close(got, want, tol=TOL):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        torch.testing.assert_close(g, w, atol=tol, rtol=0, msg=f"item {k}")


# -- the layer --------------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_lengths", [True, False], ids=["lengths", "full"])
def test_layer_matches_the_hand_written_loop_in_values_and_gradients(nonlinearity, with_lengths):
    layer = make(nonlinearity=nonlinearity)
    with torch.no_grad():  # recurrent weights on both sides of 1, as IndRNN allows
        for name, p in layer.named_parameters():
            if name.startswith("weight_hh"):
                p.uniform_(-1.3, 1.3)
    x, h0, lengths = inputs(lengths=with_lengths)
    if not with_lengths:
        outputs, state = layer(x, h0)
    else:
        outputs, state = layer(x, h0, lengths=lengths)
    want_outputs, want_state, _ = by_hand(layer, x, h0, lengths)
    assert outputs.shape == (B, T, 2 * H) and state.shape == (4, B, H)
    assert_all_close([outputs, state], [want_outputs, want_state])

    generator = torch.Generator().manual_seed(2)
    weights = [torch.randn(t.shape, dtype=DTYPE, generator=generator) for t in (outputs, state)]
    wrt = [x, h0, *layer.parameters()]

    def gradients(out, final):
        loss = (weights[0] * out).sum() + (weights[1] * final).sum()
        return torch.autograd.grad(loss, wrt)

    assert_all_close(gradients(outputs, state), gradients(want_outputs, want_state))


def test_record_keeps_every_layer_and_step_and_passes_gradients():
    layer = make()
    x, h0, lengths = inputs()
    trace = layer.record(x, h0, lengths=lengths)
    assert type(trace) is IndRNNTrace
    assert trace.hidden.shape == (4, B, T, H)
    _, _, want = by_hand(layer, x, h0, lengths)
    torch.testing.assert_close(trace.hidden, want, atol=TOL, rtol=0)
    assert torch.all(trace.hidden[:, 1, LENGTHS[1] :] == 0)  # zeros past the end
    weights = torch.randn(trace.hidden.shape, dtype=DTYPE)
    got = torch.autograd.grad((weights * trace.hidden).sum(), [x, *layer.parameters()])
    expected = torch.autograd.grad((weights * want).sum(), [x, *layer.parameters()])
    assert_all_close(got, expected)


def test_parameters_options_and_state_come_from_the_spec():
    layer = make(bias=False)
    assert layer.nonlinearity == "tanh" and layer.options == {"nonlinearity": "tanh"}
    assert [(name, tuple(p.shape)) for name, p in layer.named_parameters()] == [
        ("weight_ih_l0", (H, I)), ("weight_hh_l0", (H,)),
        ("weight_ih_l0_reverse", (H, I)), ("weight_hh_l0_reverse", (H,)),
        ("weight_ih_l1", (H, 2 * H)), ("weight_hh_l1", (H,)),
        ("weight_ih_l1_reverse", (H, 2 * H)), ("weight_hh_l1_reverse", (H,)),
    ]  # fmt: skip
    assert layer.bias_ih_l0 is None and layer.output_size_per_direction == H
    assert len(layer.all_weights) == 4
    bound = 1 / H**0.5  # torch.nn's initialisation, the spec's default
    assert all(p.abs().max() <= bound for p in layer.parameters())
    first = [p.clone() for p in layer.parameters()]
    layer.reset_parameters(torch.Generator().manual_seed(5))
    again = [p.clone() for p in layer.parameters()]
    layer.reset_parameters(torch.Generator().manual_seed(5))
    assert not torch.equal(first[0], again[0])
    assert all(torch.equal(a, b) for a, b in zip(again, layer.parameters()))
    state = layer.initial_state(B)
    assert isinstance(state, torch.Tensor) and torch.equal(state, torch.zeros(4, B, H, dtype=DTYPE))
    # A deep copy (as ensembles and checkpoints make) computes the same function.
    x = torch.randn(B, T, I, dtype=DTYPE)
    torch.testing.assert_close(copy.deepcopy(layer)(x)[0], layer(x)[0], atol=0, rtol=0)
    assert "nonlinearity='tanh'" in repr(layer)


def test_state_dicts_move_between_layers_of_the_family():
    layer, twin = make(seed=0), make(seed=1)
    twin.load_state_dict(layer.state_dict())
    x = torch.randn(B, T, I, dtype=DTYPE)
    assert_all_close(twin(x), layer(x), tol=0)


def test_a_family_without_a_kernel_runs_the_reference_and_path_fast_says_so():
    x, h0, lengths = inputs()
    auto, reference = make(path="auto"), make(path="reference")
    assert auto.fast_path_name(B) == "reference"
    assert_all_close(auto(x, h0, lengths), reference(x, h0, lengths), tol=0)
    message = "path='fast' cannot serve this call: IndRNN has no fast kernel yet"
    with pytest.raises(ValueError, match=re.escape(message)):
        make(path="fast")(x)


def test_second_order_gradients_through_the_reference_unroll():
    layer = make(num_layers=1, bidirectional=False)
    x = torch.randn(2, 4, I, dtype=DTYPE, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x: layer(x)[0], (x,))


def test_an_empty_batch_gives_empty_results_with_gradients():
    layer = make()
    x = torch.randn(0, T, I, dtype=DTYPE, requires_grad=True)
    outputs, state = layer(x)
    assert outputs.shape == (0, T, 2 * H) and state.shape == (4, 0, H)
    assert layer.record(x).hidden.shape == (4, 0, T, H)
    grads = torch.autograd.grad(outputs.sum() + state.sum(), [x, *layer.parameters()])
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)


def test_the_layers_one_validation_and_the_spec_options_are_checked():
    layer = make()
    with pytest.raises(ValueError, match=re.escape("I = input_size = 2; got shape (3, 6, 5)")):
        layer(torch.randn(B, T, 5, dtype=DTYPE))
    with pytest.raises(ValueError, match=re.escape("state h must have shape (L*D, B, 4)")):
        layer(torch.randn(B, T, I, dtype=DTYPE), torch.zeros(2, B, H, dtype=DTYPE))
    with pytest.raises(ValueError, match="nonlinearity must be 'relu' or 'tanh'; got 'sigmoid'"):
        make(nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="unexpected keyword argument 'peephole'"):
        make(peephole=True)
    with pytest.raises(ValueError, match="needs a state_type"):
        CellSpec("Pair", indrnn_shapes, ("h", "c"), indrnn_step, IndRNNTrace)
    with pytest.raises(TypeError, match=r"spec must be an rnnlab\.cells\.CellSpec; got str"):
        RecurrentLayer("indrnn", I, H)


# -- gradient flow, from the spec -----------------------------------------------------------


def flow_setup():
    """A two-layer tanh IndRNN (the top layer is analysed) with lively recurrent weights."""
    layer = make(num_layers=2, bidirectional=False, nonlinearity="tanh", seed=3)
    with torch.no_grad():
        layer.weight_hh_l1.copy_(torch.tensor([1.5, -1.2, 0.9, 0.4], dtype=DTYPE))
    x = torch.randn(B, T, I, dtype=DTYPE, generator=torch.Generator().manual_seed(4))
    state = 0.3 * torch.randn(2, B, H, dtype=DTYPE, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _, _, hidden = by_hand(layer, x, state, [T] * B)  # (L, B, T, H)
    u = layer.weight_hh_l1.detach()
    factors = u * (1 - hidden[1] ** 2)  # (B, T, H): the diagonal of J_t = ∂h_t/∂h_{t-1}
    return layer, x, state, hidden, factors


def test_state_gradient_norms_match_the_closed_form():
    """∂h_T/∂h_t = diag Π_{k=t+1}^{T} u ⊙ f'(a_k): Frobenius and spectral norms in closed form."""
    layer, x, state, _, factors = flow_setup()
    flow = state_gradient_norms(layer, x, state)
    tail = torch.flip(torch.cumprod(torch.flip(factors, [1]), dim=1), [1])  # Π_{k=t+1}^{T}
    products = torch.cat([tail, torch.ones(B, 1, H, dtype=DTYPE)], dim=1)  # (B, T + 1, H)
    np.testing.assert_allclose(flow.per_sequence, products.norm(dim=-1).numpy(), rtol=1e-10)
    np.testing.assert_allclose(flow.spectral, products.abs().amax(-1).numpy(), rtol=1e-10)
    assert flow.cell == "IndRNN(tanh), layer 1 of 2"
    assert flow.quantity == "‖∂h_T/∂h_t‖_F"


def test_recurrent_jacobians_match_the_closed_form_and_autograd():
    layer, x, state, hidden, factors = flow_setup()
    spectrum = recurrent_jacobians(layer, x, state)
    assert spectrum.jacobians.shape == (B, T, H, H) and spectrum.state == "h"
    np.testing.assert_allclose(spectrum.jacobians, torch.diag_embed(factors).numpy(), atol=1e-12)

    # torch.autograd.functional.jacobian of the step written out, at each (x_t, h_{t-1}).
    w, u = layer.weight_ih_l1.detach(), layer.weight_hh_l1.detach()
    b_ih, b_hh = layer.bias_ih_l1.detach(), layer.bias_hh_l1.detach()
    below = hidden[0]  # (B, T, H): the top layer's inputs
    for b in range(B):
        previous = state[1, b]
        for t in range(T):
            jacobian = torch.autograd.functional.jacobian(
                lambda h, x_t=below[b, t]: torch.tanh(w @ x_t + b_ih + u * h + b_hh), previous
            )
            np.testing.assert_allclose(spectrum.jacobians[b, t], jacobian.numpy(), atol=1e-12)
            previous = hidden[1, b, t]
    assert spectrum.bound == pytest.approx(1.5)  # the spec's bound, max |u|
    assert np.all(spectrum.singular_values[..., 0] <= spectrum.bound * (1 + 1e-12))


# -- training through fit ----------------------------------------------------------------------


class IndRNNRegressor(nn.Module):
    """The family's layer and a linear readout, called as ``outputs, state = net(x, state,
    lengths)``: what :func:`rnnlab.train.trainer.fit` trains."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.layer = RecurrentLayer(INDRNN, input_size, hidden_size, nonlinearity="tanh")
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x, state=None, lengths=None):
        hidden, state = self.layer(x, state, lengths)
        return self.readout(hidden), state


def test_the_family_trains_through_fit():
    config = parse_config({
        "model": {"kind": "elman", "hidden_size": 8},  # unused: the network is built here
        "task": {"name": "adding", "seq_len": 5, "num_train": 512, "num_val": 128,
                 "num_test": 128},
        "training": {"max_steps": 300, "eval_every": 300, "lr": 0.01, "batch_size": 32},
    })  # fmt: skip
    task = build_task(config.task)

    def trained():
        torch.manual_seed(0)
        network = IndRNNRegressor(task.input_size, 32, task.output_size)
        before = evaluate_split(network, task, task.splits()["val"])["loss"]
        return before, fit(network, task, config.training)

    before, result = trained()
    _, again = trained()
    assert result.reason == "max_steps" and result.step == 300
    # Below the adding problem's memoryless baseline (predict the mean, 1: MSE 1/6 ~ 0.167),
    # the network remembers the marked numbers (measured: 0.70 before, 0.112 after).
    assert before > 0.3 and result.metrics["val_loss"] < 0.13, (before, result.metrics)
    for mine, theirs in zip(result.network.parameters(), again.network.parameters()):
        assert torch.equal(mine, theirs)  # seeded: the same run twice
