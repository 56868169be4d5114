"""Perceptual decision making: which way do the random dots move? (Song, Yang & Wang 2016,
Fig. 2; pycog ``examples/models/rdm_fixed.py``; after Roitman & Shadlen 2002 and Britten et
al. 1992.)

Two inputs carry the momentary evidence for the two choices during the stimulus period; the
network reports, in the decision period, which was the stronger. A trial of signed coherence
``c`` (in %; positive: the evidence favours choice 1) has the inputs::

    input 1 (evidence for choice 0) = (1 - scale c / 100) / 2
    input 2 (evidence for choice 1) = (1 + scale c / 100) / 2

with pycog's ``scale = 3.2``, during the stimulus period only, on top of the baseline (see
:mod:`rnnlab.tasks.trials` for the fixation input, the targets, the mask, catch trials and the
performance measure). Defaults (pycog's): dt 20 ms; fixation 100 ms, stimulus 800 ms,
decision 300 ms (T = 60 steps); unsigned coherences {1, 2, 4, 8, 16} %, each with either sign;
catch trials 1/11; the stopping criterion of training is 85 % (:data:`TARGET_PERFORMANCE`).
The correct choice of a trial of coherence 0 is drawn at random, as its sign.

Conditions of every trial: ``coherence`` (signed, %), ``strength`` (unsigned, %),
``choice`` (the correct one, 0 or 1; -1 on catch trials), ``catch``.
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
    check_coherences,
    check_periods,
    choice_trials,
    dt_field,
    duration_field,
    sigma_field,
    timeline,
)

TARGET_PERFORMANCE = 0.85
"""pycog's ``TARGET_PERFORMANCE`` of ``rdm_fixed``: training stops above it."""


class PerceptualDecisionConfig(BaseModel):
    """``[task]`` of perceptual decision making (random dots)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["perceptual_decision"] = "perceptual_decision"
    dt: float = dt_field()
    fixation: float = duration_field(100.0, "fixation period")
    stimulus: float = duration_field(800.0, "stimulus period")
    decision: float = duration_field(300.0, "decision period")
    coherences: list[float] = Field(
        [1.0, 2.0, 4.0, 8.0, 16.0], min_length=1, description="unsigned coherences, in %"
    )
    scale: float = Field(3.2, gt=0, description="input = (1 +- scale coherence / 100) / 2")
    baseline: float = baseline_field()
    sigma: float = sigma_field()
    catch_fraction: float = catch_field(1 / 11)
    num_train: int = Field(2000, ge=1, description="training trials")
    num_val: int = Field(550, ge=1, description="validation trials")
    num_test: int = Field(1100, ge=1, description="test trials")
    seed: int = seed_field("seed of the trials; the training seed is separate")

    @model_validator(mode="after")
    def _valid(self) -> "PerceptualDecisionConfig":
        check_coherences(self.coherences, self.scale)
        check_periods(self, ("fixation", "stimulus", "decision"))
        return self


class PerceptualDecision(CognitiveTask):
    """Perceptual decision making; see the module docstring."""

    name = "perceptual_decision"
    description = "Song et al. (2016): which of two noisy evidence streams is stronger (dots)"
    paper = "Song, Yang & Wang (2016), Fig. 2; Roitman & Shadlen (2002)"
    input_names = ("fixation", "evidence for choice 0", "evidence for choice 1")
    config: PerceptualDecisionConfig

    def trials(self, coherence: torch.Tensor, generator: torch.Generator,
               catch: torch.Tensor | None = None) -> Trials:  # fmt: skip
        """Trials of these signed coherences (N,) in %, catch trials where ``catch`` (N,) is
        True; a coherence of 0 gets a correct choice drawn from ``generator``."""
        c = self.config
        coherence = coherence.to(torch.get_default_dtype())
        N = len(coherence)
        catch = torch.zeros(N, dtype=torch.bool) if catch is None else catch
        coin = torch.randint(2, (N,), generator=generator)
        choice = torch.where(coherence > 0, 1, torch.where(coherence < 0, 0, coin))
        choice = torch.where(catch, -1, choice)
        coherence = torch.where(catch, 0.0, coherence)
        durations = {"fixation": c.fixation, "stimulus": c.stimulus, "decision": c.decision}
        periods, T = timeline(durations, c.dt, N)
        stimulus = torch.zeros(N, T, 2)
        start, stop = periods["stimulus"][0].tolist()
        evidence = c.scale * coherence / 100  # (N,)
        stimulus[:, start:stop, 0] = ((1 - evidence) / 2)[:, None]
        stimulus[:, start:stop, 1] = ((1 + evidence) / 2)[:, None]
        stimulus[catch] = 0.0
        conditions = {"coherence": coherence, "strength": coherence.abs()}
        return choice_trials(
            stimulus, choice, periods, conditions, dt=c.dt, baseline=c.baseline, sigma=c.sigma,
            generator=generator,
        )  # fmt: skip

    def grid(self) -> dict[str, torch.Tensor]:
        """The signed coherences: every one of ``coherences`` with either sign."""
        strengths = torch.tensor(self.config.coherences)
        return {"coherence": torch.cat([-strengths.flip(0), strengths])}

    def make(self, values: dict[str, torch.Tensor], catch: torch.Tensor,
             generator: torch.Generator) -> Trials:  # fmt: skip
        return self.trials(values["coherence"], generator, catch)
