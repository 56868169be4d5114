r"""Behaviour of a network on a two-choice task: accuracy per condition, psychometric curves
and choice regressions.

- :func:`accuracy_by_condition`: the share of correct trials at each level of a condition,
  with binomial standard errors.
- :func:`fit_psychometric`: a psychometric function fitted by maximum likelihood to binary
  choices against a signed stimulus (Song, Yang & Wang 2016, Fig. 2: "a fit to a cumulative
  Gaussian distribution")::

      P(choice 1 | x) = lapse / 2 + (1 - lapse) F((x - bias) / scale)

  with F the standard normal CDF (``form="gaussian"``) or the logistic function
  (``form="logistic"``), and ``lapse`` fixed at 0 unless asked for.
- :func:`choice_regression`: logistic regression of the choices on several kinds of evidence,
  ``logit P(choice 1) = b_0 + sum_k b_k x_k``, by Newton's method (iteratively reweighted
  least squares), with standard errors from the inverse Fisher information. Mante et al.
  (2013, Fig. 1) regress the choices of each context on the motion and the colour
  coherence: the relevant stimulus's slope is large, the irrelevant one's near 0.

Every function takes array-likes (NumPy arrays, tensors, lists) of one value per trial and
returns a result object (``.plot(axes)`` draws it).
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, special

Form = Literal["gaussian", "logistic"]


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values)
    array = array.astype(float)
    if array.ndim != 1:
        raise ValueError(f"{name} must hold one value per trial, (N,); got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def _binary(values, name: str) -> np.ndarray:
    array = _vector(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be 0 or 1 (or False and True) on every trial")
    return array


# -- accuracy per condition ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionAccuracy:
    """The share of correct trials at each level of a condition.

    Attributes:
        levels: (K,) the condition's distinct values, ascending.
        accuracy: (K,) the share correct at each level.
        counts: (K,) the trials at each level.
    """

    levels: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray

    @property
    def standard_errors(self) -> np.ndarray:
        """(K,) binomial standard errors, sqrt(p (1 - p) / n)."""
        return np.sqrt(self.accuracy * (1 - self.accuracy) / self.counts)

    def at(self, level: float) -> float:
        """The accuracy at one level (a KeyError if it has no trials)."""
        found = np.flatnonzero(np.isclose(self.levels, level))
        if not len(found):
            raise KeyError(f"no trials at level {level}; levels: {self.levels.tolist()}")
        return float(self.accuracy[found[0]])

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            f"{level:g}": {"accuracy": float(a), "trials": int(n)}
            for level, a, n in zip(self.levels, self.accuracy, self.counts)
        }

    def plot(self, axes, label: str | None = None, **style) -> None:
        axes.errorbar(self.levels, self.accuracy, yerr=self.standard_errors, fmt="o-",
                      label=label, **style)  # fmt: skip
        axes.set(ylabel="P(correct)", ylim=(0.4, 1.02))


def accuracy_by_condition(correct, condition) -> ConditionAccuracy:
    """The share of ``correct`` (N,) trials (bool or 0/1) at each value of ``condition`` (N,).

    >>> table = accuracy_by_condition([1, 0, 1, 1], [2.0, 2.0, 8.0, 8.0])
    >>> table.levels.tolist(), table.accuracy.tolist(), table.counts.tolist()
    ([2.0, 8.0], [0.5, 1.0], [2, 2])
    """
    correct, condition = _binary(correct, "correct"), _vector(condition, "condition")
    if len(correct) != len(condition):
        raise ValueError(
            f"correct and condition differ in length: {len(correct)} != {len(condition)}"
        )
    levels, which = np.unique(condition, return_inverse=True)
    counts = np.bincount(which, minlength=len(levels))
    hits = np.bincount(which, weights=correct, minlength=len(levels))
    return ConditionAccuracy(levels, hits / counts, counts)


# -- psychometric curves ------------------------------------------------------------------------


def _cdf(form: Form, z):
    return special.ndtr(z) if form == "gaussian" else special.expit(z)


@dataclass(frozen=True)
class PsychometricFit:
    """A psychometric function fitted to binary choices (see the module docstring).

    Attributes:
        form: ``"gaussian"`` (cumulative normal) or ``"logistic"``.
        bias: the stimulus at which P(choice 1) is one half (the point of subjective
            equality), in the stimulus's units.
        scale: the spread, > 0: the s.d. of the cumulative normal, or the logistic's scale s
            (P = 1 / (1 + exp(-(x - bias) / s))).
        lapse: the share of trials answered at random (0 unless fitted).
        levels, trials, chosen: (K,) the distinct stimuli, the trials at each and how many
            chose 1.
        log_likelihood: of the fit, over all trials.
        converged: whether the optimiser reported success.
    """

    form: Form
    bias: float
    scale: float
    lapse: float
    levels: np.ndarray
    trials: np.ndarray
    chosen: np.ndarray
    log_likelihood: float
    converged: bool

    @property
    def proportions(self) -> np.ndarray:
        """(K,) the share of trials that chose 1 at each level."""
        return self.chosen / self.trials

    @property
    def standard_errors(self) -> np.ndarray:
        p = self.proportions
        return np.sqrt(p * (1 - p) / self.trials)

    def probability(self, x) -> np.ndarray:
        """P(choice 1) of the fitted function at stimuli ``x``."""
        z = (np.asarray(x, dtype=float) - self.bias) / self.scale
        return self.lapse / 2 + (1 - self.lapse) * _cdf(self.form, z)

    def monotone(self, tolerance: float = 2.0) -> bool:
        """Whether the observed proportions never fall from one level to the next by more
        than ``tolerance`` standard errors of that difference (sampling noise allowed)."""
        p, n = self.proportions, self.trials
        # the s.e. of a difference of two shares, with p (1 - p) floored at one trial's worth
        variance = np.maximum(p * (1 - p), 1 / (4 * n)) / n
        falls = p[:-1] - p[1:]
        return bool((falls <= tolerance * np.sqrt(variance[:-1] + variance[1:])).all())

    def as_dict(self) -> dict:
        return {
            "form": self.form, "bias": self.bias, "scale": self.scale, "lapse": self.lapse,
            "levels": self.levels.tolist(), "trials": self.trials.tolist(),
            "chosen": self.chosen.tolist(), "log_likelihood": self.log_likelihood,
            "converged": self.converged,
        }  # fmt: skip

    def plot(self, axes, label: str | None = None, color=None) -> None:
        """The proportions with their standard errors, and the fitted curve."""
        axes.errorbar(self.levels, self.proportions, yerr=self.standard_errors, fmt="o",
                      color=color, label=label)  # fmt: skip
        span = self.levels.max() - self.levels.min()
        x = np.linspace(self.levels.min() - 0.05 * span, self.levels.max() + 0.05 * span, 200)
        axes.plot(x, self.probability(x), "-", color=color)
        axes.set(ylabel="P(choice 1)", ylim=(-0.02, 1.02))


def fit_psychometric(
    stimulus, chose, form: Form = "gaussian", lapse: bool = False
) -> PsychometricFit:
    """Fit P(choice 1 | stimulus) by maximum likelihood to ``chose`` (N,) (bool or 0/1)
    against the signed ``stimulus`` (N,) (see the module docstring); ``lapse=True`` also
    fits a lapse rate in [0, 0.5].

    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat([-8.0, -4, -2, 0, 2, 4, 8], 4000)
    >>> chose = rng.random(x.size) < 0.5 * (1 + special.erf((x - 1) / (3 * math.sqrt(2))))
    >>> fit = fit_psychometric(x, chose)
    >>> abs(fit.bias - 1) < 0.1, abs(fit.scale - 3) < 0.2
    (True, True)
    """
    if form not in ("gaussian", "logistic"):
        raise ValueError(f"form must be 'gaussian' or 'logistic'; got {form!r}")
    x, y = _vector(stimulus, "stimulus"), _binary(chose, "chose")
    if len(x) != len(y):
        raise ValueError(f"stimulus and chose differ in length: {len(x)} != {len(y)}")
    levels, which = np.unique(x, return_inverse=True)
    if len(levels) < 2:
        raise ValueError("a psychometric fit needs at least two stimulus levels")
    trials = np.bincount(which, minlength=len(levels)).astype(float)
    chosen = np.bincount(which, weights=y, minlength=len(levels))
    span = float(levels.max() - levels.min())

    def negative_log_likelihood(theta: np.ndarray) -> float:
        bias, log_scale = theta[0], theta[1]
        rate = special.expit(theta[2]) / 2 if lapse else 0.0
        p = rate / 2 + (1 - rate) * _cdf(form, (levels - bias) / math.exp(log_scale))
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return -float(np.sum(chosen * np.log(p) + (trials - chosen) * np.log1p(-p)))

    start = [float(np.median(x)), math.log(span / 4)] + ([-3.0] if lapse else [])
    best = None
    for log_scale in (math.log(span / 4), math.log(span / 20), math.log(span)):
        start[1] = log_scale
        options = {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000}
        found = optimize.minimize(
            negative_log_likelihood, np.array(start), method="Nelder-Mead", options=options
        )
        if best is None or found.fun < best.fun:
            best = found
    bias, log_scale = float(best.x[0]), float(best.x[1])
    rate = float(special.expit(best.x[2]) / 2) if lapse else 0.0
    return PsychometricFit(form, bias, math.exp(log_scale), rate, levels, trials, chosen,
                           -float(best.fun), bool(best.success))  # fmt: skip


# -- choice regression --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceRegression:
    """A logistic regression of binary choices on named regressors.

    Attributes:
        names: the regressors, in order (``"intercept"`` first when fitted).
        coefficients: name -> the fitted slope (log-odds of choice 1 per unit).
        standard_errors: name -> its standard error (from the inverse Fisher information).
        trials: N.
        log_likelihood: of the fit.
        converged: whether Newton's steps became negligible within the iteration limit
            (they do not when the choices are perfectly separable: the slopes grow without
            bound; a ``ridge`` keeps them finite).
    """

    names: tuple[str, ...]
    coefficients: dict[str, float]
    standard_errors: dict[str, float]
    trials: int
    log_likelihood: float
    converged: bool

    def ratio(self, numerator: str, denominator: str) -> float:
        """|b_numerator| / |b_denominator| (inf where the denominator is 0)."""
        top, bottom = abs(self.coefficients[numerator]), abs(self.coefficients[denominator])
        return math.inf if bottom == 0 else top / bottom

    def as_dict(self) -> dict:
        return {"coefficients": self.coefficients, "standard_errors": self.standard_errors,
                "trials": self.trials, "log_likelihood": self.log_likelihood,
                "converged": self.converged}  # fmt: skip

    def plot(self, axes, title: str | None = None, color=None) -> None:
        """A bar per slope (the intercept left out), with its standard error."""
        names = [n for n in self.names if n != "intercept"]
        axes.bar(names, [self.coefficients[n] for n in names],
                 yerr=[self.standard_errors[n] for n in names], color=color, capsize=3)  # fmt: skip
        axes.axhline(0, color="k", lw=0.5)
        axes.set(ylabel="slope (log odds per unit)", title=title)


def choice_regression(
    chose, regressors: dict, *, intercept: bool = True, ridge: float = 0.0,
    max_iterations: int = 100, tolerance: float = 1e-9,
) -> ChoiceRegression:  # fmt: skip
    """Logistic regression of ``chose`` (N,) (bool or 0/1) on ``regressors``, name -> (N,),
    by Newton's method from 0 (see the module docstring); ``ridge`` adds ``ridge / 2 * |b|^2``
    of the slopes (not the intercept) to the negative log-likelihood.

    >>> rng = np.random.default_rng(0)
    >>> relevant, irrelevant = rng.normal(size=(2, 20000))
    >>> chose = rng.random(20000) < special.expit(0.5 + 2.0 * relevant + 0.1 * irrelevant)
    >>> fit = choice_regression(chose, {"relevant": relevant, "irrelevant": irrelevant})
    >>> [round(fit.coefficients[k], 1) for k in fit.names]
    [0.5, 2.0, 0.1]
    """
    y = _binary(chose, "chose")
    if not regressors:
        raise ValueError("choice_regression needs at least one regressor")
    columns = {name: _vector(values, name) for name, values in regressors.items()}
    for name, column in columns.items():
        if len(column) != len(y):
            raise ValueError(f"regressor {name!r} has {len(column)} values; chose has {len(y)}")
    if intercept:
        if "intercept" in columns:
            raise ValueError("a regressor may not be named 'intercept' when one is fitted")
        columns = {"intercept": np.ones(len(y)), **columns}
    names = tuple(columns)
    X = np.column_stack([columns[n] for n in names])  # (N, K)
    penalty = np.full(len(names), float(ridge))
    if intercept:
        penalty[0] = 0.0
    beta = np.zeros(len(names))
    converged = False
    for _ in range(max_iterations):
        p = special.expit(X @ beta)
        gradient = X.T @ (y - p) - penalty * beta
        hessian = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty)
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tolerance * (1 + np.max(np.abs(beta))):
            converged = True
            break
    p = special.expit(X @ beta)
    hessian = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty)
    errors = np.sqrt(np.clip(np.diag(np.linalg.pinv(hessian)), 0, None))
    log_likelihood = float(np.sum(y * np.log(np.clip(p, 1e-300, None))
                                  + (1 - y) * np.log(np.clip(1 - p, 1e-300, None))))  # fmt: skip
    return ChoiceRegression(
        names, dict(zip(names, map(float, beta))), dict(zip(names, map(float, errors))), len(y),
        log_likelihood, converged,
    )  # fmt: skip
