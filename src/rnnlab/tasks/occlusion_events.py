"""Occlusion events in a 1-D visual array: what a network must learn to represent hidden toys.

Munakata, Y., McClelland, J. L., Johnson, M. H. and Siegler, R. S. (1997). Rethinking infant
knowledge: toward an adaptive process account of successes and failures in object permanence
tasks. *Psychological Review*, 104(4), 686-713. Only the abstract and the 1994 technical
report's abstract could be read; the coding below is the replication spec's default
(``classic_experiments.md`` section 5, ``studies_and_applications.md`` section 4.3), not the
paper's.

**The display.** ``K`` positions (7 by default), two feature planes per position: the
occluder plane (a screen covers the position) and the toy plane (a toy is *seen* there). A
frame is a vector of ``2 K`` values, the occluder plane first. An opaque screen hides the toy:
where it covers the toy, the toy unit is off. A transparent screen lets it be seen: there both
the occluder and the toy unit are on.

**The events**, each ``E`` steps (8 by default), rendered as ``E + 1`` frames (the inputs are
frames 0 .. E - 1, the prediction targets frames 1 .. E):

- ``"occluder_slides"``: a toy stays at position ``p`` while a screen of ``width`` positions
  slides across it one position per step (``direction`` +1: rightwards) and away. The toy is
  covered from step ``hidden_from`` for ``width`` steps, then reappears.
- ``"toy_moves"``: a screen stands still over positions ``occluder .. occluder + width - 1``;
  the toy moves one position per step (``direction``) behind it, is covered for ``width``
  steps from ``hidden_from``, and re-emerges on the other side.
- each of these with no toy at all (``toy = False``): the no-toy controls, the same screen
  movement without the toy.

A ``screen`` is ``"opaque"`` or ``"transparent"``. An event is ``possible`` or, for the
looking tests, ``"impossible"``: the toy fails to reappear (it is gone from the frame where it
should be seen again on; opaque screens only). The *reach step* is the last step at which the
toy is covered (``hidden_from + width - 1``), the single step at which the display is "within
reach" (the spec's default); the *reappearance step* is the next one, the frame the prediction
made at the reach step predicts.

**The task's tensors.** ``x`` (N, E, 2 K + 1): the frame, then a "within reach" channel, 1 at
the steps where a reach response is asked for (the reach step, or every step under
``reach_every_step``, the ablation) and 0 elsewhere. ``y`` (N, E, 3 K): the next frame (2 K),
then the reach target (K): a one-hot vector of the toy's position (covered or not) at the
steps within reach, all zeros on a no-toy event, and 0.5 at the steps not within reach, the
value of a reach unit that does not respond (a network that gates its reach outputs by the
channel, as :class:`rnnlab.experiments.munakata1997.network.LookReachNetwork` does, has zero
error and zero gradient there). Every event keeps its condition (:class:`Event`): kind, toy,
screen, possibility, position, width, direction, timing.

The training split holds ``num_train`` possible events drawn (with the config's ``seed``)
from every possible event, toy and no-toy, opaque and transparent, in the proportions of the
config; :func:`matched_test_events` enumerates the matched test events, each possible toy event with
its impossible twin and its no-toy twin.
"""

from dataclasses import dataclass, replace
from itertools import product
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.base import Split, Task, seed_field

Kind = Literal["occluder_slides", "toy_moves"]
Screen = Literal["opaque", "transparent"]
KINDS: tuple[Kind, ...] = ("occluder_slides", "toy_moves")
SCREENS: tuple[Screen, ...] = ("opaque", "transparent")
NOT_WITHIN_REACH = 0.5  # the reach target where no reach response is asked for


class OcclusionEventsConfig(BaseModel):
    """The display, the events and the splits (the spec's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["occlusion_events"] = "occlusion_events"
    positions: int = Field(7, ge=4, le=32, description="K, positions of the visual array")
    steps: int = Field(8, ge=4, le=64, description="E, steps per event")
    widths: tuple[int, ...] = Field((2, 3), min_length=1, description="screen widths")
    hidden_from: tuple[int, ...] = Field(
        (1, 2, 3), min_length=1, description="steps at which the toy becomes covered"
    )
    no_toy_share: float = Field(
        0.25, ge=0, lt=1, description="share of no-toy events in the training split"
    )
    transparent_share: float = Field(
        0.5, ge=0, le=1, description="share of transparent screens among the toy events"
    )
    reach_share: float = Field(
        1.0,
        gt=0,
        le=1,
        description="share of the training events that ask for a reach response at their "
        "reach step (the others ask for none)",
    )
    reach_any_step: bool = Field(
        False,
        description="training events ask for their reach response at a step drawn "
        "uniformly from the event's steps (the toy mostly in view), not at the reach step",
    )
    reach_every_step: bool = Field(
        False,
        description="ask for a reach response at every step of every event (the "
        "ablation; reach_share is then unused)",
    )
    num_train: int = Field(256, ge=1, description="training events per epoch")
    seed: int = seed_field("seed of the training events")

    @model_validator(mode="after")
    def _check_geometry(self) -> "OcclusionEventsConfig":
        for width, start in product(self.widths, self.hidden_from):
            if width < 1 or width >= self.positions - 1:
                raise ValueError(
                    f"widths must be in 1 .. positions - 2 = {self.positions - 2}; got {width}"
                )
            if start < 1 or start + width > self.steps:
                raise ValueError(
                    f"hidden_from {start} with width {width}: the toy must be seen at step 0 "
                    f"and reappear by step {self.steps} (hidden_from >= 1, hidden_from + "
                    f"width <= steps)"
                )
        return self


@dataclass(frozen=True)
class Event:
    """One event's condition: everything that decides its frames.

    ``position`` is the toy's position at step 0 (``"occluder_slides"``: throughout);
    ``occluder`` the screen's first covered position at step 0 (``"toy_moves"``: throughout).
    """

    kind: Kind
    toy: bool
    screen: Screen
    possible: bool
    position: int
    occluder: int
    width: int
    direction: int
    hidden_from: int
    reach: bool = True  # whether the event asks for a reach response (training events)
    reach_at: int | None = None  # the step it asks at, if not the reach step (reach_any_step)

    @property
    def reach_step(self) -> int:
        """The last step the toy is covered: the step within reach."""
        return self.hidden_from + self.width - 1

    @property
    def reappear_step(self) -> int:
        """The step the toy is seen again (a possible event), the one after the reach step."""
        return self.hidden_from + self.width

    def toy_at(self, t: int) -> int:
        """The toy's position at step t (it may lie off the array), whether or not it exists."""
        return self.position + (self.direction * t if self.kind == "toy_moves" else 0)

    def screen_at(self, t: int) -> range:
        """The positions the screen covers at step t (some may lie off the array)."""
        first = self.occluder + (self.direction * t if self.kind == "occluder_slides" else 0)
        return range(first, first + self.width)

    def condition(self) -> dict:
        """The event's condition as plain values (for tables and results)."""
        return {
            "kind": self.kind, "toy": self.toy, "screen": self.screen, "possible": self.possible,
            "position": self.position, "occluder": self.occluder, "width": self.width,
            "direction": self.direction, "hidden_from": self.hidden_from,
            "reach_step": self.reach_step,
        }  # fmt: skip


def render(event: Event, positions: int, steps: int) -> np.ndarray:
    """The event's ``steps + 1`` frames, (E + 1, 2 K): occluder plane, then toy plane."""
    frames = np.zeros((steps + 1, 2 * positions), dtype=np.float32)
    for t in range(steps + 1):
        covered = [q for q in event.screen_at(t) if 0 <= q < positions]
        frames[t, covered] = 1.0
        p = event.toy_at(t)
        gone = not event.possible and t >= event.reappear_step
        if not event.toy or gone or not 0 <= p < positions:
            continue
        if p in covered and event.screen == "opaque":
            continue  # hidden
        frames[t, positions + p] = 1.0
    return frames


def reach_steps(event: Event, steps: int, every_step: bool) -> tuple[int, ...]:
    """The steps that ask for a reach response: every step, or the reach step of an event
    that asks for one, or none."""
    if every_step:
        return tuple(range(steps))
    if not event.reach:
        return ()
    return (event.reach_step if event.reach_at is None else event.reach_at,)


def reach_targets(event: Event, positions: int, steps: int, every_step: bool) -> np.ndarray:
    """(E, K): one-hot of the toy's position at the steps within reach (zeros with no toy, or
    off the array), :data:`NOT_WITHIN_REACH` at the others."""
    targets = np.full((steps, positions), NOT_WITHIN_REACH, dtype=np.float32)
    for t in reach_steps(event, steps, every_step):
        targets[t] = 0.0
        p = event.toy_at(t)
        gone = not event.possible and t >= event.reappear_step
        if event.toy and not gone and 0 <= p < positions:
            targets[t, p] = 1.0
    return targets


def within_reach(event: Event, steps: int, every_step: bool) -> np.ndarray:
    """(E,): 1 at the steps that ask for a reach response."""
    flags = np.zeros(steps, dtype=np.float32)
    flags[list(reach_steps(event, steps, every_step))] = 1.0
    return flags


def possible_events(config: OcclusionEventsConfig) -> list[Event]:
    """Every possible toy event of the config's geometry, opaque and transparent (the no-toy
    controls are their :func:`without_toy` twins)."""
    K, events = config.positions, []
    for screen, width, start, direction in product(
        SCREENS, config.widths, config.hidden_from, (1, -1)
    ):
        for p in range(K):  # the screen slides over a toy at p
            # rightwards, its right edge reaches p at `start`; leftwards, its left edge.
            first = p - width + 1 - start if direction == 1 else p + start
            events.append(Event("occluder_slides", True, screen, True, p, first, width,
                                direction, start))  # fmt: skip
        for q in range(K - width + 1):  # the toy moves behind a screen over q .. q + width - 1
            p = q - start if direction == 1 else q + width - 1 + start
            exit_ = p + direction * (start + width)  # where it re-emerges
            if 0 <= p < K and 0 <= exit_ < K:
                events.append(Event("toy_moves", True, screen, True, p, q, width, direction,
                                    start))  # fmt: skip
    return events


def without_toy(event: Event) -> Event:
    """The no-toy twin: the same screen movement, no toy."""
    return replace(event, toy=False)


def impossible(event: Event) -> Event:
    """The impossible twin: the toy fails to reappear."""
    return replace(event, possible=False)


def matched_test_events(config: OcclusionEventsConfig) -> list[Event]:
    """Every possible toy event, then their impossible twins (opaque screens only), then their
    no-toy twins: matched lists, ``[toy events..., impossible..., no-toy...]``."""
    toys = possible_events(config)
    return (
        toys
        + [impossible(e) for e in toys if e.screen == "opaque"]
        + [without_toy(e) for e in toys]
    )


def tensors(
    events: list[Event], config: OcclusionEventsConfig, every_step: bool | None = None
) -> Split:
    """The events as a split: x (N, E, 2 K + 1), y (N, E, 3 K) (see the module docstring)."""
    every = config.reach_every_step if every_step is None else every_step
    K, E = config.positions, config.steps
    x = np.zeros((len(events), E, 2 * K + 1), dtype=np.float32)
    y = np.zeros((len(events), E, 3 * K), dtype=np.float32)
    for n, event in enumerate(events):
        frames = render(event, K, E)
        x[n, :, : 2 * K] = frames[:-1]
        x[n, :, 2 * K] = within_reach(event, E, every)
        y[n, :, : 2 * K] = frames[1:]
        y[n, :, 2 * K :] = reach_targets(event, K, E, every)
    return Split(x=torch.from_numpy(x), y=torch.from_numpy(y))


def sample_training_events(config: OcclusionEventsConfig) -> list[Event]:
    """``num_train`` possible events drawn with the config's seed: a no-toy event with chance
    ``no_toy_share``, else a toy event behind a transparent screen with chance
    ``transparent_share``, else behind an opaque one; kinds, positions, widths, directions and
    timings uniform among those the geometry allows."""
    rng = np.random.default_rng(config.seed)
    by_screen = {s: [e for e in possible_events(config) if e.screen == s] for s in SCREENS}
    events = []
    for _ in range(config.num_train):
        toy = rng.random() >= config.no_toy_share
        screen = "transparent" if rng.random() < config.transparent_share else "opaque"
        pool = by_screen[screen]
        event = pool[int(rng.integers(len(pool)))]
        reach = config.reach_every_step or bool(rng.random() < config.reach_share)
        at = int(rng.integers(config.steps)) if config.reach_any_step else None
        events.append(replace(event if toy else without_toy(event), reach=reach, reach_at=at))
    return events


class OcclusionEvents(Task):
    """Occlusion events as a sequence task for :func:`rnnlab.train.fit`; see the module
    docstring. Splits: ``train`` (sampled possible events), ``val`` and ``test`` (the matched
    test events of :func:`matched_test_events`); :attr:`events` holds each split's conditions."""

    name = "occlusion_events"
    description = (
        "Munakata et al. (1997): predict the next frame of occlusion events; reach for the toy"
    )
    stream = False
    loss = "sigmoid_mse"

    def __init__(self, config: OcclusionEventsConfig) -> None:
        self.config = config
        self.input_size = 2 * config.positions + 1
        self.output_size = 3 * config.positions
        tests = matched_test_events(config)
        self.events = {
            "train": sample_training_events(config), "val": tests, "test": tests,
        }  # fmt: skip

    def splits(self) -> dict[str, Split]:
        return {name: tensors(events, self.config) for name, events in self.events.items()}
