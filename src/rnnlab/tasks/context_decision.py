"""Context-dependent integration (Mante, Sussillo, Shenoy & Newsome 2013; Song, Yang & Wang
2016, Fig. 4; pycog ``examples/models/mante.py``).

Every trial shows two stimuli at once, motion and colour, each with its own signed coherence
(in %; positive: it favours choice 1), and a context cue says which one to report: the
network must integrate the cued stimulus and ignore the other. Inputs, during the stimulus
period only, on top of the baseline (see :mod:`rnnlab.tasks.trials` for the fixation input,
targets, mask, catch trials and performance)::

    input 1, 2   context: 1 on the cued one (motion, colour), 0 on the other
    input 3, 4   motion evidence for choice 0, 1: (1 -+ scale c_motion / 100) / 2
    input 5, 6   colour evidence for choice 0, 1: (1 -+ scale c_colour / 100) / 2

with pycog's ``scale = 5``. Defaults (pycog's): dt 20 ms; fixation 100 ms, stimulus 800 ms,
decision 300 ms; unsigned coherences {1, 3, 10} % per modality with independent signs, so 2
contexts x 6 x 6 = 72 conditions, and catch trials 1/73; the stopping criterion of training is
90 % (:data:`TARGET_PERFORMANCE`). A network that ignores the context and follows both
stimuli is right on at most 75 % of the trials (Yang et al. 2019, ``task.py``), the trials on
which they agree and half of the others.

Conditions: ``context`` (0 motion, 1 colour), ``motion`` and ``colour`` (signed coherences,
%), ``relevant`` and ``irrelevant`` (the cued and the other's), ``choice`` (-1 on catch
trials), ``catch``. A relevant coherence of 0 gets a correct choice drawn at random.
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

TARGET_PERFORMANCE = 0.90
"""pycog's ``mante`` stops training above 90 %."""

CONTEXTS = ("motion", "colour")


class ContextDecisionConfig(BaseModel):
    """``[task]`` of context-dependent integration."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["context_decision"] = "context_decision"
    dt: float = dt_field()
    fixation: float = duration_field(100.0, "fixation period")
    stimulus: float = duration_field(800.0, "stimulus period")
    decision: float = duration_field(300.0, "decision period")
    coherences: list[float] = Field(
        [1.0, 3.0, 10.0], min_length=1, description="unsigned coherences per modality, in %"
    )
    scale: float = Field(5.0, gt=0, description="input = (1 +- scale coherence / 100) / 2")
    baseline: float = baseline_field()
    sigma: float = sigma_field()
    catch_fraction: float = catch_field(1 / 73)
    num_train: int = Field(4000, ge=1, description="training trials")
    num_val: int = Field(730, ge=1, description="validation trials")
    num_test: int = Field(1460, ge=1, description="test trials")
    seed: int = seed_field("seed of the trials; the training seed is separate")

    @model_validator(mode="after")
    def _valid(self) -> "ContextDecisionConfig":
        check_coherences(self.coherences, self.scale)
        check_periods(self, ("fixation", "stimulus", "decision"))
        return self


class ContextDecision(CognitiveTask):
    """Context-dependent integration; see the module docstring."""

    name = "context_decision"
    description = "Mante et al. (2013): report motion or colour of one stimulus, as cued"
    paper = "Mante, Sussillo, Shenoy & Newsome (2013); Song, Yang & Wang (2016), Fig. 4"
    input_names = ("fixation", "context motion", "context colour", "motion for choice 0",
                   "motion for choice 1", "colour for choice 0", "colour for choice 1")  # fmt: skip
    config: ContextDecisionConfig

    def trials(
        self, context: torch.Tensor, motion: torch.Tensor, colour: torch.Tensor,
        generator: torch.Generator, catch: torch.Tensor | None = None,
    ) -> Trials:  # fmt: skip
        """Trials of these contexts (N,) (0 motion, 1 colour) and signed coherences (N,) in %,
        catch trials where ``catch`` is True."""
        c = self.config
        dtype = torch.get_default_dtype()
        motion, colour, context = motion.to(dtype), colour.to(dtype), context.long()
        N = len(context)
        catch = torch.zeros(N, dtype=torch.bool) if catch is None else catch
        motion, colour = torch.where(catch, 0.0, motion), torch.where(catch, 0.0, colour)
        relevant = torch.where(context == 0, motion, colour)
        irrelevant = torch.where(context == 0, colour, motion)
        coin = torch.randint(2, (N,), generator=generator)
        choice = torch.where(relevant > 0, 1, torch.where(relevant < 0, 0, coin))
        choice = torch.where(catch, -1, choice)
        durations = {"fixation": c.fixation, "stimulus": c.stimulus, "decision": c.decision}
        periods, T = timeline(durations, c.dt, N)
        start, stop = periods["stimulus"][0].tolist()
        stimulus = torch.zeros(N, T, 6)
        cue = torch.nn.functional.one_hot(context, 2).to(dtype)  # (N, 2)
        m, k = c.scale * motion / 100, c.scale * colour / 100
        during = torch.stack([cue[:, 0], cue[:, 1], (1 - m) / 2, (1 + m) / 2, (1 - k) / 2,
                              (1 + k) / 2], dim=-1)  # (N, 6)  # fmt: skip
        stimulus[:, start:stop] = during[:, None, :]
        stimulus[catch] = 0.0
        conditions = {"context": torch.where(catch, -1, context), "motion": motion,
                      "colour": colour, "relevant": relevant, "irrelevant": irrelevant}  # fmt: skip
        return choice_trials(
            stimulus, choice, periods, conditions, dt=c.dt, baseline=c.baseline, sigma=c.sigma,
            generator=generator,
        )  # fmt: skip

    def grid(self) -> dict[str, torch.Tensor]:
        """Every context with every pair of signed motion and colour coherences (2 x 6 x 6
        by default)."""
        strengths = torch.tensor(self.config.coherences)
        signed = torch.cat([-strengths.flip(0), strengths])
        context, motion, colour = torch.meshgrid(torch.arange(2.0), signed, signed, indexing="ij")
        return {"context": context.flatten().long(), "motion": motion.flatten(),
                "colour": colour.flatten()}  # fmt: skip

    def make(self, values: dict[str, torch.Tensor], catch: torch.Tensor,
             generator: torch.Generator) -> Trials:  # fmt: skip
        return self.trials(values["context"], values["motion"], values["colour"], generator, catch)
