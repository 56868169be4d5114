"""The continuous-time rate network (rnnlab.CTRNN, rnnlab.CTRNNCell): its equations against
a NumPy Euler loop written out here, Dale's law, masks, time constants, noise, lengths, state
dicts and its errors. The fast path against the reference, to second order, is in
tests/kernels/test_ctrnn_kernel.py; the NumPy textbook (rnnlab.reference.ctrnn) in
tests/test_reference_ctrnn.py."""

import copy
import math
import pickle
import re

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.cells.ctrnn import excitatory_count

B, T, I, H = 3, 5, 2, 6
LENGTHS = [5, 2, 4]
DTYPE = torch.float64
PATHS = ["reference", "fast"]


# -- an independent NumPy Euler loop --------------------------------------------------------

RATES = {
    "relu": lambda v: np.maximum(v, 0.0),
    "softplus": lambda v: np.where(v > 20, v, np.log1p(np.exp(np.minimum(v, 20)))),
    "tanh": np.tanh,
    "retanh": lambda v: np.maximum(np.tanh(v), 0.0),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
}


def numpy_direction(layer, x, v0, layer_index=0, reverse=False, z_in=None, z_hh=None):
    """One layer and direction of ``layer`` in NumPy, from its raw parameters: the Euler step
    of tau dv/dt = -v + W f(v) + W_in u + b, Dale's signs and the mask applied here."""
    suffix = f"_l{layer_index}" + ("_reverse" if reverse else "")
    get = lambda name: getattr(layer, name + suffix, None)  # noqa: E731
    array = lambda t: None if t is None else t.detach().numpy()  # noqa: E731
    w_ih, w_hh = array(get("weight_ih")), array(get("weight_hh"))
    b = sum(array(get(n)) for n in ("bias_ih", "bias_hh") if get(n) is not None)
    if layer.dale:
        n_e = math.floor(layer.excitatory_fraction * H + 1e-9)
        signs = np.where(np.arange(H) < n_e, 1.0, -1.0)
        w_hh = np.abs(w_hh) * signs[None, :]
        w_ih = np.abs(w_ih)
        if layer_index > 0:
            w_ih = w_ih * np.tile(signs, layer.num_directions)[None, :]
    if get("mask_hh") is not None:
        w_hh = w_hh * array(get("mask_hh"))
    alpha = layer.dt / (np.exp(array(get("log_tau"))) if layer.learn_tau else layer.tau)
    f = RATES[layer.nonlinearity]
    steps = x.shape[1]
    if z_in is not None:
        x = x + layer.sigma_in * np.sqrt(2 * layer.tau / layer.dt) * z_in
    v = v0.copy()
    rates, currents = np.zeros((*x.shape[:2], H)), np.zeros((*x.shape[:2], H))
    for t in reversed(range(steps)) if reverse else range(steps):
        v = (1 - alpha) * v + alpha * (x[:, t] @ w_ih.T + f(v) @ w_hh.T + b)
        if z_hh is not None:
            v = v + layer.sigma_rec * np.sqrt(2 * alpha) * z_hh[:, t]
        rates[:, t], currents[:, t] = f(v), v
    return rates, v, currents


def numpy_layer(layer, x, v0, z_in=None, z_hh=None):
    """The whole stack in NumPy: outputs (B, T, D*H) and the final currents (L*D, B, H)."""
    finals, inputs = [], x
    for index in range(layer.num_layers):
        outputs = []
        for direction in range(layer.num_directions):
            k = index * layer.num_directions + direction
            rates, v, _ = numpy_direction(
                layer, inputs, v0[k], index, bool(direction),
                z_in=z_in if index == 0 else None, z_hh=None if z_hh is None else z_hh[k],
            )  # fmt: skip
            outputs.append(rates)
            finals.append(v)
        inputs = np.concatenate(outputs, axis=-1)
    return inputs, np.stack(finals)


def make(path="reference", **options):
    torch.manual_seed(0)
    return rnnlab.CTRNN(I, H, path=path, dtype=DTYPE, **options)


OPTIONS = {
    "plain": dict(),
    "tanh_alpha_half": dict(nonlinearity="tanh", tau=2.0, dt=1.0),
    "softplus_learned_tau": dict(nonlinearity="softplus", learn_tau=True),
    "retanh_dale": dict(nonlinearity="retanh", dale=True),
    "sigmoid_mask": dict(
        nonlinearity="sigmoid",
        connectivity=torch.rand(H, H, generator=torch.Generator().manual_seed(0)) > 0.5,
    ),
    "dale_stacked_bi": dict(dale=True, excitatory_fraction=0.5, num_layers=2, bidirectional=True),
    "learned_v0": dict(learn_v0=True, v0=0.1, num_layers=2),
}


def random_weights_(layer):
    """Larger weights than the default init, and learned tau and v0 away from their start."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in layer.named_parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=DTYPE))
            if name.startswith("log_tau"):
                parameter.mul_(0.3).add_(math.log(layer.tau))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", OPTIONS)
def test_layer_matches_a_numpy_euler_loop(name, path):
    layer = make(path, **OPTIONS[name])
    random_weights_(layer)
    x = torch.rand(B, T, I, dtype=DTYPE)
    state = torch.randn(layer.num_layers * layer.num_directions, B, H, dtype=DTYPE)
    outputs, final = layer(x, state)
    want_outputs, want_final = numpy_layer(layer, x.numpy(), state.numpy())
    np.testing.assert_allclose(outputs.detach().numpy(), want_outputs, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(final.detach().numpy(), want_final, atol=1e-12, rtol=1e-12)
    # The default state: v0 everywhere (the learned v0 where there is one).
    v0 = layer.initial_state(B).detach().numpy()
    outputs, _ = layer(x)
    np.testing.assert_allclose(
        outputs.detach().numpy(), numpy_layer(layer, x.numpy(), v0)[0], atol=1e-12, rtol=1e-12
    )


@pytest.mark.parametrize("path", PATHS)
def test_noise_is_the_spec_s_per_step_noise_drawn_from_the_seeded_generator(path):
    """Noise of s.d. sqrt(2 alpha) sigma_rec on the currents, sqrt(2 tau/dt) sigma_in on the
    inputs, drawn in order: the inputs' (B, T, I), then each layer and direction's (B, T, H)."""
    layer = make(path, sigma_rec=0.3, sigma_in=0.2, seed=7, num_layers=2, bidirectional=True)
    x = torch.rand(B, T, I, dtype=DTYPE)
    state = layer.initial_state(B)
    outputs, final = layer(x)
    generator = torch.Generator().manual_seed(7)
    z_in = torch.randn((B, T, I), generator=generator, dtype=DTYPE).numpy()
    z_hh = [torch.randn((B, T, H), generator=generator, dtype=DTYPE).numpy() for _ in range(4)]
    want_outputs, want_final = numpy_layer(layer, x.numpy(), state.numpy(), z_in, z_hh)
    np.testing.assert_allclose(outputs.detach().numpy(), want_outputs, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(final.detach().numpy(), want_final, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "shape", [dict(), dict(num_layers=2, bidirectional=True)], ids=["L1", "L2bi"]
)
def test_alpha_one_without_noise_and_tanh_is_elman(path, shape):
    elman = rnnlab.Elman(I, H, dtype=DTYPE, **shape)
    net = rnnlab.CTRNN(I, H, nonlinearity="tanh", tau=1.0, dt=1.0, path=path, dtype=DTYPE, **shape)
    net.load_state_dict(elman.state_dict())  # torch.nn.RNN's names, both ways
    x = torch.randn(B, T, I, dtype=DTYPE)
    lengths = torch.tensor(LENGTHS)
    want_outputs, want_final = elman(x, lengths=lengths)
    outputs, final = net(x, lengths=lengths)
    torch.testing.assert_close(outputs, want_outputs, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.tanh(final), want_final, atol=1e-12, rtol=0)  # v -> h = f(v)
    assert net.dt == 1.0 and net.tau == 1.0


def test_without_input_or_weights_the_currents_decay_as_one_minus_alpha_to_the_t():
    net = rnnlab.CTRNN(I, H, bias=False, v0=1.0, tau=50.0, dtype=DTYPE)
    assert net.dt == 10.0  # tau / 5 by default
    with torch.no_grad():
        net.weight_hh_l0.zero_()
    trace = net.record(torch.rand(B, 20, I, dtype=DTYPE) * 0)
    alpha = 0.2
    want = (1 - alpha) ** torch.arange(1, 21, dtype=DTYPE)
    torch.testing.assert_close(trace.currents[0, 0, :, 0], want, atol=1e-14, rtol=0)
    torch.testing.assert_close(trace.hidden, torch.relu(trace.currents))


def test_recurrent_noise_has_the_per_step_sd_sqrt_2_alpha_sigma():
    sigma, tau, dt = 0.15, 100.0, 10.0
    net = rnnlab.CTRNN(1, 100, bias=False, tau=tau, dt=dt, sigma_rec=sigma, seed=0, dtype=DTYPE)
    with torch.no_grad():
        net.weight_hh_l0.zero_()
    with torch.no_grad():
        _, v = net(torch.zeros(1000, 1, 1, dtype=DTYPE))  # v_1 = the noise: 1e5 samples
    want = math.sqrt(2 * dt / tau) * sigma
    assert abs(float(v.std()) / want - 1) < 0.02
    assert abs(float(v.mean())) < 0.02 * want


def test_noise_is_seeded_reproducible_off_in_eval_and_on_in_eval_when_asked():
    x = torch.rand(B, T, I, dtype=DTYPE)
    first, second = (
        make(sigma_rec=0.2, sigma_in=0.1, seed=3),
        make(sigma_rec=0.2, sigma_in=0.1, seed=3),
    )
    a, b = first(x)[0], second(x)[0]
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert not torch.equal(first(x)[0], a)  # the draws continue from call to call
    other = make(sigma_rec=0.2, sigma_in=0.1, seed=4)
    assert not torch.equal(other(x)[0], a)
    quiet = make()
    first.eval()
    torch.testing.assert_close(first(x)[0], quiet(x)[0], atol=0, rtol=0)  # off in eval
    first.noise_in_eval = True
    assert not torch.equal(first(x)[0], quiet(x)[0])
    # Without a seed the noise comes from torch's global generator, as dropout's.
    unseeded = make(sigma_rec=0.2)
    torch.manual_seed(11)
    c = unseeded(x)[0]
    torch.manual_seed(11)
    torch.testing.assert_close(unseeded(x)[0], c, atol=0, rtol=0)


def test_a_copy_of_a_seeded_layer_continues_the_same_noise():
    net = make(sigma_rec=0.2, seed=5)
    x = torch.rand(B, T, I, dtype=DTYPE)
    net(x)
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        torch.testing.assert_close(twin(x)[0], copy.deepcopy(net)(x)[0], atol=0, rtol=0)


def adam_steps(net, steps=25, lr=0.1, lengths=None):
    """A few large Adam steps towards random targets, which push weights across zero."""
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(B, T, I, dtype=DTYPE, generator=generator)
    target = torch.randn(B, T, net.num_directions * H, dtype=DTYPE, generator=generator)
    for _ in range(steps):
        optimiser.zero_grad()
        outputs, _ = net(x, lengths=lengths)
        loss = ((outputs - target) ** 2).mean() - 0.1 * outputs.abs().mean()
        loss.backward()
        optimiser.step()


@pytest.mark.parametrize("path", PATHS)
def test_dale_s_sign_constraint_holds_exactly_after_adam_steps(path):
    net = make(path, dale=True, num_layers=2, bidirectional=True, learn_tau=True, sigma_rec=0.1)
    n_e = excitatory_count(H, 0.8)
    assert n_e == 4 and net.excitatory_units.tolist() == list(range(n_e))
    before = net.weight_hh_l0.detach().clone()
    adam_steps(net)
    assert (net.weight_hh_l0 < 0).any()  # the free parameters did cross zero
    assert not torch.equal(net.weight_hh_l0, before)
    for layer in range(2):
        for reverse in (False, True):
            weights = net.effective_weights(layer, reverse)
            assert (weights.weight_hh[:, :n_e] >= 0).all()
            assert (weights.weight_hh[:, n_e:] <= 0).all()
            if layer == 0:
                assert (weights.weight_ih >= 0).all()  # inputs are excitatory
            else:  # the layer below's units keep their signs, in both directions
                signs = torch.tensor([1.0] * n_e + [-1.0] * (H - n_e), dtype=DTYPE).repeat(2)
                assert ((weights.weight_ih * signs) >= 0).all()


def test_dale_s_initialisation_balances_excitation_and_inhibition_in_expectation():
    net = rnnlab.CTRNN(I, 200, dale=True, dtype=DTYPE)
    weights = net.effective_weights().weight_hh.detach()
    excitation, inhibition = weights[:, :160].sum(), -weights[:, 160:].sum()
    assert abs(float(excitation / inhibition) - 1) < 0.05
    assert (net.weight_ih_l0 >= 0).all()


@pytest.mark.parametrize("path", PATHS)
def test_learned_time_constants_stay_positive_and_learn(path):
    net = make(path, learn_tau=True, tau=10.0, dt=2.0)
    fixed = make(path, tau=10.0, dt=2.0)
    fixed.load_state_dict(net.state_dict(), strict=False)
    x = torch.rand(B, T, I, dtype=DTYPE)
    torch.testing.assert_close(net(x)[0], fixed(x)[0], atol=1e-14, rtol=1e-12)  # tau at start
    torch.testing.assert_close(net.log_tau_l0, torch.full((H,), math.log(10.0), dtype=DTYPE))
    # Large steps on log tau: tau = exp(log tau) moves, and stays positive whatever they do.
    adam_steps(net, steps=10, lr=1.0)
    tau = torch.exp(net.log_tau_l0)
    assert (tau > 0).all() and not torch.allclose(tau, torch.full_like(tau, 10.0))
    assert torch.isfinite(net(x)[0]).all()


@pytest.mark.parametrize("path", PATHS)
def test_a_connectivity_mask_removes_connections_for_good(path):
    mask = torch.rand(H, H, generator=torch.Generator().manual_seed(0)) > 0.5
    net = make(path, connectivity=mask)
    assert "mask_hh_l0" in net.state_dict()
    x = torch.rand(B, T, I, dtype=DTYPE)
    outputs, _ = net(x)
    outputs.sum().backward()
    assert (net.weight_hh_l0.grad[~mask] == 0).all()  # masked weights get no gradient
    with torch.no_grad():
        net.weight_hh_l0[~mask] = 100.0  # and have no effect
    torch.testing.assert_close(net(x)[0], outputs, atol=0, rtol=0)
    adam_steps(net)
    assert (net.effective_weights().weight_hh[~mask] == 0).all()


@pytest.mark.parametrize("path", PATHS)
def test_padded_steps_do_not_change_the_state(path):
    net = make(path, num_layers=2, bidirectional=True, learn_v0=True)
    random_weights_(net)
    x = torch.rand(B, T, I, dtype=DTYPE)
    outputs, final = net(x, lengths=torch.tensor(LENGTHS))
    for b, length in enumerate(LENGTHS):
        alone_outputs, alone_final = net(x[b : b + 1, :length])
        torch.testing.assert_close(outputs[b : b + 1, :length], alone_outputs, atol=1e-12, rtol=0)
        torch.testing.assert_close(final[:, b : b + 1], alone_final, atol=1e-12, rtol=0)
        assert (outputs[b, length:] == 0).all()
    trace = net.record(x, lengths=torch.tensor(LENGTHS))
    torch.testing.assert_close(trace.hidden[2:].permute(1, 2, 0, 3).flatten(2), outputs)
    assert (trace.currents[:, 1, 2:] == 0).all()


def test_state_dict_round_trip_with_learned_tau_v0_and_a_mask():
    options = dict(
        learn_tau=True, learn_v0=True, v0=0.1, dale=True, num_layers=2,
        connectivity=torch.ones(H, H) - torch.eye(H),
    )  # fmt: skip
    net = make(**options)
    adam_steps(net, steps=3)
    names = set(net.state_dict())
    assert {"log_tau_l0", "v0_l1", "mask_hh_l1", "weight_hh_l1"} <= names
    assert not any(name.startswith("sign_ih") for name in names)  # the options' function
    torch.manual_seed(1)
    other = rnnlab.CTRNN(I, H, dtype=DTYPE, **{**options, "connectivity": torch.ones(H, H)})
    other.load_state_dict(net.state_dict())
    x = torch.rand(B, T, I, dtype=DTYPE)
    # Equal to rounding: MKL's products may sum in another order for other addresses.
    torch.testing.assert_close(other(x), net(x), atol=1e-14, rtol=0)
    # Without the mask the state dict says so: it holds keys the other layer has not.
    with pytest.raises(RuntimeError, match="mask_hh_l0"):
        rnnlab.CTRNN(I, H, dtype=DTYPE, num_layers=2).load_state_dict(net.state_dict())


def test_a_learned_initial_state_receives_gradients():
    net = make(learn_v0=True, v0=0.1)
    state = net.initial_state(B)
    assert state.shape == (1, B, H) and (state == 0.1).all() and state.requires_grad
    outputs, _ = net(torch.rand(B, T, I, dtype=DTYPE))
    outputs.sum().backward()
    assert net.v0_l0.grad is not None and net.v0_l0.grad.abs().sum() > 0


@pytest.mark.parametrize("nonlinearity", ["relu", "softplus", "tanh", "retanh", "sigmoid"])
def test_the_cell_is_one_step_of_the_layer(nonlinearity):
    torch.manual_seed(0)
    options = dict(nonlinearity=nonlinearity, dale=True, learn_tau=True, learn_v0=True, v0=0.2)
    mask = torch.ones(H, H) - torch.eye(H)
    cell = rnnlab.CTRNNCell(I, H, connectivity=mask, dtype=DTYPE, **options)
    net = rnnlab.CTRNN(I, H, connectivity=mask, dtype=DTYPE, **options)
    net.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    x = torch.rand(B, T, I, dtype=DTYPE)
    state = cell.initial_state(B)
    outputs = []
    for t in range(T):
        y_t, state = cell(x[:, t], state)
        outputs.append(y_t)
    want_outputs, want_final = net(x)
    torch.testing.assert_close(torch.stack(outputs, 1), want_outputs, atol=1e-12, rtol=0)
    torch.testing.assert_close(state, want_final[0], atol=1e-12, rtol=0)
    n_e = excitatory_count(H, 0.8)
    assert cell.excitatory_units.tolist() == list(range(n_e))
    assert (cell.effective_weights().weight_hh[:, n_e:] <= 0).all()


def test_the_cell_s_noise_is_seeded_and_off_in_eval():
    cell = rnnlab.CTRNNCell(I, H, sigma_rec=0.5, seed=1, dtype=DTYPE)
    twin = rnnlab.CTRNNCell(I, H, sigma_rec=0.5, seed=1, dtype=DTYPE)
    twin.load_state_dict(cell.state_dict())
    x_t, state = torch.rand(B, I, dtype=DTYPE), cell.initial_state(B)
    torch.testing.assert_close(cell(x_t, state), twin(x_t, state), atol=0, rtol=0)
    cell.eval()
    quiet = rnnlab.CTRNNCell(I, H, dtype=DTYPE)
    quiet.load_state_dict(cell.state_dict())
    torch.testing.assert_close(cell(x_t, state), quiet(x_t, state), atol=0, rtol=0)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (dict(dale=True, excitatory_fraction=1.0), ValueError,
         "excitatory_fraction must lie in (0, 1), the share of excitatory units; got 1.0"),
        (dict(dale=True, excitatory_fraction=0.0), ValueError,
         "excitatory_fraction must lie in (0, 1)"),
        (dict(excitatory_fraction=0.8), ValueError,
         "excitatory_fraction is the share of excitatory units under Dale's law; it needs "
         "dale=True; got dale=False"),
        (dict(dt=-1.0), ValueError, "dt must be > 0; got -1.0"),
        (dict(tau=0), ValueError, "tau must be > 0; got 0.0"),
        (dict(tau=float("nan")), ValueError, "tau must be a finite number; got nan"),
        (dict(tau="fast"), TypeError, "tau must be a number; got str 'fast'"),
        (dict(sigma_rec=-0.1), ValueError, "sigma_rec must be >= 0 (a standard deviation)"),
        (dict(nonlinearity="rectify"), ValueError,
         "nonlinearity must be one of 'relu', 'softplus', 'tanh', 'retanh', 'sigmoid'; "
         "got 'rectify'"),
        (dict(seed=True), TypeError, "seed must be None or an int >= 0; got bool True"),
        (dict(dale=1), TypeError, "dale must be a bool (True or False); got int 1"),
        (dict(connectivity=torch.ones(H, H + 1)), ValueError,
         f"connectivity must have shape (H, H) = ({H}, {H}); got ({H}, {H + 1})"),
        (dict(connectivity=-torch.ones(H, H), dale=True), ValueError,
         "under Dale's law connectivity must be >= 0"),
        (dict(connectivity=[[1.0]]), TypeError, "connectivity must be None or a tensor"),
        (dict(mask=torch.ones(H, H)), TypeError, "unexpected keyword argument 'mask'"),
    ],
)  # fmt: skip
def test_bad_options_say_what_was_expected_and_what_was_got(options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rnnlab.CTRNN(I, H, **options)
    if "mask" not in options:
        with pytest.raises(error, match=re.escape(message)):
            rnnlab.CTRNNCell(I, H, **options)


def test_dale_needs_an_excitatory_unit_and_excitatory_units_need_dale():
    with pytest.raises(
        ValueError, match=re.escape("floor(0.5 * hidden_size) = 0 with hidden_size = 1")
    ):
        rnnlab.CTRNN(I, 1, dale=True, excitatory_fraction=0.5)
    with pytest.raises(ValueError, match="excitatory_units needs Dale's law"):
        _ = rnnlab.CTRNN(I, H).excitatory_units
    with pytest.raises(ValueError, match=re.escape("layer must be in [0, 0]; got 1")):
        rnnlab.CTRNN(I, H).effective_weights(1)


def test_a_config_builds_a_ctrnn_network():
    from rnnlab.models.config import CTRNNConfig, build_model

    config = CTRNNConfig(kind="ctrnn", hidden_size=H, dale=True, sigma_rec=0.1, learn_tau=True)
    network = build_model(config, I, 2)
    layer = next(m for m in network.modules() if isinstance(m, rnnlab.CTRNN))
    assert layer.dale and layer.learn_tau and layer.sigma_rec == 0.1 and layer.dt == 20.0


def test_gradient_flow_analyses_the_euler_map_of_the_top_layer():
    """The analysis reads the spec: the layer above reads the rates f(v) of the one below, and
    J_t = diag(1 - alpha) + diag(alpha) W_hh_eff diag f'(v_{t-1}), within the spec's bound."""
    from rnnlab.analysis.gradient_flow import recurrent_jacobians

    net = make(nonlinearity="tanh", num_layers=2, dale=True, learn_tau=True, v0=0.3)
    random_weights_(net)
    x = torch.rand(B, T, I, dtype=DTYPE)
    spectrum = recurrent_jacobians(net, x)
    currents = net.record(x).currents[1].detach()  # (B, T, H), the top layer
    before = torch.cat([torch.full((B, 1, H), 0.3, dtype=DTYPE), currents[:, :-1]], dim=1)
    alpha = (net.dt / torch.exp(net.log_tau_l1)).detach()
    weight_hh = net.effective_weights(1).weight_hh.detach()
    slope = 1 - torch.tanh(before) ** 2  # (B, T, H)
    want = torch.diag(1 - alpha) + alpha[:, None] * weight_hh[None, None] * slope[..., None, :]
    np.testing.assert_allclose(spectrum.jacobians, want.numpy(), atol=1e-12, rtol=1e-12)
    assert spectrum.state == "v" and spectrum.bound is not None
    assert spectrum.singular_values.max() <= spectrum.bound
