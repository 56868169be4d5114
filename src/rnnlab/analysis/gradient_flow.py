r"""Gradient flow through time: how fast ∂h_T/∂h_t and ∂L/∂h_t shrink (or grow) with the lag.

The chain rule writes the sensitivity of the final state to an earlier one as a product of
one-step Jacobians::

    ∂h_T/∂h_t = ∂h_T/∂h_{T-1} · ∂h_{T-1}/∂h_{T-2} ··· ∂h_{t+1}/∂h_t = Π_{k=t+1}^{T} J_k,
    J_k = ∂h_k/∂h_{k-1}   (S × S for a state of S units).

For Elman's network, ``h_k = f(a_k)`` with ``a_k = W_ih x_k + b_ih + W_hh h_{k-1} + b_hh``, so
``J_k = diag(f'(a_k)) W_hh`` and, with γ = sup|f'| (1 for tanh and relu, 1/4 for the logistic)
and λ₁ the largest singular value of ``W_hh``,

    ‖∂h_T/∂h_t‖₂ ≤ Π_{k=t+1}^{T} ‖diag f'(a_k)‖₂ ‖W_hh‖₂ ≤ (γ λ₁)^{T-t}.

Hence λ₁ < 1/γ is sufficient for the gradient to vanish exponentially in the lag and
λ₁ > 1/γ necessary for it to explode (Pascanu, Mikolov & Bengio 2013; Bengio, Simard &
Frasconi 1994 for the latching argument). The gradient of a loss ``L = Σ_τ L_τ(h_τ)`` that
reaches ``h_t`` is the sum over the later steps that ``h_t`` influences,

    ∂L/∂h_t = Σ_{τ ≥ t} ∂L_τ/∂h_τ · ∂h_τ/∂h_t,

so its terms from distant τ are weighted by exactly these products.

What is measured here, for any rnnlab layer (:class:`~rnnlab.Elman` with tanh, relu or
sigmoid units, :class:`~rnnlab.Jordan`, :class:`~rnnlab.GRU`, :class:`~rnnlab.LSTM`, or a
:class:`~rnnlab.layers.RecurrentLayer` over a family of one's own; one direction; any number of
layers). Everything about the family comes from its :class:`~rnnlab.cells.spec.CellSpec`: the
step function (the reference path's, whichever path the layer runs), the state's parts and
sizes, and the bound on a one-step Jacobian where the spec names one.

- :func:`state_gradient_norms`: ‖∂h_T/∂h_t‖ for every t = 0..T, exactly, by backpropagation.
- :func:`loss_gradient_norms`: ‖∂L/∂h_t‖ for every t, one backward pass.
- :func:`recurrent_jacobians`: every one-step Jacobian J_t along the trajectory (exact, with
  :func:`torch.func.jacrev` of the spec's step function), its singular values and spectral
  radius.

Conventions shared by all three:

- Time: ``x`` (B, T, I) holds the inputs x_1..x_T; ``h_0`` is the initial state and ``h_t``
  the state after step t, which is ``layer.record(x).hidden[-1, :, t - 1]``. Arrays indexed by
  ``t`` run over t = 0..T (T + 1 entries); ``.lags`` is ``T - t``.
- Layer: with ``num_layers > 1`` the **top layer** is analysed. Its inputs (the outputs of the
  layer below) are computed once and held fixed, which is exact: the top layer's states do not
  feed back into the layers below. Dropout between layers is not applied (evaluation mode).
- State: the recurrent state of the top layer, the vector that carries information from step
  to step, the spec's output part: ``h`` (H units) for Elman and GRU; the context ``y``, the
  previous *output* (O units), for Jordan; ``h`` for the LSTM, whose full state is ``(h, c)``.
  For the LSTM, ``∂h_T/∂h_t`` perturbs ``h_t`` alone with ``c_t`` held fixed, and follows the
  perturbation through the full recurrence: through the gates into ``c_{t+1}, ..., c_T`` as
  well as directly into ``h_{t+1}``. :func:`recurrent_jacobians` uses the full LSTM state
  ``[h; c]`` (2H units), because only the full state's one-step Jacobians multiply up along
  the chain; so for any family with several state parts (all of them, in the spec's order).
- Parameters are read, never changed, and no ``.grad`` is touched.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike

import numpy as np
import torch

from rnnlab.layers import RecurrentLayer

State = tuple[torch.Tensor, ...]


# -- result objects -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExponentialFit:
    """Least-squares line ``log(norm) ≈ intercept + slope · lag`` (natural logarithm).

    Attributes:
        slope: change of the log-norm per step of lag; negative for vanishing gradients.
        intercept: fitted log-norm at lag 0.
        r_squared: coefficient of determination of the fit, 1 for an exact exponential.
        points: how many lags entered the fit (lags with a zero norm are left out).
    """

    slope: float
    intercept: float
    r_squared: float
    points: int

    @property
    def rate(self) -> float:
        """The factor by which the norm changes per step of lag, ``exp(slope)``."""
        return math.exp(self.slope)


@dataclass(frozen=True)
class GradientFlow:
    """Norms of a gradient (or Jacobian) with respect to the state at every step t = 0..T.

    Attributes:
        per_sequence: (B, T + 1) the norm for every sequence and step: the Frobenius norm of
            ∂s_T/∂s_t for :func:`state_gradient_norms`, the Euclidean norm of ∂L/∂s_t for
            :func:`loss_gradient_norms`.
        spectral: (B, T + 1) the spectral norm (largest singular value) of ∂s_T/∂s_t, or None
            for loss gradients (a vector's spectral norm is its Euclidean norm).
        cell: which layer was analysed, e.g. ``"Elman(tanh), layer 0 of 1"``.
        quantity: what the norms are of, e.g. ``"‖∂h_T/∂h_t‖_F"``.
    """

    per_sequence: np.ndarray
    spectral: np.ndarray | None
    cell: str
    quantity: str

    @property
    def norms(self) -> np.ndarray:
        """(T + 1,) the norm at each step t, averaged over the batch."""
        return self.per_sequence.mean(axis=0)

    @property
    def steps(self) -> np.ndarray:
        """(T + 1,) the steps t = 0..T (t = 0 is the initial state)."""
        return np.arange(self.per_sequence.shape[1])

    @property
    def lags(self) -> np.ndarray:
        """(T + 1,) the lags T - t, from T (the initial state) down to 0."""
        return self.steps[-1] - self.steps

    def fit_exponential(self, min_lag: int = 1, max_lag: int | None = None) -> ExponentialFit:
        """Regress the log of :attr:`norms` on the lag, over ``min_lag <= lag <= max_lag``.

        A straight line with negative slope is the signature of exponentially vanishing
        gradients, ``‖∂h_T/∂h_t‖ ≈ e^{intercept} · rate^{T-t}``. Lag 0 is left out by default:
        there ∂h_T/∂h_T is the identity whatever the dynamics.

        Args:
            min_lag: smallest lag in the fit.
            max_lag: largest lag in the fit; None for T.

        Returns:
            :class:`ExponentialFit`; lags whose norm is exactly 0 (dead relu units, say) are
            left out, and ``points`` says how many remained.

        Raises:
            ValueError: fewer than two lags to fit.
        """
        lags = self.lags
        norms = self.norms
        keep = (lags >= min_lag) & (norms > 0) & np.isfinite(norms)
        if max_lag is not None:
            keep &= lags <= max_lag
        if keep.sum() < 2:
            raise ValueError(
                f"fit_exponential needs at least two lags with a positive norm in "
                f"[{min_lag}, {max_lag}]; got {int(keep.sum())}"
            )
        u = lags[keep].astype(np.float64)
        v = np.log(norms[keep])
        du = u - u.mean()
        slope = float((du * (v - v.mean())).sum() / (du**2).sum())
        intercept = float(v.mean() - slope * u.mean())
        residual = float(((v - intercept - slope * u) ** 2).sum())
        total = float(((v - v.mean()) ** 2).sum())
        r_squared = 1.0 - residual / total if total > 0 else 1.0
        return ExponentialFit(slope, intercept, r_squared, int(keep.sum()))


@dataclass(frozen=True)
class JacobianSpectrum:
    """The one-step Jacobians J_t = ∂s_t/∂s_{t-1}, t = 1..T, along a trajectory.

    Attributes:
        jacobians: (B, T, S, S); ``jacobians[b, t - 1]`` is J_t of sequence b, row = unit of
            s_t, column = unit of s_{t-1}. S is H (Elman, GRU), O (Jordan) or 2H for the
            LSTM, whose state is ordered ``[h; c]``.
        singular_values: (B, T, S) of each J_t, in descending order.
        spectral_radius: (B, T) the largest modulus of an eigenvalue of each J_t.
        cell: which layer was analysed.
        state: the state's name, ``"h"``, ``"y"`` or ``"[h; c]"``.
        bound: a bound on every ‖J_t‖₂ that is a property of the weights alone, where the
            spec names one (``CellSpec.jacobian_bound``): Pascanu et al.'s γ_f λ₁(W_hh) for
            Elman, γ_g λ₁(W_ho) γ_f λ₁(W_hh) for Jordan; None for the gated cells, whose gates
            make it depend on the trajectory.
    """

    jacobians: np.ndarray
    singular_values: np.ndarray
    spectral_radius: np.ndarray
    cell: str
    state: str
    bound: float | None

    @property
    def steps(self) -> np.ndarray:
        """(T,) the steps t = 1..T of the Jacobians."""
        return np.arange(1, self.jacobians.shape[1] + 1)

    @property
    def lags(self) -> np.ndarray:
        """(T,) the lags T - t of the Jacobians, T - 1 down to 0."""
        return self.steps[-1] - self.steps

    @property
    def max_singular(self) -> np.ndarray:
        """(B, T) ‖J_t‖₂, the largest singular value of each Jacobian."""
        return self.singular_values[..., 0]

    @property
    def mean_log_max_singular(self) -> float:
        """Mean over sequences and steps of log ‖J_t‖₂: negative means contraction on average.

        It estimates the per-step exponent of the bound Π_k ‖J_k‖₂ on ‖∂s_T/∂s_t‖₂ (-inf if a
        Jacobian is exactly 0).
        """
        with np.errstate(divide="ignore"):
            return float(np.log(self.max_singular).mean())

    @property
    def fraction_contracting(self) -> float:
        """Fraction of (sequence, step) pairs whose J_t has spectral radius < 1."""
        return float((self.spectral_radius < 1).mean())

    def chain_bound(self) -> np.ndarray:
        """(B, T + 1) Π_{k=t+1}^{T} ‖J_k‖₂ for t = 0..T (1 at t = T).

        Submultiplicativity makes it an upper bound on ‖∂s_T/∂s_t‖₂, hence on the spectral
        norms of :func:`state_gradient_norms` (for the LSTM, ∂h_T/∂h_t is a block of
        ∂[h; c]_T/∂[h; c]_t, whose norm is no larger).
        """
        sigma = self.max_singular  # (B, T)
        tail = np.cumprod(sigma[:, ::-1], axis=1)[:, ::-1]  # tail[:, t] = Π_{k=t}^{T-1}
        return np.concatenate([tail, np.ones_like(sigma[:, :1])], axis=1)


# -- the top layer as a step function ---------------------------------------------------------


@dataclass(frozen=True)
class _Recurrence:
    """One layer of a stack as ``new_state = step(x_t, state)``, state a tuple of (B, size)."""

    step: Callable[[torch.Tensor, State], State]
    sizes: tuple[int, ...]
    cell: str
    names: tuple[str, ...]  # the state parts' names, from the spec: ("h",), ("y",), ("h", "c")
    output_part: int  # the part the layer above reads


def _recurrence(layer: RecurrentLayer, index: int) -> _Recurrence:
    """Layer ``index`` of ``layer`` (its forward direction) as its spec's step, weights detached."""
    spec, options = layer.spec, layer.options
    p = {
        name: None if value is None else value.detach()
        for name, value in layer._step_parameters(index, 0).items()
    }

    def step(x_t, state):
        return tuple(spec.step(x_t, state, p, options)[0])

    # The options that are names (the nonlinearities) say which cell it is: "Elman(tanh)".
    named = [value for value in options.values() if isinstance(value, str)]
    cell = spec.name + (f"({', '.join(named)})" if named else "")
    return _Recurrence(
        step,
        layer.spec.state_sizes(layer.hidden_size, options),
        f"{cell}, layer {index} of {layer.num_layers}",
        spec.state_names,
        spec.output_part,
    )


def _jacobian_bound(layer: RecurrentLayer) -> float | None:
    """The spec's bound on every ‖J_t‖₂ of the top layer (Pascanu et al. for Elman and
    Jordan), or None where the spec names none."""
    bound = layer.spec.jacobian_bound
    if bound is None:
        return None
    p = layer._step_parameters(layer.num_layers - 1, 0)
    return float(bound(p, layer.options))


def _prepare(layer, x: torch.Tensor, state) -> tuple[_Recurrence, torch.Tensor, State]:
    """Check the arguments (with the layer's own validation); return the top layer's
    recurrence, its inputs (B, T, I_top) and its initial state, all detached."""
    if not isinstance(layer, RecurrentLayer):
        raise TypeError(
            "layer must be an rnnlab Elman, Jordan, GRU, LSTM or another rnnlab RecurrentLayer; "
            f"got {type(layer).__name__}"
        )
    if layer.bidirectional:
        raise ValueError("gradient flow is analysed for one direction; got a bidirectional layer")
    x, parts, _ = layer.check_inputs(x, state)
    if x.shape[0] < 1:
        raise ValueError(
            f"x must have shape (B, T, I) with B >= 1 (a sequence to analyse); got {tuple(x.shape)}"
        )
    L = layer.num_layers
    recurrences = [_recurrence(layer, index) for index in range(L)]
    inputs = x.detach()
    with torch.no_grad():
        for index, recurrence in enumerate(recurrences[:-1]):
            s = tuple(part[index] for part in parts)
            outputs = []
            for t in range(inputs.shape[1]):
                s = recurrence.step(inputs[:, t], s)
                outputs.append(layer.spec.outputs_from(s, layer.options))  # the CTRNN's f(v)
            inputs = torch.stack(outputs, dim=1)
    initial = tuple(part[L - 1].detach() for part in parts)
    return recurrences[-1], inputs, initial


def _probed_unroll(
    recurrence: _Recurrence, inputs: torch.Tensor, initial: State
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Unroll with a zero probe added to the analysed state part at every step.

    ``s_t ← s_t + z_t`` with ``z_t = 0`` changes no value, but the gradient with respect to
    ``z_t`` is the (total) gradient with respect to ``s_t``. The analysed part is the one the
    layer outputs (h; Jordan's y). Returns the probes z_0..z_T and the probed parts s_0..s_T,
    each (B, S).
    """
    T = inputs.shape[1]
    k = recurrence.output_part

    def probed(state: State, probe: torch.Tensor) -> State:
        return tuple(part + probe if i == k else part for i, part in enumerate(state))

    probes = [torch.zeros_like(initial[k], requires_grad=True) for _ in range(T + 1)]
    state = probed(initial, probes[0])
    visited = [state[k]]
    for t in range(T):
        state = probed(recurrence.step(inputs[:, t], state), probes[t + 1])
        visited.append(state[k])
    return probes, visited


# -- the measurements -----------------------------------------------------------------------


def state_gradient_norms(layer, x: torch.Tensor, state=None) -> GradientFlow:
    r"""‖∂h_T/∂h_t‖ for every step t = 0..T, exactly, per sequence and averaged over the batch.

    ∂h_T/∂h_t = Π_{k=t+1}^{T} ∂h_k/∂h_{k-1} is the S × S Jacobian of the top layer's final state
    with respect to its state at step t (see the module docstring for the state of each cell;
    for the LSTM it is ∂h_T/∂h_t with c_t held fixed, through the full (h, c) recurrence).
    Row j of it is the gradient of unit j of h_T, so one backward pass per output unit gives it
    all; the S passes run as one, vectorised over the S unit vectors
    (``torch.autograd.grad(..., is_grads_batched=True)``), and serve every sequence of the
    batch at once, since sequences do not interact. Cost: about S backward passes of the
    unroll, memory B (T + 1) S² numbers.

    Args:
        layer: an rnnlab :class:`~rnnlab.Elman`, :class:`~rnnlab.Jordan`, :class:`~rnnlab.GRU`,
            :class:`~rnnlab.LSTM` or any :class:`~rnnlab.layers.RecurrentLayer`, one
            direction, any ``num_layers`` (the top one is analysed).
        x: (B, T, I) inputs, in the layer's dtype (float64 for exact comparisons).
        state: the initial state in the layer's public layout, (L, B, S) or an LSTMState;
            None for the layer's default.

    Returns:
        :class:`GradientFlow` with ``per_sequence`` the Frobenius norms (B, T + 1),
        ``spectral`` the spectral norms (B, T + 1), ``norms`` the batch mean of the former.
    """
    recurrence, inputs, initial = _prepare(layer, x, state)
    with torch.enable_grad():
        probes, visited = _probed_unroll(recurrence, inputs, initial)
        final = visited[-1]  # (B, S)
        B, S = final.shape
        eye = torch.eye(S, dtype=final.dtype, device=final.device)
        directions = eye[:, None, :].expand(S, B, S)  # direction j: unit j of every h_T
        rows = torch.autograd.grad(
            final, probes, grad_outputs=directions, is_grads_batched=True
        )  # T + 1 tensors (S_out, B, S_in)
    jacobians = torch.stack(rows, dim=0).permute(2, 0, 1, 3)  # (B, T + 1, S_out, S_in)
    frobenius = torch.linalg.matrix_norm(jacobians)
    spectral = torch.linalg.matrix_norm(jacobians, ord=2)
    s = recurrence.names[recurrence.output_part]
    return GradientFlow(
        per_sequence=frobenius.cpu().numpy(),
        spectral=spectral.cpu().numpy(),
        cell=recurrence.cell,
        quantity=f"‖∂{s}_T/∂{s}_t‖_F",
    )


def loss_gradient_norms(
    layer,
    readout: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target,
    loss_fn: Callable[..., torch.Tensor],
    state=None,
) -> GradientFlow:
    r"""‖∂L/∂h_t‖ for every step t = 0..T, with ``L = loss_fn(readout(outputs), target)``.

    ∂L/∂h_t is the total derivative: the direct term ∂L/∂h_t through the readout of step t plus
    (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1}, everything that reaches h_t from later steps; one backward
    pass gives every t (a zero probe is added to each h_t, see :func:`_probed_unroll`). For the
    LSTM it is the gradient with respect to h_t with c_t held fixed. Parameters of ``readout``
    get no ``.grad``.

    Args:
        layer: as for :func:`state_gradient_norms`.
        readout: maps the top layer's outputs (B, T, S) (h, or y for Jordan, at steps 1..T) to
            whatever ``loss_fn`` takes, e.g. ``lambda out: linear(out[:, -1])``.
        x: (B, T, I) inputs.
        target: the second argument of ``loss_fn``.
        loss_fn: returns a scalar tensor, e.g. :func:`torch.nn.functional.cross_entropy`.
        state: the initial state, as for :func:`state_gradient_norms`.

    Returns:
        :class:`GradientFlow` with ``per_sequence`` (B, T + 1) the Euclidean norm of ∂L/∂h_t of
        each sequence's state (with a mean-reduced loss it scales as 1/B), ``spectral`` None.
    """
    recurrence, inputs, initial = _prepare(layer, x, state)
    with torch.enable_grad():
        probes, visited = _probed_unroll(recurrence, inputs, initial)
        outputs = torch.stack(visited[1:], dim=1)  # (B, T, S)
        loss = loss_fn(readout(outputs), target)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError("loss_fn must return a scalar tensor")
        grads = torch.autograd.grad(
            loss.reshape(()), probes, allow_unused=True, materialize_grads=True
        )
    per_sequence = torch.linalg.vector_norm(torch.stack(grads, dim=1), dim=-1)  # (B, T + 1)
    return GradientFlow(
        per_sequence=per_sequence.detach().cpu().numpy(),
        spectral=None,
        cell=recurrence.cell,
        quantity=f"‖∂L/∂{recurrence.names[recurrence.output_part]}_t‖",
    )


def recurrent_jacobians(layer, x: torch.Tensor, state=None) -> JacobianSpectrum:
    r"""Every one-step Jacobian J_t = ∂s_t/∂s_{t-1}, t = 1..T, along the trajectory of ``x``.

    Each J_t is exact: :func:`torch.func.jacrev` of the spec's step function (``layer.spec.step``
    from :mod:`rnnlab.cells`, with the top layer's weights) at (x_t, s_{t-1}), vectorised with
    :func:`torch.func.vmap` over all B·T pairs. For Elman's network J_t = diag(f'(a_t)) W_hh,
    so ‖J_t‖₂ ≤ γ λ₁(W_hh) (:attr:`JacobianSpectrum.bound`); the product of the J_t is
    ∂s_T/∂s_t and Π ‖J_k‖₂ bounds its norm (:meth:`JacobianSpectrum.chain_bound`). For the
    LSTM the state is the full ``[h; c]`` (2H units).

    Args:
        layer: as for :func:`state_gradient_norms`.
        x: (B, T, I) inputs.
        state: the initial state, as for :func:`state_gradient_norms`.

    Returns:
        :class:`JacobianSpectrum` with the Jacobians (B, T, S, S), their singular values
        (B, T, S) and spectral radii (B, T).
    """
    recurrence, inputs, initial = _prepare(layer, x, state)
    B, T, _ = inputs.shape
    with torch.no_grad():
        s = initial
        before = []  # s_0..s_{T-1}, flattened
        for t in range(T):
            before.append(torch.cat(s, dim=-1))
            s = recurrence.step(inputs[:, t], s)
        flat = torch.stack(before, dim=1)  # (B, T, S)
    sizes = list(recurrence.sizes)
    S = sum(sizes)

    def one_step(x_t: torch.Tensor, s_flat: torch.Tensor) -> torch.Tensor:
        parts = tuple(part[None] for part in torch.split(s_flat, sizes))
        return torch.cat([part[0] for part in recurrence.step(x_t[None], parts)])

    jacobian = torch.func.vmap(torch.func.jacrev(one_step, argnums=1))
    J = jacobian(inputs.reshape(B * T, -1), flat.reshape(B * T, S)).reshape(B, T, S, S)
    J = J.detach()
    singular = torch.linalg.svdvals(J)
    radius = torch.linalg.eigvals(J).abs().amax(dim=-1)
    names = recurrence.names
    symbol = names[0] if len(names) == 1 else f"[{'; '.join(names)}]"  # "[h; c]"
    return JacobianSpectrum(
        jacobians=J.cpu().numpy(),
        singular_values=singular.cpu().numpy(),
        spectral_radius=radius.cpu().numpy(),
        cell=recurrence.cell,
        state=symbol,
        bound=_jacobian_bound(layer),
    )


# -- the figure -----------------------------------------------------------------------------


def plot(flows: dict[str, GradientFlow], path: str | PathLike, title: str | None = None) -> None:
    """Draw log10 of each flow's batch-mean norm against the lag T - t, on one axes, as a PNG.

    A straight falling line is exponential vanishing (slope = log10 of the per-step rate);
    steps with a zero norm are not drawn.

    Args:
        flows: legend label -> :class:`GradientFlow`, e.g. one per cell type.
        path: where to write the PNG.
        title: optional axes title.
    """
    if not flows:
        raise ValueError("plot needs at least one GradientFlow")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, flow in flows.items():
        norms, lags = flow.norms, flow.lags
        keep = norms > 0
        axes.plot(lags[keep], np.log10(norms[keep]), marker="o", markersize=3, label=label)
    quantities = {flow.quantity for flow in flows.values()}
    quantity = quantities.pop() if len(quantities) == 1 else "norm"
    axes.set_xlabel("lag T − t (steps)")
    axes.set_ylabel(f"log10 {quantity}")
    if title is not None:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
