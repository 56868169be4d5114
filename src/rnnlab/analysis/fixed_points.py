r"""Fixed points of a recurrent map and the linearised dynamics around them.

A recurrent layer or cell with its input held at a constant ``u`` is a discrete-time map of its
state, ``s_t = F(s_{t-1}, u)``. Its fixed points ``s* = F(s*, u)`` and the Jacobians
``J = ∂F/∂s`` there are the skeleton of what a trained network computes: attractors that hold
memories, saddles whose unstable directions route the state between them (Sussillo & Barak
2013). They are found as FixedPointFinder finds them (Golub & Sussillo 2018): minimise the
speed

    q(s) = ½ ‖F(s, u) − s‖²

from many starting states at once (sampled along the network's own trajectories), by Adam on
the states with the weights frozen; merge duplicates; drop the points that ran far from the
starts; then the exact Jacobians (:func:`torch.func.jacrev`, vectorised with
:func:`torch.func.vmap`), their eigenvalues, and the stability of each point.

The map comes from the family's :class:`~rnnlab.cells.spec.CellSpec` (one layer of an
:class:`~rnnlab.Elman`, :class:`~rnnlab.GRU`, :class:`~rnnlab.LSTM`, :class:`~rnnlab.Jordan` or
any :class:`~rnnlab.layers.RecurrentLayer`, with ``layer=`` saying which of a stack; its
forward direction), or from a cell's own step (:class:`~rnnlab.GRUCell`, ...): whatever the
family, without a list of families here. The state is the full recurrent state, its parts
concatenated in the spec's order: ``h`` (H) for Elman and the GRU, ``[h; c]`` (2H) for the
LSTM, the context ``y`` (O) for Jordan; for a continuous-time network, the state of its Euler
step, whose map is the discrete step itself.

Following FixedPointFinder (``FixedPointFinderBase.py``, ``FixedPointFinderTorch.py``,
``FixedPoints.py`` at ``mattgolub/fixed-point-finder@1a30417``):

- Adam on the states, its learning rate scaled by ``lr_factor`` = 0.95 whenever the mean q
  has not improved for ``lr_patience`` = 2 iterations (``ReduceLROnPlateau``).
- Stop when every start has ``q < tol_q`` (1e-12) or ``|Δq| < tol_dq · lr`` (1e-20; Δq is
  scaled by the learning rate so that tiny steps of a tiny rate do not pass for convergence),
  or after ``max_iters`` (5000) iterations.
- Duplicates: two points whose concatenated ``(s*, u)`` lie within ``tol_unique`` (1e-3) in
  the Euclidean norm are one point; the one with the smaller q is kept, the first such group
  found first (``FixedPoints.get_unique``; its docstring says "absolute element-wise", its code
  takes the 2-norm, which is what is done here).
- Outliers: with ``c`` the centroid of the starts and ``d̄`` their mean distance from it, a
  point further than ``outlier_distance_scale · d̄`` (10) from ``c`` is dropped.
- A fixed point is stable iff its leading eigenvalue has ``|λ| < 1`` (``FixedPoints.py``:
  ``is_stable = abs(e_vals_k[0]) < 1.0``); eigenvalues are sorted by decreasing modulus.

Deliberate differences:

- The initial learning rate ``lr`` is 0.05, not FixedPointFinder's 1.0 (0.05 is what its
  earlier torch version used). Adam's first steps move every coordinate by about ``lr``
  whatever the gradient, and a GRU's (or LSTM's) state thrown that far out of the cube of
  its trajectories lands where the gates saturate, ``F(s) ≈ s``: q falls towards 0 there
  without a fixed point, and the state drifts on (FixedPointFinder's own torch flip-flop
  example notes that GRU fixed points "are not working as expected"). Measured on three GRUs
  (H = 24-32) trained on the 3-bit flip-flop, 512 starts along their trajectories: with 1.0
  not one start converged (q ≥ 1e-9 after 2,000 iterations, states at |h| up to 10; a GRU's
  fixed points have |h| < 1); with 0.1, 0.05 and 0.01 each found its 8 stable points, one per
  memory state, and 9-12 index-1 saddles.
The others make the answer more exact rather than different:

- Adam follows the gradient of the *sum* of the q's, not of their mean: Adam is invariant to
  the scale of the objective except through its ``eps`` (1e-8), which the mean's factor 1/K
  brings into play near convergence and which would then limit the precision reached.
- After Adam, ``newton_steps`` (3) Newton steps ``s ← s − (J − I)⁻¹ (F(s) − s)`` polish each
  point; a step is kept only for the points whose q it lowers, so a slow point (a minimum of
  q above zero, where ``J − I`` is singular) stays where Adam left it. ``newton_steps=0`` is
  FixedPointFinder's answer.
- ``speeds`` are q at the returned points (FixedPointFinder reports q of the last iterate
  before its final step).

Sussillo, D. and Barak, O. (2013). Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks. *Neural Computation*, 25(3), 626-649.
Golub, M. D. and Sussillo, D. (2018). FixedPointFinder: a Tensorflow toolbox for identifying
and characterizing fixed points in recurrent neural networks. *JOSS*, 3(31), 1003.

Example: the two-unit tanh network ``h ← tanh(W h)`` with ``W = diag(2, 2)`` has nine fixed
points, 0 and ±x* on each axis with x* = tanh(2 x*) ≈ 0.9575::

    cell = rnnlab.ElmanCell(1, 2, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.zero_(); cell.bias_ih.zero_(); cell.bias_hh.zero_()
        cell.weight_hh.copy_(2 * torch.eye(2))
    starts = torch.empty(256, 2, dtype=torch.float64).uniform_(-1.2, 1.2)
    fps = find_fixed_points(cell, torch.zeros(1, dtype=torch.float64), starts)
    len(fps), fps.unstable_modes  # 9; 2 at the origin, 1 at the four edges, 0 at the corners
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnlab.analysis.gradient_flow import _recurrence
from rnnlab.analysis.pca import principal_axes
from rnnlab.layers import RecurrentLayer

__all__ = [
    "FixedPoints",
    "RecurrentMap",
    "find_fixed_points",
    "follow_unstable_modes",
    "recurrent_map",
    "sample_states",
    "trajectories",
]

State = tuple[torch.Tensor, ...]


# -- the map ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecurrentMap:
    """One layer or cell as the map ``F(s, u)`` of its flat state, weights detached.

    Attributes:
        step: ``(u (K, I), parts) -> parts``, each part (K, size), in ``names``' order.
        names: the state parts' names, ``("h",)``, ``("h", "c")``, ``("y",)``.
        sizes: the units of each part; the flat state has ``sum(sizes)``.
        input_size: I, the size of ``u``.
        cell: which map it is, e.g. ``"GRU, layer 0 of 1"`` or ``"GRUCell"``.
        dtype: the weights' dtype, which states and inputs are converted to.
        device: where the weights are.
    """

    step: Callable[[torch.Tensor, State], State]
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    input_size: int
    cell: str
    dtype: torch.dtype
    device: torch.device

    @property
    def state_size(self) -> int:
        """S, the units of the whole state."""
        return sum(self.sizes)

    @property
    def state_name(self) -> str:
        """``"h"``, or ``"[h; c]"`` for a state of several parts."""
        return self.names[0] if len(self.names) == 1 else f"[{'; '.join(self.names)}]"

    def split(self, s: torch.Tensor) -> State:
        """(K, S) -> the parts, each (K, size)."""
        return tuple(torch.split(s, list(self.sizes), dim=-1))

    def __call__(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """F(s, u): (K, S), (K, I) -> (K, S)."""
        return torch.cat(self.step(u, self.split(s)), dim=-1)


def recurrent_map(cell, layer: int | None = None) -> RecurrentMap:
    """The map ``F(s, u)`` of a cell, or of layer ``layer`` of a recurrent layer.

    Args:
        cell: a cell (:class:`~rnnlab.ElmanCell`, :class:`~rnnlab.GRUCell`,
            :class:`~rnnlab.LSTMCell`, ...: any module with ``initial_state(batch_size)`` and
            ``y_t, state = cell(x_t, state)``), or an rnnlab layer
            (:class:`~rnnlab.layers.RecurrentLayer`: its family's spec step, forward
            direction).
        layer: for a layer, which of its ``num_layers`` (0 is the bottom one); None is allowed
            for a layer of one. Not for a cell.

    Raises:
        TypeError: ``cell`` is neither.
        ValueError: ``layer`` missing for a stack, out of range, or given for a cell.
    """
    if isinstance(cell, RecurrentLayer):
        index = _layer_index(cell, layer)
        recurrence = _recurrence(cell, index)
        like = next(cell.parameters())
        input_size = (
            cell.input_size if index == 0 else cell.num_directions * cell.output_size_per_direction
        )
        return RecurrentMap(
            step=recurrence.step,
            names=recurrence.names,
            sizes=tuple(recurrence.sizes),
            input_size=input_size,
            cell=recurrence.cell,
            dtype=like.dtype,
            device=like.device,
        )
    if isinstance(cell, nn.Module) and callable(getattr(cell, "initial_state", None)):
        if layer is not None:
            raise ValueError(
                f"layer= picks one layer of a stack; a cell ({type(cell).__name__}) has one, "
                f"got layer={layer!r}"
            )
        return _cell_map(cell)
    raise TypeError(
        "cell must be an rnnlab cell (ElmanCell, GRUCell, LSTMCell, ...) or an rnnlab layer "
        f"(Elman, GRU, LSTM, ... with layer=k); got {type(cell).__name__}"
    )


def _layer_index(layer: RecurrentLayer, index: int | None) -> int:
    if index is None:
        if layer.num_layers != 1:
            raise ValueError(
                f"this layer stacks {layer.num_layers} layers; say which one with layer=k, "
                f"0 <= k < {layer.num_layers}"
            )
        return 0
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"layer must be an int; got {type(index).__name__} {index!r}")
    if not 0 <= index < layer.num_layers:
        raise ValueError(f"layer must be in 0..{layer.num_layers - 1}; got {index}")
    return index


def _cell_map(cell: nn.Module) -> RecurrentMap:
    """A cell's own step as a map, through :func:`torch.func.functional_call` with its
    parameters and buffers detached (the optimisation and the Jacobians never reach them)."""
    tensors = {name: t.detach() for name, t in (*cell.named_parameters(), *cell.named_buffers())}
    like = next(iter(tensors.values()), None)
    template = cell.initial_state(1)
    state_type = type(template) if isinstance(template, tuple) else None
    parts = (template,) if state_type is None else tuple(template)
    fields = getattr(state_type, "_fields", None)  # a NamedTuple names its parts: LSTMState
    names = ("h",) if state_type is None else fields or tuple(f"s{k}" for k in range(len(parts)))

    def step(u: torch.Tensor, state: State) -> State:
        if state_type is None:
            _, new = torch.func.functional_call(cell, tensors, (u, state[0]))
            return (new,)
        public = state_type(*state) if fields else tuple(state)
        _, new = torch.func.functional_call(cell, tensors, (u, public))
        return tuple(new)

    return RecurrentMap(
        step=step,
        names=tuple(names),
        sizes=tuple(int(part.shape[-1]) for part in parts),
        input_size=int(cell.input_size),
        cell=type(cell).__name__,
        dtype=parts[0].dtype if like is None else like.dtype,
        device=parts[0].device if like is None else like.device,
    )


# -- the result -------------------------------------------------------------------------------

# The fields of FixedPoints that hold one entry per point, which indexing picks from.
_PER_POINT = (
    "points", "inputs", "speeds", "jacobians", "eigenvalues", "eigenvectors", "unstable_modes",
    "is_stable",
)  # fmt: skip


@dataclass(frozen=True)
class FixedPoints:
    """The unique fixed points found, each with its input, speed, Jacobian and spectrum.

    K is the number of points, S the state's units (H; 2H for the LSTM's ``[h; c]``), I the
    input's. Index it like an array (``fps[fps.is_stable]``, ``fps[:3]``) for a subset.

    Attributes:
        points: (K, S) the fixed points s*, the state's parts concatenated in ``names``' order.
        inputs: (K, I) the constant input u at which each is a fixed point.
        speeds: (K,) q(s*) = ½ ‖F(s*, u) − s*‖².
        jacobians: (K, S, S) ∂F/∂s at each point, row = unit of F, column = unit of s.
        eigenvalues: (K, S) complex, each row sorted by decreasing modulus.
        eigenvectors: (K, S, S) complex, column j of ``eigenvectors[k]`` for
            ``eigenvalues[k, j]``.
        unstable_modes: (K,) how many eigenvalues lie outside the unit circle (|λ| > 1): 0 for
            an attractor, 1 for an index-1 saddle.
        is_stable: (K,) bool, |λ| < 1 for the leading eigenvalue.
        cell: which map, e.g. ``"GRU, layer 0 of 1"``.
        names: the state parts' names, ``("h",)`` or ``("h", "c")``.
        sizes: the units of each part.
        starts: how many starting states the search ran from.
        outliers: how many unique points were dropped as distance outliers.
        iterations: Adam iterations run.
        converged: whether every start met a tolerance before ``max_iters``.
    """

    points: np.ndarray
    inputs: np.ndarray
    speeds: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    unstable_modes: np.ndarray
    is_stable: np.ndarray
    cell: str
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    starts: int = 0
    outliers: int = 0
    iterations: int = 0
    converged: bool = True

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index) -> "FixedPoints":
        """The points ``index`` picks (a boolean mask, indices or a slice); an int keeps the
        leading dimension (one point, K = 1)."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        picked = {name: getattr(self, name)[index] for name in _PER_POINT}
        return FixedPoints(
            **picked, cell=self.cell, names=self.names, sizes=self.sizes, starts=self.starts,
            outliers=self.outliers, iterations=self.iterations, converged=self.converged,
        )  # fmt: skip

    def part(self, name: str) -> np.ndarray:
        """(K, size) one part of every point's state: ``fps.part("h")`` of an LSTM's."""
        if name not in self.names:
            raise ValueError(f"the state's parts are {self.names}; got {name!r}")
        k = self.names.index(name)
        start = sum(self.sizes[:k])
        return self.points[:, start : start + self.sizes[k]]

    @property
    def stable(self) -> "FixedPoints":
        """The stable points only."""
        return self[self.is_stable]

    @property
    def unstable(self) -> "FixedPoints":
        """The points with at least one unstable mode."""
        return self[self.unstable_modes > 0]

    def summary(self) -> str:
        """One line: how many points, how many stable, the unstable modes' counts."""
        counts = np.bincount(self.unstable_modes.astype(np.int64)) if len(self) else []
        modes = ", ".join(f"{n} with {k}" for k, n in enumerate(counts) if n and k)
        worst = f"{self.speeds.max():.1e}" if len(self) else "-"
        return (
            f"{self.cell}: {len(self)} fixed points from {self.starts} starts, "
            f"{int(self.is_stable.sum())} stable"
            + (f", unstable modes: {modes}" if modes else "")
            + f"; max q {worst}"
        )

    # -- figures --------------------------------------------------------------------------------

    def plot(
        self,
        trajectories=None,
        *,
        components: int = 3,
        max_trajectories: int = 30,
        mode_length: float = 0.1,
        title: str | None = None,
    ):
        """The fixed points, and optionally trajectories, in their top principal components.

        Stable points are black dots, unstable ones red crosses with a short red line along
        each unstable eigenvector (the real part, ``mode_length`` times the largest extent
        of what is drawn, both ways), as FixedPointFinder draws them.

        Args:
            trajectories: optional (B, T, S) states along trials (:func:`trajectories`); the
                principal axes are fitted on them (on the points when none are given), and
                the first ``max_trajectories`` trials are drawn as thin blue lines.
            components: 2 or 3 axes (at most S).
            max_trajectories: trials drawn.
            mode_length: the half-length of the unstable-mode lines, as a fraction.
            title: the axes title; None for ``cell``.

        Returns:
            a :class:`matplotlib.figure.Figure` (Agg canvas; save it with ``savefig``).
        """
        if components not in (2, 3):
            raise ValueError(f"components must be 2 or 3; got {components!r}")
        S = self.points.shape[1]
        if S < 2:
            raise ValueError(f"plot draws at least 2 principal components; the state has {S}")
        components = min(components, S)
        states = None
        if trajectories is not None:
            states = _as_numpy(trajectories)
            if states.ndim != 3 or states.shape[-1] != S:
                raise ValueError(f"trajectories must be (B, T, S) with S = {S}; got {states.shape}")
        basis_of = states.reshape(-1, S) if states is not None else self.points
        if len(basis_of) == 0:
            raise ValueError("nothing to plot: no fixed points and no trajectories")
        mean, axes_, explained = principal_axes(basis_of, components)
        components = len(axes_)

        def project(v: np.ndarray) -> np.ndarray:
            return (np.asarray(v, dtype=np.float64) - mean) @ axes_.T

        figure, axes = _figure(three_d=components == 3)
        drawn = [project(self.points)]
        if states is not None:
            for trial in states[:max_trajectories]:
                path = project(trial)
                drawn.append(path)
                axes.plot(*path.T, color="tab:blue", linewidth=0.5, alpha=0.5)
        extent = float(np.ptp(np.concatenate(drawn), axis=0).max())  # the widest axis drawn
        length = mode_length * (extent if extent > 0 else 1.0)
        for k in range(len(self)):
            at = project(self.points[k : k + 1])[0]
            if self.is_stable[k]:
                axes.scatter(*at, color="black", s=30, zorder=3)
                continue
            axes.scatter(*at, color="red", marker="x", s=30, zorder=3)
            for j in range(int(self.unstable_modes[k])):
                direction = np.real(self.eigenvectors[k][:, j])
                direction = direction @ axes_.T
                norm = np.linalg.norm(direction)
                if norm == 0:
                    continue
                ends = np.stack([at - length * direction / norm, at + length * direction / norm])
                axes.plot(*ends.T, color="red", linewidth=1.5)
        labels = [f"PC {i + 1} ({100 * e:.0f} %)" for i, e in enumerate(explained)]
        axes.set_xlabel(labels[0])
        if components > 1:
            axes.set_ylabel(labels[1])
        if components == 3:
            axes.set_zlabel(labels[2])
        axes.set_title(self.cell if title is None else title)
        figure.tight_layout()
        return figure

    def plot_spectra(self, title: str | None = None):
        """Every point's eigenvalues in the complex plane with the unit circle: black for the
        stable points', red for the unstable points'.

        Returns:
            a :class:`matplotlib.figure.Figure` (Agg canvas).
        """
        figure, axes = _figure(three_d=False)
        angle = np.linspace(0, 2 * np.pi, 361)
        axes.plot(np.cos(angle), np.sin(angle), color="grey", linewidth=1)
        for stable, colour, label in ((True, "black", "stable"), (False, "red", "unstable")):
            chosen = self.eigenvalues[self.is_stable == stable].ravel()
            if chosen.size:
                axes.scatter(chosen.real, chosen.imag, s=12, color=colour, alpha=0.6,
                             label=f"{label} points")  # fmt: skip
        axes.axhline(0, color="grey", linewidth=0.5)
        axes.axvline(0, color="grey", linewidth=0.5)
        axes.set_aspect("equal", adjustable="datalim")
        axes.set_xlabel("Re λ")
        axes.set_ylabel("Im λ")
        axes.set_title(f"eigenvalues of ∂F/∂s, {self.cell}" if title is None else title)
        if len(self):
            axes.legend(loc="upper right")
        figure.tight_layout()
        return figure


def _figure(three_d: bool):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.6, 5.0))
    FigureCanvasAgg(figure)
    if three_d:
        from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3-D projection)

        return figure, figure.add_subplot(projection="3d")
    return figure, figure.add_subplot()


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


# -- the search -------------------------------------------------------------------------------


def find_fixed_points(
    cell,
    inputs,
    initial_states,
    *,
    layer: int | None = None,
    noise_scale: float = 0.0,
    seed: int = 0,
    lr: float = 0.05,
    lr_factor: float = 0.95,
    lr_patience: int = 2,
    tol_q: float = 1e-12,
    tol_dq: float = 1e-20,
    max_iters: int = 5000,
    newton_steps: int = 3,
    tol_unique: float = 1e-3,
    outlier_distance_scale: float | None = 10.0,
    max_speed: float | None = None,
) -> FixedPoints:
    """The unique fixed points of a cell's (or one layer's) map under constant inputs.

    See the module docstring for the method and what differs from FixedPointFinder.

    Args:
        cell: a cell, or an rnnlab layer with ``layer=`` saying which of its layers
            (:func:`recurrent_map`).
        inputs: the constant input, (I,) for every start or (K, I) one per start.
        initial_states: (K, S) the starts, the state's parts concatenated (``[h; c]``, (K, 2H),
            for the LSTM); or a tuple of the parts, each (K, size). States sampled along
            trajectories (:func:`sample_states`) are the usual choice.
        layer: which layer of a stack (None for a single layer or a cell).
        noise_scale: the s.d. of Gaussian noise added to the starts (FixedPointFinder's flip-flop
            example uses 0.5), drawn from a generator seeded with ``seed``.
        seed: the seed of that noise.
        lr, lr_factor, lr_patience: Adam's initial learning rate and its plateau schedule.
        tol_q, tol_dq, max_iters: when to stop (module docstring).
        newton_steps: Newton polishing steps after Adam (0 for none).
        tol_unique: points within this distance (with their inputs) are one point.
        outlier_distance_scale: drop points further from the starts' centroid than this many
            mean start distances; None keeps them all.
        max_speed: drop points whose q exceeds this before merging (slow points, or starts that
            did not converge); None keeps them (FixedPointFinder's default).

    Returns:
        :class:`FixedPoints`, K' <= K unique points.

    Raises:
        ValueError: shapes that do not fit the map, a map that is not deterministic (noise in
            the step), or an option out of range.
    """
    _check_options(lr, lr_factor, lr_patience, tol_q, tol_dq, max_iters, newton_steps,
                   tol_unique, outlier_distance_scale, max_speed, noise_scale)  # fmt: skip
    F = recurrent_map(cell, layer)
    restore = _evaluation_mode(cell)
    try:
        starts = _states(F, initial_states)  # (K, S)
        K = len(starts)
        u = _inputs(F, inputs, K)  # (K, I)
        if noise_scale > 0:
            generator = torch.Generator().manual_seed(seed)
            noise = torch.randn(starts.shape, generator=generator, dtype=torch.float64)
            starts = starts + noise_scale * noise.to(starts)
        with torch.no_grad():
            if not torch.equal(F(starts, u), F(starts, u)):
                raise ValueError(
                    f"{F.cell}: two evaluations of the step at the same states differ; fixed "
                    "points need a deterministic map (turn the step's noise off)"
                )
        s, iterations, converged = _minimise_speed(
            F, starts, u, lr, lr_factor, lr_patience, tol_q, tol_dq, max_iters
        )
        for _ in range(newton_steps):
            s = _newton_step(F, s, u)
        speeds = _speeds(F, s, u)
        keep = torch.ones(K, dtype=torch.bool, device=s.device)
        if max_speed is not None:
            keep &= speeds <= max_speed
        keep &= torch.isfinite(speeds)
        s, u, speeds = s[keep], u[keep], speeds[keep]
        unique = _unique(s, u, speeds, tol_unique)
        s, u, speeds = s[unique], u[unique], speeds[unique]
        outliers = 0
        if outlier_distance_scale is not None and len(s):
            near = _near_the_starts(s, starts, outlier_distance_scale)
            outliers = int((~near).sum())
            s, u, speeds = s[near], u[near], speeds[near]
        J = _jacobians(F, s, u)  # (K', S, S)
    finally:
        restore()
    values, vectors = _spectra(J)
    moduli = np.abs(values)
    return FixedPoints(
        points=_as_numpy(s),
        inputs=_as_numpy(u),
        speeds=_as_numpy(speeds),
        jacobians=_as_numpy(J),
        eigenvalues=values,
        eigenvectors=vectors,
        unstable_modes=(moduli > 1).sum(axis=1).astype(np.int64),
        is_stable=(moduli[:, 0] < 1) if moduli.shape[1] else np.ones(len(s), dtype=bool),
        cell=F.cell,
        names=F.names,
        sizes=F.sizes,
        starts=K,
        outliers=outliers,
        iterations=iterations,
        converged=converged,
    )


def _check_options(lr, lr_factor, lr_patience, tol_q, tol_dq, max_iters, newton_steps,
                   tol_unique, outlier_distance_scale, max_speed, noise_scale) -> None:  # fmt: skip
    positive = {
        "lr": lr, "tol_q": tol_q, "tol_dq": tol_dq, "tol_unique": tol_unique,
        "outlier_distance_scale": outlier_distance_scale, "max_speed": max_speed,
    }  # fmt: skip
    for name, value in positive.items():
        if value is not None and not (_is_number(value) and value > 0):
            raise ValueError(f"{name} must be a number > 0; got {value!r}")
    if not (_is_number(lr_factor) and 0 < lr_factor < 1):
        raise ValueError(f"lr_factor must be in (0, 1); got {lr_factor!r}")
    if not (_is_number(noise_scale) and noise_scale >= 0):
        raise ValueError(f"noise_scale must be a number >= 0; got {noise_scale!r}")
    for name, value, minimum in (("lr_patience", lr_patience, 0), ("max_iters", max_iters, 1),
                                 ("newton_steps", newton_steps, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _evaluation_mode(cell) -> Callable[[], None]:
    """Put a module in evaluation mode (no dropout, no training noise) for the search; return
    what puts it back."""
    if not isinstance(cell, nn.Module):
        return lambda: None
    modes = [(module, module.training) for module in cell.modules()]
    cell.eval()

    def restore() -> None:
        for module, training in modes:
            module.training = training

    return restore


def _states(F: RecurrentMap, initial_states) -> torch.Tensor:
    """The starts as one (K, S) tensor of the map's dtype, detached."""
    if isinstance(initial_states, tuple | list) and not isinstance(initial_states, torch.Tensor):
        parts = [torch.as_tensor(part) for part in initial_states]
        if len(parts) != len(F.sizes):
            raise ValueError(
                f"initial_states as parts needs {len(F.sizes)} of them {F.names}; got {len(parts)}"
            )
        for name, part, size in zip(F.names, parts, F.sizes):
            if part.dim() != 2 or part.shape[1] != size:
                raise ValueError(
                    f"initial_states part {name} must be (K, {size}); got {tuple(part.shape)}"
                )
        starts = torch.cat([part.to(F.dtype) for part in parts], dim=1)
    else:
        starts = torch.as_tensor(initial_states)
    S = F.state_size
    if starts.dim() != 2 or starts.shape[1] != S or starts.shape[0] < 1:
        raise ValueError(
            f"initial_states must be (K, S) with K >= 1 and S = {S} (the state "
            f"{F.state_name} of {F.cell}); got {tuple(starts.shape)}"
        )
    if not (starts.is_floating_point() or starts.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"initial_states must be real numbers; got {starts.dtype}")
    return starts.detach().to(device=F.device, dtype=F.dtype).clone()


def _inputs(F: RecurrentMap, inputs, K: int) -> torch.Tensor:
    """The inputs as (K, I) of the map's dtype."""
    u = torch.as_tensor(inputs).detach().to(device=F.device, dtype=F.dtype)
    I = F.input_size
    if u.dim() == 1 and u.shape[0] == I:
        return u.expand(K, I).clone()
    if u.dim() == 2 and tuple(u.shape) == (K, I):
        return u.clone()
    raise ValueError(
        f"inputs must be (I,) = ({I},) or (K, I) = ({K}, {I}), one per start; got {tuple(u.shape)}"
    )


def _speeds(F: RecurrentMap, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """(K,) q = ½ ‖F(s, u) − s‖²."""
    with torch.no_grad():
        return 0.5 * (F(s, u) - s).square().sum(dim=1)


def _minimise_speed(F, starts, u, lr, lr_factor, lr_patience, tol_q, tol_dq, max_iters):
    """Adam on the states (FixedPointFinderTorch's loop); returns the states, the iterations
    run and whether the tolerances were met."""
    s = starts.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([s], lr=lr)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=lr_factor, patience=lr_patience, cooldown=0
    )
    previous = torch.full((len(s),), float("nan"), dtype=s.dtype, device=s.device)
    converged = False
    iteration = 0
    for iteration in range(1, max_iters + 1):
        with torch.enable_grad():
            q_b = 0.5 * (s - F(s, u)).square().sum(dim=1)  # (K,)
            (gradient,) = torch.autograd.grad(q_b.sum(), s)
        q_b = q_b.detach()
        dq_b = (q_b - previous).abs()
        s.grad = gradient
        optimizer.step()
        schedule.step(float(q_b.mean()))
        rate = optimizer.param_groups[0]["lr"]
        if iteration > 1 and bool(((dq_b < tol_dq * rate) | (q_b < tol_q)).all()):
            converged = True
            break
        previous = q_b
    return s.detach(), iteration, converged


def _jacobians(F: RecurrentMap, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """(K, S, S) ∂F/∂s at each (s_k, u_k), exact: vmap of jacrev of the map of one state."""
    S = F.state_size
    if len(s) == 0:
        return s.new_zeros((0, S, S))

    def one(s_k: torch.Tensor, u_k: torch.Tensor) -> torch.Tensor:
        return F(s_k[None], u_k[None])[0]

    with torch.no_grad():
        return torch.func.vmap(torch.func.jacrev(one, argnums=0))(s, u).detach()


def _newton_step(F: RecurrentMap, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One Newton step on F(s) − s = 0, kept for the points whose q it lowers."""
    if len(s) == 0:
        return s
    J = _jacobians(F, s, u)
    with torch.no_grad():
        residual = F(s, u) - s  # (K, S)
        eye = torch.eye(F.state_size, dtype=s.dtype, device=s.device)
        step, info = torch.linalg.solve_ex(J - eye, -residual)  # (J − I) δ = −(F(s) − s)
        candidate = s + step
        before = 0.5 * residual.square().sum(dim=1)
        after = _speeds(F, candidate, u)
        better = (info == 0) & torch.isfinite(after) & (after < before)
        return torch.where(better[:, None], candidate, s)


def _unique(s: torch.Tensor, u: torch.Tensor, speeds: torch.Tensor, tol: float) -> list[int]:
    """FixedPoints.get_unique: each unchecked point in turn, with every unchecked point within
    ``tol`` of it (of ``(s, u)``, 2-norm), is one group; the group's slowest-q member is kept."""
    if len(s) == 0:
        return []
    data = torch.cat([s, u], dim=1).to(torch.float64)
    distances = torch.cdist(data, data, compute_mode="donot_use_mm_for_euclid_dist")
    close = (distances <= tol).cpu().numpy() | np.eye(len(s), dtype=bool)  # (K, K)
    q = speeds.cpu().numpy()
    checked = np.zeros(len(s), dtype=bool)
    keep = []
    for k in range(len(s)):
        if checked[k]:
            continue
        group = np.flatnonzero(close[k] & ~checked)
        keep.append(int(group[np.argmin(q[group])]))
        checked[group] = True
    return keep


def _near_the_starts(s: torch.Tensor, starts: torch.Tensor, scale: float) -> torch.Tensor:
    """(K',) bool: within ``scale`` mean start distances of the starts' centroid."""
    centroid = starts.mean(dim=0)
    mean_distance = (starts - centroid).norm(dim=1).mean()
    if mean_distance == 0:  # every start the same state: nothing to measure a distance by
        return torch.ones(len(s), dtype=torch.bool, device=s.device)
    return (s - centroid).norm(dim=1) / mean_distance < scale


def _spectra(J: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (K, S) and eigenvectors (K, S, S), sorted by decreasing modulus."""
    K, S = J.shape[0], J.shape[-1]
    if K == 0:
        return np.zeros((0, S), dtype=np.complex128), np.zeros((0, S, S), dtype=np.complex128)
    values, vectors = torch.linalg.eig(J.to(torch.float64))
    values, vectors = values.cpu().numpy(), vectors.cpu().numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")
    values = np.take_along_axis(values, order, axis=1)
    vectors = np.take_along_axis(vectors, order[:, None, :], axis=2)
    return values, vectors


def follow_unstable_modes(
    cell, fps: FixedPoints, *, layer: int | None = None, push: float = 1e-3, steps: int = 200
) -> np.ndarray:
    """Where the map takes a small push off each point along its leading eigenvector.

    From ``s* − push·v`` and ``s* + push·v`` (v the real part of the eigenvector of the
    largest |λ|, unit length), the map at the point's input is iterated ``steps`` times. From
    an index-1 saddle the two runs leave along its unstable manifold to the attractors on
    either side (Sussillo & Barak 2013); from a stable point both return to it.

    Args:
        cell, layer: the map the points are fixed points of, as for :func:`find_fixed_points`.
        fps: the points.
        push: the distance of each start from the point.
        steps: iterations of the map.

    Returns:
        (K, 2, S): the states after ``steps`` steps, the minus push first.
    """
    F = recurrent_map(cell, layer)
    if not (_is_number(push) and push > 0):
        raise ValueError(f"push must be a number > 0; got {push!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0; got {steps!r}")
    S = F.state_size
    if fps.points.shape[1:] != (S,):
        raise ValueError(f"fps are points of S = {fps.points.shape[1]} units; {F.cell} has {S}")
    K = len(fps)
    if K == 0:
        return np.zeros((0, 2, S))
    direction = np.real(fps.eigenvectors[:, :, 0])  # (K, S)
    direction = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    points = torch.as_tensor(fps.points, dtype=F.dtype, device=F.device)
    v = torch.as_tensor(direction, dtype=F.dtype, device=F.device)
    s = torch.cat([points - push * v, points + push * v])  # (2K, S)
    u = torch.as_tensor(fps.inputs, dtype=F.dtype, device=F.device).repeat(2, 1)
    restore = _evaluation_mode(cell)
    try:
        with torch.no_grad():
            for _ in range(steps):
                s = F(s, u)
    finally:
        restore()
    return _as_numpy(torch.stack([s[:K], s[K:]], dim=1))


# -- starting states --------------------------------------------------------------------------


def trajectories(cell, x: torch.Tensor, *, layer: int | None = None, state=None) -> torch.Tensor:
    """The full state of a cell or of one layer after every step of ``x``: (B, T, S).

    The states are the map's (:func:`recurrent_map`): every part, concatenated (``[h; c]``
    for the LSTM), stepped with the family's spec step (a layer) or the cell's own, with no
    gradient. For layer k > 0 of a stack, the layers below run first (their outputs are
    layer k's inputs); ``layer.record`` would give the hidden units, but not every family's
    full state, which is what the fixed points live in.

    Args:
        cell: as for :func:`find_fixed_points`.
        x: (B, T, I) inputs of the layer (its bottom layer) or the cell.
        layer: which layer of a stack.
        state: the initial state in the layer's public layout (or the cell's state); None for
            the default.
    """
    F = recurrent_map(cell, layer)
    restore = _evaluation_mode(cell)
    try:
        with torch.no_grad():
            if isinstance(cell, RecurrentLayer):
                index = _layer_index(cell, layer)
                if index > 0 and cell.bidirectional:
                    raise ValueError(
                        "trajectories of layer k > 0 of a bidirectional stack are not supported "
                        "(its inputs need the reverse direction below)"
                    )
                x, parts, _ = cell.check_inputs(x, state)
                inputs = x
                for below in range(index):
                    lower = recurrent_map(cell, below)
                    s = tuple(part[below] for part in parts)
                    outputs = []
                    for t in range(inputs.shape[1]):
                        s = lower.step(inputs[:, t], s)
                        outputs.append(s[cell.spec.output_part])
                    inputs = torch.stack(outputs, dim=1)
                s = tuple(part[index * cell.num_directions] for part in parts)
            else:
                if not isinstance(x, torch.Tensor) or x.dim() != 3:
                    raise ValueError(f"x must be a (B, T, I) tensor; got {x!r:.60}")
                inputs = x.to(F.dtype)
                public = cell.initial_state(x.shape[0]) if state is None else state
                s = tuple(public) if isinstance(public, tuple) else (public,)
            visited = []
            for t in range(inputs.shape[1]):
                s = F.step(inputs[:, t], s)
                visited.append(torch.cat(s, dim=-1))
    finally:
        restore()
    return torch.stack(visited, dim=1)  # (B, T, S)


def sample_states(
    states: torch.Tensor,
    num: int,
    *,
    mask: torch.Tensor | None = None,
    noise_scale: float = 0.0,
    seed: int = 0,
) -> torch.Tensor:
    """``num`` states drawn at random (with replacement, as FixedPointFinder's
    ``sample_states``) from trajectories (B, T, S), optionally only where ``mask`` (B, T) is
    True, plus Gaussian noise of s.d. ``noise_scale``; seeded. Returns (num, S)."""
    states = torch.as_tensor(states)
    if states.dim() != 3:
        raise ValueError(f"states must be (B, T, S) trajectories; got {tuple(states.shape)}")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be an int >= 1; got {num!r}")
    B, T, S = states.shape
    valid = torch.ones(B, T, dtype=torch.bool) if mask is None else torch.as_tensor(mask).bool()
    if tuple(valid.shape) != (B, T):
        raise ValueError(f"mask must be (B, T) = ({B}, {T}); got {tuple(valid.shape)}")
    flat = states.reshape(B * T, S)[valid.reshape(-1).to(states.device)]
    if len(flat) == 0:
        raise ValueError("no valid state to sample from (mask is all False)")
    generator = torch.Generator().manual_seed(seed)
    picked = flat[torch.randint(len(flat), (num,), generator=generator).to(states.device)]
    if noise_scale:
        noise = torch.randn((num, S), generator=generator, dtype=torch.float64)
        picked = picked + noise_scale * noise.to(picked)
    return picked.detach().clone()
