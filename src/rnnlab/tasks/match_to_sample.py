"""Delayed match-to-sample: is the test stimulus, after a delay, the sample? (Miller, Erickson
& Desimone 1996; NeuroGym's ``DelayMatchSample``, main at 8136bc7d.)

A sample stimulus at one of ``directions`` angles theta_s = 2 pi k / directions, a delay, then
a test stimulus: the same angle (a match, choice 0) or the opposite one, theta_s + pi (a
non-match, choice 1), reported in the decision period. Both are shown on a ring of
``directions`` input units, unit i at angle theta_i = 2 pi i / directions, each with the
response ``cos(theta - theta_i) / 2 + 1/2`` in [0, 1] (NeuroGym's coding) during its period
only, on top of the baseline (see :mod:`rnnlab.tasks.trials` for the fixation input, the
targets, the mask and the performance). Timing (NeuroGym's): fixation 300 ms, sample 500 ms,
delay 1000 ms, test 500 ms, decision 900 ms; at pycog's dt of 20 ms, T = 160 steps. NeuroGym
has no catch trials (``catch_fraction`` 0) and adds input noise of s.d. ``1 / sqrt(dt)`` per
step (``sigma``; 0 here by default, the network draws its own).

Differences from NeuroGym: the actions are two choice outputs trained by squared error
(pycog's coding) instead of fixate / match / non-match classes; the fixation input says when
to answer.

Conditions: ``sample`` and ``test`` (the directions' indices; the test's is the sample's
shifted by half the ring, or the sample's own), ``match`` (bool), ``choice`` (0 match, 1
non-match; -1 on catch trials), ``catch``.
"""

import math
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


class MatchToSampleConfig(BaseModel):
    """``[task]`` of delayed match-to-sample."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["match_to_sample"] = "match_to_sample"
    dt: float = dt_field()
    fixation: float = duration_field(300.0, "fixation period")
    sample: float = duration_field(500.0, "sample stimulus")
    delay: float = duration_field(1000.0, "delay between sample and test")
    test: float = duration_field(500.0, "test stimulus")
    decision: float = duration_field(900.0, "decision period")
    directions: int = Field(2, ge=2, description="the ring's input units and sample angles")
    baseline: float = baseline_field()
    sigma: float = sigma_field()
    catch_fraction: float = catch_field(0.0)
    num_train: int = Field(2000, ge=1, description="training trials")
    num_val: int = Field(500, ge=1, description="validation trials")
    num_test: int = Field(1000, ge=1, description="test trials")
    seed: int = seed_field("seed of the trials; the training seed is separate")

    @model_validator(mode="after")
    def _valid(self) -> "MatchToSampleConfig":
        check_periods(self, ("fixation", "sample", "test", "decision"))
        return self


class MatchToSample(CognitiveTask):
    """Delayed match-to-sample; see the module docstring."""

    name = "match_to_sample"
    description = "Miller et al. (1996), NeuroGym: after a delay, is the test the sample?"
    paper = "Miller, Erickson & Desimone (1996); NeuroGym DelayMatchSample"
    config: MatchToSampleConfig

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("fixation", *(f"ring unit {i}" for i in range(self.config.directions)))

    def ring(self, angle: torch.Tensor) -> torch.Tensor:
        """(N, directions): the ring's response to stimuli at these angles (N,) in radians."""
        D = self.config.directions
        preferred = 2 * math.pi * torch.arange(D) / D
        return torch.cos(angle[:, None] - preferred) / 2 + 0.5

    def trials(self, sample: torch.Tensor, match: torch.Tensor, generator: torch.Generator,
               catch: torch.Tensor | None = None) -> Trials:  # fmt: skip
        """Trials of these sample directions (N,) (indices into the ring) and ``match`` (N,)
        bool, catch trials where ``catch`` is True."""
        c = self.config
        sample, match = sample.long(), match.bool()
        N = len(sample)
        catch = torch.zeros(N, dtype=torch.bool) if catch is None else catch
        choice = torch.where(catch, -1, torch.where(match, 0, 1))
        durations = {"fixation": c.fixation, "sample": c.sample, "delay": c.delay,
                     "test": c.test, "decision": c.decision}  # fmt: skip
        periods, T = timeline(durations, c.dt, N)
        angle = 2 * math.pi * sample.to(torch.get_default_dtype()) / c.directions
        test_angle = torch.where(match, angle, angle + math.pi)
        stimulus = torch.zeros(N, T, c.directions)
        for period, theta in (("sample", angle), ("test", test_angle)):
            start, stop = periods[period][0].tolist()
            stimulus[:, start:stop] = self.ring(theta)[:, None, :]
        stimulus[catch] = 0.0
        half = c.directions / 2
        test = torch.where(match, sample.double(), (sample + half) % c.directions)
        conditions = {"sample": torch.where(catch, -1, sample),
                      "test": torch.where(catch, -1.0, test).to(torch.get_default_dtype()),
                      "match": match & ~catch}  # fmt: skip
        return choice_trials(
            stimulus, choice, periods, conditions, dt=c.dt, baseline=c.baseline, sigma=c.sigma,
            generator=generator,
        )  # fmt: skip

    def grid(self) -> dict[str, torch.Tensor]:
        """Every sample direction, matched and not."""
        directions = torch.arange(self.config.directions)
        return {"sample": directions.repeat_interleave(2),
                "match": torch.tensor([True, False]).repeat(len(directions))}  # fmt: skip

    def make(self, values: dict[str, torch.Tensor], catch: torch.Tensor,
             generator: torch.Generator) -> Trials:  # fmt: skip
        return self.trials(values["sample"], values["match"], generator, catch)
