"""Cognitive trials: what the decision and working-memory tasks of computational neuroscience
share (Song, Yang & Wang 2016; NeuroGym).

A trial is a few named *periods* in a row (fixation, stimulus, delay, decision, ...), each of
a duration in milliseconds, discretised with the time step ``dt`` (pycog's default 20 ms, tau
/ 5 of a 100 ms unit). A split of trials is a :class:`Trials`: a :class:`~.base.Split` that
also holds every trial's periods and its *conditions* (coherence, context, f1 and f2, the
correct choice, ...), so that an analysis can group trials by them
(:mod:`rnnlab.analysis.psychometrics`).

The coding is pycog's (``examples/models/rdm_fixed.py``, ``mante.py``, ``romo.py``):

* **Inputs** are non-negative, as a network under Dale's law expects (its input weights are
  non-negative: the inputs are excitatory). Input 0 is the *fixation* input, 1 until the
  response period begins (the go cue), then 0 (NeuroGym's coding; pycog times the response
  from the fixed durations instead). Every input gets a ``baseline`` (pycog's ``baseline_in``,
  0.2) at every step; optional noise of s.d. ``sigma`` per step, drawn with the trials, is
  then rectified at 0. pycog draws its input noise in the network instead (``sigma_in``, as
  :class:`rnnlab.CTRNN` does), so ``sigma`` is 0 by default.
* **Outputs**: two choice units, linear, trained by squared error (loss ``"mse"``) towards
  :data:`LOW` (0.2) during fixation, and during the decision period towards :data:`HIGH`
  (1.0) on the correct choice and :data:`LOW` on the other.
* **Mask**: the loss counts the fixation and the decision periods only; the stimulus and
  delay periods are free ("only care about fixation and decision periods", pycog).
* **Catch trials** (a share ``catch_fraction``; pycog's 1 / (conditions + 1)) have no
  stimulus: the fixation input stays on, both outputs are held low at every step, and every
  step counts. Their ``choice`` condition is -1.
* **Performance** (pycog's ``performance_2afc``): a trial is correct when the larger output
  at its *last* step is the correct choice; catch trials do not count. A catch trial is
  correct when both outputs end below (LOW + HIGH) / 2 (``catch_accuracy``).

pycog draws a fresh minibatch of trials for every update; here a task's training split is a
fixed set of ``num_train`` trials. The inputs are a function of the conditions, of which
there are few (10 for random dots, 72 for context-dependent integration), so with the noise
drawn in the network at every pass the two are the same distribution.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from pydantic import Field

from rnnlab.tasks.base import Split, Task

DT = 20.0
"""The time step in ms: pycog's default, tau / 5 with tau = 100 ms."""

LOW = 0.2
"""The target of an output that should stay low (pycog's ``lo``)."""

HIGH = 1.0
"""The target of the chosen output during the decision period (pycog's ``hi``)."""

BASELINE = 0.2
"""What every input gets at every step (pycog's ``baseline_in``)."""

RESPONSE = "decision"
"""The name of the period in which the network answers."""


def dt_field():
    """The ``dt`` of a task's config, in ms."""
    return Field(DT, gt=0, description="the time step in ms (pycog: tau / 5 = 20)")


def duration_field(default: float, what: str):
    """A period's duration in ms, >= 0."""
    return Field(default, ge=0, description=f"{what}, in ms")


def sigma_field():
    return Field(
        0.0,
        ge=0,
        description="s.d. of input noise per step, drawn with the trials (then rectified)",
    )


def baseline_field():
    return Field(BASELINE, ge=0, description="added to every input at every step (pycog 0.2)")


def catch_field(default: float):
    return Field(
        default, ge=0, lt=1, description="share of catch trials (no stimulus, no response)"
    )


def check_periods(config, periods: tuple[str, ...]) -> None:
    """A ValueError unless every one of ``periods`` of ``config`` lasts at least its ``dt``."""
    for period in periods:
        if getattr(config, period) < config.dt:
            raise ValueError(f"{period} must last at least dt = {config.dt} ms")


def check_coherences(coherences: list[float], scale: float) -> None:
    """A ValueError unless every coherence keeps the inputs (1 +- scale c / 100) / 2 >= 0."""
    for coherence in coherences:
        if not 0 <= coherence * scale <= 100:
            raise ValueError(
                f"every coherence must lie in [0, 100 / scale] = [0, {100 / scale:.4g}] "
                f"so that the inputs stay non-negative; got {coherence}"
            )


def steps(duration: float, dt: float) -> int:
    """The steps of ``dt`` ms a duration of ``duration`` ms lasts, rounded to the nearest."""
    return round(duration / dt)


@dataclass(frozen=True)
class Trials(Split):
    """A split of cognitive trials: x, y and mask as every :class:`~.base.Split`, and also

    Attributes:
        periods: name -> (N, 2) long tensor, the first step of the period and the step after
            its last (``[start, stop)``) in every trial, in the order the periods come.
        conditions: name -> (N,) tensor, what each trial was made of (``choice``, the correct
            one, -1 on catch trials; ``catch``; the task's own: coherence, context, ...).
        dt: the time step in ms.
    """

    periods: dict[str, torch.Tensor] = field(default_factory=dict)
    conditions: dict[str, torch.Tensor] = field(default_factory=dict)
    dt: float = DT

    def __post_init__(self) -> None:
        super().__post_init__()
        N = self.x.shape[0]
        for name, bounds in self.periods.items():
            if tuple(bounds.shape) != (N, 2):
                raise ValueError(
                    f"Trials.periods[{name!r}] must be (N, 2) = ({N}, 2); got {tuple(bounds.shape)}"
                )
        for name, values in self.conditions.items():
            if tuple(values.shape) != (N,):
                raise ValueError(
                    f"Trials.conditions[{name!r}] must be (N,) = ({N},); got {tuple(values.shape)}"
                )

    @property
    def seq_len(self) -> int:
        """T, the steps of every trial."""
        return self.x.shape[1]

    def during(self, name: str) -> torch.Tensor:
        """(N, T) bool: the steps of period ``name`` in every trial."""
        t = torch.arange(self.seq_len)
        bounds = self.periods[name]
        return (t >= bounds[:, :1]) & (t < bounds[:, 1:])

    @property
    def catch(self) -> torch.Tensor:
        """(N,) bool: the catch trials."""
        return self.conditions["catch"]


def timeline(
    durations: dict[str, float], dt: float, num: int
) -> tuple[dict[str, torch.Tensor], int]:
    """The periods of ``num`` trials with these durations (ms), one after another, and T.

    Every period lasts ``steps(duration, dt)`` steps (at least one when its duration is > 0).
    """
    periods, start = {}, 0
    for name, duration in durations.items():
        length = max(steps(duration, dt), 1 if duration > 0 else 0)
        periods[name] = torch.tensor([start, start + length]).expand(num, 2).clone()
        start += length
    return periods, start


def choice_trials(
    stimulus: torch.Tensor,
    choice: torch.Tensor,
    periods: dict[str, torch.Tensor],
    conditions: dict[str, torch.Tensor],
    *,
    dt: float,
    baseline: float,
    sigma: float,
    generator: torch.Generator,
) -> Trials:
    """Trials of a two-choice task from their stimulus inputs (N, T, I - 1) (0 where there is
    none), the correct ``choice`` (N,) (0 or 1; -1 on a catch trial) and the periods: adds
    the fixation input (1 before the decision period, and throughout a catch trial), the
    baseline and the noise, then the targets and the mask (see the module docstring)."""
    N, T = stimulus.shape[:2]
    t = torch.arange(T)
    catch = choice < 0
    response = (t >= periods[RESPONSE][:, :1]) & (t < periods[RESPONSE][:, 1:])  # (N, T)
    fixating = ~response | catch[:, None]
    x = torch.cat([fixating[..., None].to(stimulus.dtype), stimulus], dim=-1) + baseline
    if sigma > 0:
        x = (x + sigma * torch.randn(x.shape, generator=generator)).clamp_min(0.0)
    fixation = (t >= periods["fixation"][:, :1]) & (t < periods["fixation"][:, 1:])
    y = torch.full((N, T, 2), LOW)
    rows = torch.nonzero(~catch).squeeze(1)
    y[rows, :, choice[rows]] = torch.where(response[rows], HIGH, LOW)
    mask = fixation | response | catch[:, None]
    return Trials(
        x=x, y=y, mask=mask, periods=periods,
        conditions={**conditions, "choice": choice, "catch": catch}, dt=dt,
    )  # fmt: skip


def draw_catch(num: int, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """(N,) bool: which of ``num`` trials are catch trials, each with probability ``fraction``."""
    return torch.rand(num, generator=generator) < fraction


def decisions(predictions: torch.Tensor) -> torch.Tensor:
    """(N,) the choice of every trial: the larger of the two outputs at the last step."""
    return predictions[:, -1, :].argmax(dim=-1)


def choice_metrics(predictions: torch.Tensor, trials: Trials) -> dict[str, float]:
    """``accuracy`` on the trials with a stimulus, and ``catch_accuracy`` (both outputs end
    low) where the split has catch trials; see the module docstring."""
    catch = trials.catch
    metrics = {}
    if (~catch).any():
        correct = decisions(predictions) == trials.conditions["choice"]
        metrics["accuracy"] = float(correct[~catch].float().mean())
    if catch.any():
        low = (predictions[catch, -1, :] < (LOW + HIGH) / 2).all(dim=-1)
        metrics["catch_accuracy"] = float(low.float().mean())
    return metrics


class CognitiveTask(Task):
    """A two-choice cognitive task (see the module docstring): subclasses set the class
    attributes, hold their ``config`` and implement :meth:`grid` and :meth:`make`.

    Attributes:
        paper: where the task comes from.
        input_names: what each input carries, input 0 the fixation input.
    """

    stream = False
    loss = "mse"
    output_size = 2
    paper: ClassVar[str]
    input_names: ClassVar[tuple[str, ...]]

    def __init__(self, config) -> None:
        self.config = config

    @property
    def input_size(self) -> int:
        return len(self.input_names)

    def grid(self) -> dict[str, torch.Tensor]:
        """The task's conditions: name -> (K,) values, one entry per condition (for random
        dots, the signed coherences; for context, every context and pair of coherences)."""
        raise NotImplementedError

    def make(self, values: dict[str, torch.Tensor], catch: torch.Tensor,
             generator: torch.Generator) -> Trials:  # fmt: skip
        """Trials of these conditions (name -> (N,), the names of :meth:`grid`), catch
        trials where ``catch`` (N,) is True."""
        raise NotImplementedError

    def draw(self, num: int, generator: torch.Generator, balanced: bool = False) -> Trials:
        """``num`` trials: each of a condition drawn uniformly from :meth:`grid` and a catch
        trial with probability ``catch_fraction``; or, ``balanced``, trial n of condition
        n mod K, with a catch trial for every K others when ``catch_fraction`` > 0 (pycog's
        validation trials, ``minibatch_index % (nconditions + 1)``)."""
        grid = self.grid()
        K = len(next(iter(grid.values())))
        if balanced:
            cycle = K + (1 if self.config.catch_fraction > 0 else 0)
            index = torch.arange(num) % cycle
            catch = index == K
            index = index.clamp_max(K - 1)
        else:
            index = torch.randint(K, (num,), generator=generator)
            catch = draw_catch(num, self.config.catch_fraction, generator)
        return self.make({name: values[index] for name, values in grid.items()}, catch, generator)

    def splits(self) -> dict[str, Trials]:
        """Training trials drawn at random; validation and test trials balanced over the
        conditions (:meth:`draw`)."""
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            "train": self.draw(c.num_train, generator),
            "val": self.draw(c.num_val, generator, balanced=True),
            "test": self.draw(c.num_test, generator, balanced=True),
        }

    def metrics(self, predictions: torch.Tensor, split: Trials) -> dict[str, float]:
        """``accuracy`` and ``catch_accuracy`` (:func:`choice_metrics`)."""
        return choice_metrics(predictions, split)
