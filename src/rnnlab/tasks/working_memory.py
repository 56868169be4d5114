"""Parametric working memory: is the second vibration faster than the first? (Romo, Brody,
Hernández & Lemus 1999; Song, Yang & Wang 2016, Fig. 7; pycog ``examples/models/romo.py``.)

Two stimuli of frequencies f1 and f2 (Hz) come one after the other, a delay apart; in the
decision period the network reports whether f1 > f2 (choice 0) or f1 < f2 (choice 1). It must
hold f1, a continuous quantity, through the delay. Each frequency is coded by two inputs of
opposite tuning, during its period only, on top of the baseline (see
:mod:`rnnlab.tasks.trials`)::

    input 1 = 0.2 + 0.8 (f - f_min) / (f_max - f_min)      (positively tuned)
    input 2 = 0.2 + 0.8 (f_max - f) / (f_max - f_min)      (negatively tuned)

with f_min and f_max the lowest and highest frequency of the task. Defaults (pycog's): dt 20
ms; fixation 100 ms, f1 500 ms, delay 3000 ms, f2 500 ms, decision 300 ms (T = 220 steps);
the pairs {f, f + 8} for f in {10, 14, 18, 22, 26} Hz, presented in either order (10
conditions), catch trials 1/11; pycog's ``romo`` stops training above 94 %, the spec's target
is 85 % (:data:`TARGET_PERFORMANCE`).

Conditions: ``f1``, ``f2`` (Hz), ``difference`` (f2 - f1), ``choice`` (-1 on catch trials),
``catch``.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.base import seed_field
from rnnlab.tasks.trials import (
    CognitiveTask,
    Trials,
    baseline_field,
    catch_field,
    check_periods,
    choice_trials,
    dt_field,
    duration_field,
    sigma_field,
    timeline,
)

TARGET_PERFORMANCE = 0.85
"""The spec's target for the Romo task (pycog's own ``romo`` stops above 94 %)."""


class WorkingMemoryConfig(BaseModel):
    """``[task]`` of parametric working memory (Romo et al. 1999)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["working_memory"] = "working_memory"
    dt: float = dt_field()
    fixation: float = duration_field(100.0, "fixation period")
    f1: float = duration_field(500.0, "first stimulus")
    delay: float = duration_field(3000.0, "delay between the stimuli")
    f2: float = duration_field(500.0, "second stimulus")
    decision: float = duration_field(300.0, "decision period")
    low_frequencies: list[float] = Field(
        [10.0, 14.0, 18.0, 22.0, 26.0], min_length=1,
        description="the lower frequency of each pair, in Hz",
    )  # fmt: skip
    difference: float = Field(8.0, gt=0, description="the higher frequency is this much higher")
    baseline: float = baseline_field()
    sigma: float = sigma_field()
    catch_fraction: float = catch_field(1 / 11)
    num_train: int = Field(2000, ge=1, description="training trials")
    num_val: int = Field(550, ge=1, description="validation trials")
    num_test: int = Field(1100, ge=1, description="test trials")
    seed: int = seed_field("seed of the trials; the training seed is separate")

    @model_validator(mode="after")
    def _valid(self) -> "WorkingMemoryConfig":
        if min(self.low_frequencies) <= 0:
            raise ValueError("every frequency must be > 0 Hz")
        check_periods(self, ("fixation", "f1", "f2", "decision"))
        return self

    @property
    def frequency_range(self) -> tuple[float, float]:
        """(f_min, f_max): the lowest and the highest frequency of the pairs."""
        return min(self.low_frequencies), max(self.low_frequencies) + self.difference


class WorkingMemory(CognitiveTask):
    """Parametric working memory; see the module docstring."""

    name = "working_memory"
    description = (
        "Romo et al. (1999): is the second frequency, after a delay, higher than the first?"
    )
    paper = "Romo, Brody, Hernández & Lemus (1999); Song, Yang & Wang (2016), Fig. 7"
    input_names = ("fixation", "frequency, positively tuned", "frequency, negatively tuned")
    config: WorkingMemoryConfig

    def encode(self, frequency: torch.Tensor) -> torch.Tensor:
        """(N, 2): the two tuned inputs of frequencies (N,) (see the module docstring)."""
        low, high = self.config.frequency_range
        share = (frequency - low) / (high - low)
        return torch.stack([0.2 + 0.8 * share, 0.2 + 0.8 * (1 - share)], dim=-1)

    def trials(self, f1: torch.Tensor, f2: torch.Tensor, generator: torch.Generator,
               catch: torch.Tensor | None = None) -> Trials:  # fmt: skip
        """Trials of these frequency pairs (N,) each, in Hz; ``f1 == f2`` gets a correct
        choice drawn at random."""
        c = self.config
        dtype = torch.get_default_dtype()
        f1, f2 = f1.to(dtype), f2.to(dtype)
        N = len(f1)
        catch = torch.zeros(N, dtype=torch.bool) if catch is None else catch
        coin = torch.randint(2, (N,), generator=generator)
        choice = torch.where(f2 > f1, 1, torch.where(f2 < f1, 0, coin))
        choice = torch.where(catch, -1, choice)
        durations = {"fixation": c.fixation, "f1": c.f1, "delay": c.delay, "f2": c.f2,
                     "decision": c.decision}  # fmt: skip
        periods, T = timeline(durations, c.dt, N)
        stimulus = torch.zeros(N, T, 2)
        for period, frequency in (("f1", f1), ("f2", f2)):
            start, stop = periods[period][0].tolist()
            stimulus[:, start:stop] = self.encode(frequency)[:, None, :]
        stimulus[catch] = 0.0
        conditions = {"f1": torch.where(catch, 0.0, f1), "f2": torch.where(catch, 0.0, f2),
                      "difference": torch.where(catch, 0.0, f2 - f1)}  # fmt: skip
        return choice_trials(
            stimulus, choice, periods, conditions, dt=c.dt, baseline=c.baseline, sigma=c.sigma,
            generator=generator,
        )  # fmt: skip

    def grid(self) -> dict[str, torch.Tensor]:
        """Every pair {f, f + difference}, in either order."""
        low = torch.tensor(self.config.low_frequencies)
        high = low + self.config.difference
        return {"f1": torch.cat([high, low]), "f2": torch.cat([low, high])}

    def make(self, values: dict[str, torch.Tensor], catch: torch.Tensor,
             generator: torch.Generator) -> Trials:  # fmt: skip
        return self.trials(values["f1"], values["f2"], generator, catch)
