r"""The continuous-time recurrent network (CTRNN), the rate network of computational
neuroscience: its step, its spec and its cell.

Each unit carries a current ``v`` and fires at the rate ``h = f(v)``; with input ``x``::

    tau dv/dt = -v + W_hh f(v) + b_hh + W_ih x + b_ih + noise

Song, Yang & Wang (2016) write x for our ``v``, r for our ``h`` and u for our input ``x``
(rnnlab's ``x_t`` is always the input). Euler's method with step ``dt``, ``alpha = dt / tau``,
gives one step of one layer and direction::

    v_t = (1 - alpha) * v_{t-1} + alpha * (W_hh h_{t-1} + b_hh + W_ih x~_t + b_ih)
          + sigma_rec * sqrt(2 alpha) * xi_t
    h_t = f(v_t)
    x~_t = x_t + sigma_in * sqrt(2 / alpha_0) * zeta_t        (the first layer's input only)

with xi_t, zeta_t ~ N(0, 1) and ``alpha_0 = dt / tau`` of the ``tau`` option. The per-step
recurrent noise has s.d. ``sqrt(2 alpha) sigma_rec``: pycog's xi_rec = sqrt(tau) sqrt(2
sigma_rec^2 / dt) N(0, 1) inside the bracket, multiplied by alpha (``pycog/trainer.py``); the
input noise is pycog's sqrt(2 tau_in sigma_in^2 / dt) N(0, 1), with tau_in = tau. Noise is drawn
in training mode only (also in eval with ``noise_in_eval=True``), from a generator seeded with
``seed``, else from torch's global one (as dropout's).

**The state is the currents ``v`` (H units); the output is the rates ``h = f(v)``**, which the
layer above and a readout read and ``record`` keeps as ``hidden`` (the currents as
``currents``). The final state a layer returns is ``v`` at each sequence's last step, so
``f(state)`` is its last output. ``f``: ``"relu"`` (pycog's default), ``"softplus"``, ``"tanh"``,
``"retanh"`` (max(0, tanh), Yang et al. 2019) or ``"sigmoid"``. ``v`` starts at ``v0`` (0 by
default; a learned (H,) parameter per layer and direction with ``learn_v0=True``, pycog's
trainable x0, which it starts at 0.1).

**Time constants.** ``tau`` (default 100, pycog's 100 ms) and ``dt`` (default ``tau / 5``, so
alpha = 0.2) share one unit of time; only alpha enters the step. With ``learn_tau=True`` every
unit has its own learned ``tau_i = exp(log_tau_i)``, positive whatever the optimiser does, which
starts at ``tau``; ``dt`` stays fixed, so alpha_i = dt / tau_i. Nothing keeps tau_i >= dt: an
alpha above 1 is a valid map but overshoots the continuous dynamics.

**Dale's law** (``dale=True``): the first ``floor(excitatory_fraction * H)`` units (default 0.8)
are excitatory, sign +1, the rest inhibitory, -1 (pycog's ``generate_ei``). The weights a step
applies are::

    W_hh_eff = mask * |W_hh| diag(s)       column j, the presynaptic unit j, has the sign s_j
    W_ih_eff = |W_ih|                      inputs are excitatory (the first layer)
    W_ih_eff = |W_ih| diag(s_below)        a layer above: the signs of the units below

so the sign constraint holds exactly after any update of the free parameters ``W_hh``, ``W_ih``
(pycog's ``make_positive`` = ``abs``). rnnlab's readouts (:mod:`rnnlab.models.readout`) read
the excitatory units only, through non-negative weights (the spec's ``readout_units``;
:attr:`CTRNNCell.excitatory_units`, and the layer's). Without Dale, ``W_hh_eff = mask * W_hh``.

**Connectivity**: ``connectivity``, an (H, H) tensor (non-negative under Dale), multiplies
``W_hh`` at every step (a buffer ``mask_hh``, saved in state dicts), so a weight it sets to 0
has no effect and receives no gradient.

Parameters: ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` and ``bias_hh`` (H,)
(torch.nn.RNN's names, so weights move to and from :class:`rnnlab.Elman`: with alpha = 1, no
noise, f = tanh and v0 = 0 the outputs are Elman's), ``log_tau`` (H,) with ``learn_tau``, ``v0``
(H,) with ``learn_v0``. Initialisation: U(-1/sqrt(H), 1/sqrt(H)) as torch.nn.RNN (the same draws
as Elman's); under Dale the magnitudes, with every inhibitory column scaled by n_E / n_I so that
each unit's excitation and inhibition balance in expectation (pycog balances too, with Gamma(2)
magnitudes scaled to spectral radius 1.5); ``log_tau = log(tau)``; ``v0`` the option ``v0``.

Deliberate deviations from pycog: a bias is learned unless ``bias=False`` (pycog's ``brec`` is
fixed at 0); the noisy inputs are not rectified (under Dale the input weights are non-negative,
the inputs may be of either sign).

The one-step Jacobian is ``diag(1 - alpha) + diag(alpha) W_hh_eff diag f'(v_{t-1})``, so
‖J_t‖₂ ≤ max|1 - alpha| + max(alpha) γ λ₁(W_hh_eff).

Song, H. F., Yang, G. R. and Wang, X.-J. (2016). Training excitatory-inhibitory recurrent
neural networks for cognitive tasks: a simple and flexible framework. *PLoS Computational
Biology*, 12(2), e1004792.
Yang, G. R., Joglekar, M. R., Song, H. F., Newsome, W. T. and Wang, X.-J. (2019). Task
representations in neural networks trained to perform many cognitive tasks. *Nature
Neuroscience*, 22(2), 297-306.
"""

import math
import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.cells.activations import ACTIVATIONS, SLOPE_BOUNDS, check_activation
from rnnlab.cells.base import RecurrentCell, check_bool, check_size, init_uniform_
from rnnlab.cells.spec import CellSpec, spectral_norm

NONLINEARITIES = ("relu", "softplus", "tanh", "retanh", "sigmoid")
DEFAULT_EXCITATORY_FRACTION = 0.8  # pycog's pE
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class CTRNNTrace(NamedTuple):
    """Every step of a CTRNN layer: ``hidden``, the rates h = f(v) that it outputs, and
    ``currents``, its state v; each (L*D, B, T, H)."""

    hidden: torch.Tensor
    currents: torch.Tensor


class CTRNNWeights(NamedTuple):
    """The weights a step applies, after Dale's law and the connectivity mask:
    ``weight_ih`` (H, I) and ``weight_hh`` (H, H)."""

    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


# -- the options --------------------------------------------------------------------------------


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value}")
    return value


def _positive(name: str, value: object) -> float:
    value = _number(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value


def _non_negative(name: str, value: object) -> float:
    value = _number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (a standard deviation); got {value}")
    return value


def excitatory_count(hidden_size: int, fraction: float) -> int:
    """n_E = floor(fraction * H), the excitatory units of a layer (pycog's ``int(pE * N)``);
    the 1e-9 keeps 0.29 * 100 = 28.999... from losing a unit."""
    return math.floor(fraction * hidden_size + 1e-9)


def ctrnn_options(
    hidden_size: int,
    bias: bool,
    *,
    nonlinearity: str = "relu",
    tau: float = 100.0,
    dt: float | None = None,
    learn_tau: bool = False,
    sigma_rec: float = 0.0,
    sigma_in: float = 0.0,
    noise_in_eval: bool = False,
    seed: int | None = None,
    dale: bool = False,
    excitatory_fraction: float | None = None,
    v0: float = 0.0,
    learn_v0: bool = False,
) -> dict:
    """The CTRNN's options, checked, with ``dt`` (default ``tau / 5``) and, under Dale,
    ``excitatory_fraction`` (default 0.8) filled in; see the module docstring."""
    nonlinearity = check_activation("nonlinearity", nonlinearity, NONLINEARITIES)
    tau = _positive("tau", tau)
    dt = tau / 5 if dt is None else _positive("dt", dt)
    dale = check_bool("dale", dale)
    if excitatory_fraction is not None and not dale:
        raise ValueError(
            "excitatory_fraction is the share of excitatory units under Dale's law; it needs "
            f"dale=True; got dale=False with excitatory_fraction={excitatory_fraction!r}"
        )
    if dale:
        if excitatory_fraction is None:
            excitatory_fraction = DEFAULT_EXCITATORY_FRACTION
        excitatory_fraction = _number("excitatory_fraction", excitatory_fraction)
        if not 0 < excitatory_fraction < 1:
            raise ValueError(
                "excitatory_fraction must lie in (0, 1), the share of excitatory units; "
                f"got {excitatory_fraction}"
            )
        if hidden_size > 0 and excitatory_count(hidden_size, excitatory_fraction) < 1:
            raise ValueError(
                f"dale=True needs at least one excitatory unit, but floor({excitatory_fraction}"
                f" * hidden_size) = 0 with hidden_size = {hidden_size}; make hidden_size or "
                "excitatory_fraction larger"
            )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be None or an int >= 0; got {type(seed).__name__} {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be None or an int >= 0; got {seed}")
    return {
        "nonlinearity": nonlinearity,
        "tau": tau,
        "dt": dt,
        "learn_tau": check_bool("learn_tau", learn_tau),
        "sigma_rec": _non_negative("sigma_rec", sigma_rec),
        "sigma_in": _non_negative("sigma_in", sigma_in),
        "noise_in_eval": check_bool("noise_in_eval", noise_in_eval),
        "seed": seed,
        "dale": dale,
        "excitatory_fraction": excitatory_fraction,
        "v0": _number("v0", v0),
        "learn_v0": check_bool("learn_v0", learn_v0),
    }


def check_connectivity(connectivity: object, hidden_size: int, dale: bool) -> torch.Tensor | None:
    """``connectivity`` as a float tensor (H, H), or None; an error naming what was got."""
    if connectivity is None:
        return None
    if not isinstance(connectivity, torch.Tensor):
        raise TypeError(
            f"connectivity must be None or a tensor of shape (H, H) = ({hidden_size}, "
            f"{hidden_size}); got {type(connectivity).__name__}"
        )
    if tuple(connectivity.shape) != (hidden_size, hidden_size):
        raise ValueError(
            f"connectivity must have shape (H, H) = ({hidden_size}, {hidden_size}); "
            f"got {tuple(connectivity.shape)}"
        )
    mask = connectivity.detach()
    if not mask.is_floating_point():  # a bool or integer 0/1 mask
        mask = mask.to(torch.get_default_dtype())
    if not bool(torch.isfinite(mask).all()):
        raise ValueError("connectivity must be finite; got NaN or infinite entries")
    if dale and bool((mask < 0).any()):
        raise ValueError(
            "under Dale's law connectivity must be >= 0 (a negative entry would flip a "
            f"unit's sign); got a minimum of {float(mask.min())}"
        )
    return mask.clone()


# -- one step -----------------------------------------------------------------------------------


def unit_signs(hidden_size: int, fraction: float, like: torch.Tensor) -> torch.Tensor:
    """(H,) with +1 for the excitatory units, the first ``floor(fraction * H)``, and -1 for
    the rest; in ``like``'s dtype and device."""
    excitatory = torch.arange(hidden_size, device=like.device) < excitatory_count(
        hidden_size, fraction
    )
    return torch.where(excitatory, 1.0, -1.0).to(like.dtype)


def effective_weights(p, options) -> CTRNNWeights:
    """The weights a step applies: Dale's law (``|W| diag(s)``, inputs ``|W_ih|``, times
    ``p["sign_ih"]`` where a layer below gives its signs) and the mask ``p["mask_hh"]``."""
    weight_ih, weight_hh = p["weight_ih"], p["weight_hh"]
    if options["dale"]:
        signs = unit_signs(weight_hh.shape[0], options["excitatory_fraction"], weight_hh)
        weight_hh = weight_hh.abs() * signs  # (H, H) * (H,): column j times s_j
        weight_ih = weight_ih.abs()
        if p.get("sign_ih") is not None:
            weight_ih = weight_ih * p["sign_ih"]
    if p.get("mask_hh") is not None:
        weight_hh = weight_hh * p["mask_hh"]
    return CTRNNWeights(weight_ih, weight_hh)


def leak(p, options) -> float | torch.Tensor:
    """alpha = dt / tau: a number, or (H,) where the time constants tau = exp(log_tau) are
    learned."""
    if options["learn_tau"]:
        return options["dt"] * torch.exp(-p["log_tau"])
    return options["dt"] / options["tau"]


def recurrent_noise(noise: torch.Tensor, alpha, options) -> torch.Tensor:
    """The noise a step adds to v, sigma_rec sqrt(2 alpha) xi, from standard normal ``noise``
    (B, H) or (B, T, H)."""
    scale = math.sqrt(2 * alpha) if isinstance(alpha, float) else torch.sqrt(2 * alpha)
    return options["sigma_rec"] * scale * noise


def input_noise(noise: torch.Tensor, options) -> torch.Tensor:
    """The noise added to the inputs, sigma_in sqrt(2 / alpha_0) zeta, alpha_0 = dt / tau,
    from standard normal ``noise`` (B, I) or (B, T, I)."""
    return options["sigma_in"] * math.sqrt(2 * options["tau"] / options["dt"]) * noise


def step_tensors(x: torch.Tensor, p, options) -> tuple:
    """What a step applies, from a layer and direction's tensors ``p`` (its parameters, buffers
    and, where the call draws noise, ``noise_ih`` and ``noise_hh``): ``(x~, W_ih_eff, W_hh_eff,
    alpha, n)``, the inputs ``x`` with their noise, the weights after Dale's law and the mask,
    alpha (a number or (H,)) and the scaled recurrent noise (or None). ``x`` and the noise are
    one step's, (B, ...), or a sequence's, (B, T, ...). The reference step and the fast kernel
    (:mod:`rnnlab.kernels.ctrnn`) both start here."""
    weights = effective_weights(p, options)
    alpha = leak(p, options)
    if p.get("noise_ih") is not None:
        x = x + input_noise(p["noise_ih"], options)
    noise = p.get("noise_hh")
    if noise is not None:
        noise = recurrent_noise(noise, alpha, options)
    return x, weights.weight_ih, weights.weight_hh, alpha, noise


def ctrnn_step(
    x_t: torch.Tensor,
    v: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
    alpha: float | torch.Tensor,
    nonlinearity: str,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """One Euler step of the currents, (B, H), with the weights a step applies
    (:func:`effective_weights`) and the scaled noise (or None)::

        v_t = (1 - alpha) v + alpha (W_ih x_t + b_ih + W_hh f(v) + b_hh) + noise
    """
    drive = F.linear(x_t, weight_ih, bias_ih) + F.linear(
        ACTIVATIONS[nonlinearity](v), weight_hh, bias_hh
    )
    v_t = (1 - alpha) * v + alpha * drive
    return v_t if noise is None else v_t + noise


def _shapes(input_size, hidden_size, bias, options):
    H = hidden_size
    return {
        "weight_ih": (H, input_size),
        "weight_hh": (H, H),
        "bias_ih": (H,) if bias else None,
        "bias_hh": (H,) if bias else None,
        "log_tau": (H,) if options["learn_tau"] else None,
        "v0": (H,) if options["learn_v0"] else None,
    }


def _step(x_t, state, p, options):
    x_t, weight_ih, weight_hh, alpha, noise = step_tensors(x_t, p, options)
    v = ctrnn_step(
        x_t, state[0], weight_ih, weight_hh, p["bias_ih"], p["bias_hh"], alpha,
        options["nonlinearity"], noise,
    )  # fmt: skip
    return (v,), (ACTIVATIONS[options["nonlinearity"]](v), v)


def _output(state, options):
    return ACTIVATIONS[options["nonlinearity"]](state[0])


def _rest(options):
    return (options["v0"],)


def ctrnn_initialise(params, hidden_size: int, options, generator=None) -> None:
    """torch.nn.RNN's U(-1/sqrt(H), 1/sqrt(H)) for the weights and biases (in Elman's order,
    so the same generator gives the same draws); under Dale their magnitudes, the inhibitory
    columns scaled by n_E / n_I; ``log_tau = log(tau)``, ``v0`` the option ``v0``."""
    init_uniform_([params[n] for n in WEIGHTS if params.get(n) is not None], hidden_size, generator)
    with torch.no_grad():
        if options["dale"]:
            params["weight_ih"].abs_()
            weight_hh = params["weight_hh"].abs_()
            excitatory = excitatory_count(hidden_size, options["excitatory_fraction"])
            inhibitory = hidden_size - excitatory
            if excitatory and inhibitory:
                weight_hh[:, excitatory:] *= excitatory / inhibitory
        if params.get("log_tau") is not None:
            params["log_tau"].fill_(math.log(options["tau"]))
        if params.get("v0") is not None:
            params["v0"].fill_(options["v0"])


def ctrnn_jacobian_bound(p, options) -> float:
    """max|1 - alpha| + max(alpha) γ λ₁(W_hh_eff), which bounds every ‖∂v_t/∂v_{t-1}‖₂."""
    with torch.no_grad():
        alpha = torch.as_tensor(leak(p, options), dtype=torch.float64)
        weight_hh = effective_weights(p, options).weight_hh
        gamma = SLOPE_BOUNDS[options["nonlinearity"]]
        return float((1 - alpha).abs().max()) + float(alpha.max()) * gamma * spectral_norm(
            weight_hh
        )


def _readout_units(hidden_size: int, options) -> torch.Tensor | None:
    """Under Dale's law a readout reads the excitatory units, through non-negative weights
    (pycog's ``W_out = [W_out]+`` on the excitatory units); without it, every unit."""
    return excitatory_indices(hidden_size, options) if options["dale"] else None


CTRNN_SPEC = CellSpec(
    name="CTRNN",
    parameter_shapes=_shapes,
    state_names=("v",),
    step=_step,
    trace_type=CTRNNTrace,
    check_options=ctrnn_options,
    rest_values=_rest,
    output=_output,
    per_step=("noise_ih", "noise_hh"),
    initialise=ctrnn_initialise,
    readout_units=_readout_units,
    jacobian_bound=ctrnn_jacobian_bound,
)


# -- noise --------------------------------------------------------------------------------------


class NoiseSource:
    """Where a CTRNN's noise comes from: a ``torch.Generator`` seeded once with ``seed``, whose
    draws continue from call to call (a run is reproducible from the seed), or torch's global
    generator where ``seed`` is None (as dropout's, seeded by ``torch.manual_seed``).

    Copies (``copy.deepcopy``, pickling) carry the generator's state with them.
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._generator: torch.Generator | None = None

    def generator(self, device: torch.device) -> torch.Generator | None:
        """The generator for ``device``, seeded with ``seed`` the first time (and again on a
        new device), or None for torch's global one."""
        if self.seed is None:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed)
        return self._generator

    def normal(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """Standard normal draws of ``shape``, with ``like``'s dtype and device."""
        generator = self.generator(like.device)
        return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)

    def get_state(self) -> torch.Tensor | None:
        """The generator's state (a uint8 tensor, ``torch.Generator.get_state``), what a
        checkpoint keeps so that a resumed run draws the noise the uninterrupted run would
        have; None where the noise comes from torch's global generator (kept with it)."""
        if self.seed is None:
            return None
        if self._generator is None:  # nothing drawn yet: the freshly seeded state
            return torch.Generator().manual_seed(self.seed).get_state()
        return self._generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        """Continue from a state that :meth:`get_state` returned (on the CPU; on another
        device the generator is seeded afresh there, as after a move)."""
        if self.seed is None:
            raise ValueError("this noise comes from torch's global generator; it has no state")
        self._generator = torch.Generator()
        self._generator.set_state(state.to(torch.uint8).cpu())

    def __getstate__(self) -> dict:
        generator = self._generator
        held = None if generator is None else (str(generator.device), generator.get_state())
        return {"seed": self.seed, "held": held}

    def __setstate__(self, state: dict) -> None:
        self.seed, self._generator = state["seed"], None
        if state["held"] is not None:
            device, generator_state = state["held"]
            self._generator = torch.Generator(device=device)
            self._generator.set_state(generator_state)

    def __repr__(self) -> str:
        return f"NoiseSource(seed={self.seed!r})"


def noise_active(module: nn.Module, options) -> bool:
    """True where a call draws noise: some sigma > 0, and training (or ``noise_in_eval``)."""
    noisy = options["sigma_rec"] > 0 or options["sigma_in"] > 0
    return noisy and (module.training or options["noise_in_eval"])


# -- the cell -----------------------------------------------------------------------------------


class CTRNNCell(RecurrentCell):
    r"""One Euler step of a continuous-time rate network (see the module docstring)::

        v_t = (1 - alpha) v_{t-1} + alpha (W_hh f(v_{t-1}) + b_hh + W_ih x~_t + b_ih)
              + sigma_rec sqrt(2 alpha) xi_t
        y_t = f(v_t)

    The state is the currents ``v``; ``y_t`` the rates. Under Dale's law, Dale's signs and the
    mask apply to the weights at every step (:meth:`effective_weights`).

    Args:
        input_size: I.
        hidden_size: H.
        bias: learn ``b_ih`` and ``b_hh``.
        nonlinearity: f, ``"relu"``, ``"softplus"``, ``"tanh"``, ``"retanh"`` or ``"sigmoid"``.
        tau: the time constant, > 0 (default 100, in the units of ``dt``).
        dt: the Euler step, > 0 (default ``tau / 5``).
        learn_tau: learn one time constant per unit, ``tau_i = exp(log_tau_i)``.
        sigma_rec: the recurrent noise's sigma, >= 0: s.d. ``sqrt(2 alpha) sigma_rec`` a step.
        sigma_in: the input noise's sigma, >= 0: s.d. ``sqrt(2 / alpha_0) sigma_in``.
        noise_in_eval: draw noise in eval mode too (by default only in training).
        seed: seed of the cell's own noise generator; None draws from torch's global one.
        dale: Dale's law, with ``excitatory_fraction`` (default 0.8) of the units excitatory.
        excitatory_fraction: in (0, 1); only with ``dale=True``.
        connectivity: an (H, H) mask that multiplies ``W_hh`` (non-negative under Dale).
        v0: the initial currents' value (default 0).
        learn_v0: learn the initial currents, a parameter ``v0`` (H,) starting at ``v0``.

    Shapes:
        ``x_t`` (B, I); the state (currents) and ``y_t`` (rates) (B, H).

    Parameters:
        ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,), with
        ``learn_tau`` ``log_tau`` (H,), with ``learn_v0`` ``v0`` (H,); the buffer ``mask_hh``
        (H, H) with a connectivity mask.

    Example:
        >>> cell = CTRNNCell(3, 5, dale=True, sigma_rec=0.1, seed=0)
        >>> y_t, state = cell(torch.ones(2, 3), cell.initial_state(2))
        >>> tuple(y_t.shape), bool((cell.effective_weights().weight_hh[:, 4] <= 0).all())
        ((2, 5), True)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "relu",
        *,
        tau: float = 100.0,
        dt: float | None = None,
        learn_tau: bool = False,
        sigma_rec: float = 0.0,
        sigma_in: float = 0.0,
        noise_in_eval: bool = False,
        seed: int | None = None,
        dale: bool = False,
        excitatory_fraction: float | None = None,
        connectivity: torch.Tensor | None = None,
        v0: float = 0.0,
        learn_v0: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.bias = check_bool("bias", bias)
        self.options = ctrnn_options(
            hidden_size, bias, nonlinearity=nonlinearity, tau=tau, dt=dt, learn_tau=learn_tau,
            sigma_rec=sigma_rec, sigma_in=sigma_in, noise_in_eval=noise_in_eval, seed=seed,
            dale=dale, excitatory_fraction=excitatory_fraction, v0=v0, learn_v0=learn_v0,
        )  # fmt: skip
        factory = {"device": device, "dtype": dtype}
        self._register(_shapes(input_size, hidden_size, bias, self.options), factory)
        mask = check_connectivity(connectivity, hidden_size, self.options["dale"])
        like = self.weight_hh
        self.register_buffer(
            "mask_hh", None if mask is None else mask.to(device=like.device, dtype=like.dtype)
        )
        self.noise = NoiseSource(seed)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """As the layers initialise (:func:`ctrnn_initialise`)."""
        ctrnn_initialise(self._tensors(), self.hidden_size, self.options, generator)

    def _tensors(self) -> dict[str, torch.Tensor | None]:
        names = (*_shapes(0, 0, True, self.options), "mask_hh")
        return {name: getattr(self, name) for name in names}

    def effective_weights(self) -> CTRNNWeights:
        """The weights a step applies now, after Dale's law and the mask."""
        return effective_weights(self._tensors(), self.options)

    @property
    def excitatory_units(self) -> torch.Tensor:
        """The indices of the excitatory units (a readout reads these), under Dale's law."""
        return excitatory_indices(self.hidden_size, self.options)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The currents at the start: (B, H) filled with ``v0`` (the learned one if any)."""
        batch_size = check_size("batch_size", batch_size, minimum=0)
        if self.options["learn_v0"]:
            return self.v0.expand(batch_size, self.hidden_size)
        return self.weight_hh.new_full((batch_size, self.hidden_size), self.options["v0"])

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, the rates and the currents (B, H)."""
        self._check_step_input(x_t, [("v", state, self.hidden_size)])
        p = self._tensors()
        if noise_active(self, self.options):
            B = x_t.shape[0]
            if self.options["sigma_in"] > 0:
                p["noise_ih"] = self.noise.normal((B, self.input_size), x_t)
            if self.options["sigma_rec"] > 0:
                p["noise_hh"] = self.noise.normal((B, self.hidden_size), x_t)
        (v,), (rates, _) = _step(x_t, (state,), p, self.options)
        return rates, v

    def extra_repr(self) -> str:
        shown = "".join(f", {name}={value!r}" for name, value in self.options.items())
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}{shown}"


def excitatory_indices(hidden_size: int, options) -> torch.Tensor:
    """The excitatory units' indices under Dale's law, ``arange(floor(fraction * H))``; an
    error without it."""
    if not options["dale"]:
        raise ValueError(
            "excitatory_units needs Dale's law (dale=True): without it no unit is excitatory "
            "or inhibitory; a readout may read every unit"
        )
    return torch.arange(excitatory_count(hidden_size, options["excitatory_fraction"]))
