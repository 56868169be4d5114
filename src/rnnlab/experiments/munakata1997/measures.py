"""What is measured after every epoch, on the matched test events, and the criterion epochs.

For every member of an ensemble (every simulated infant), on the matched test events of
:func:`rnnlab.tasks.occlusion_events.matched_test_events`, with q the prediction head's
logistic outputs and r the reach head's, both read at each event's reach step (the last step
the toy is covered, the step whose prediction is of the reappearance frame):

- ``looking``, the surprise at an impossible event: the squared error of the prediction of
  the frame the toy should reappear in, when it does not (the impossible twin of an opaque toy
  event), minus the same error on the possible event with the same outcome, the no-toy twin
  (nothing was behind the screen, and nothing appears), averaged over the opaque events. Both
  events show the same frame; the impossible one is surprising to the extent that the
  network, having seen the toy go behind the screen, expects it back. The normalisation is
  the difference a perfect predictor shows, 1 (one toy unit wholly expected), so the measure
  is in units of one expected toy; an untrained network scores about 0. This graded "toy
  minus no toy" form is the looking counterpart of toy-guided reaching.
- ``looking_reappearance``: the other comparison, the impossible twin against the possible
  event in which the toy reappears. The twins' inputs agree up to the reach step, so their
  predictions agree and only the reappearing toy's unit differs: the difference is
  ``q^2 - (1 - q)^2 = 2 q - 1``, with ``q`` the predicted activation of the toy where it should
  reappear; it turns positive only once q > 0.5 (reported, not used by the criterion).
- ``expectation``: the mean of that q.
- ``reach_occluded``: the share of opaque toy events whose most active reach unit is the
  covered toy's position; ``reach_visible``: the same behind transparent screens (the toy
  seen through the screen, the same display otherwise). Chance is 1 / K.
- ``reach_occluded_strong``, ``reach_visible_strong``: the same, counting a reach only when
  the right unit is also above :data:`RESPONSE_THRESHOLD` (a response strong enough to be
  made; reported, not used by the criteria).
- ``toy_guided_opaque``, ``toy_guided_transparent``: reach activation at the toy's position on
  the toy event minus the same unit's on its no-toy twin (the infants' Toy - No-Toy
  retrievals), averaged over the events of that screen.

Criterion epochs (``classic_experiments.md`` section 5): looking, the first epoch at which
it is >= 0.75 of its final value (the mean of the last :data:`FINAL_EPOCHS` epochs; none if
that is <= 0); reaching, the first epoch at which the accuracy is >= 0.75.
"""

from dataclasses import dataclass, replace

import numpy as np
import torch

from rnnlab.tasks.occlusion_events import Event

MEASURES = ("looking", "looking_reappearance", "expectation", "reach_occluded", "reach_visible",
            "reach_occluded_strong", "reach_visible_strong", "toy_guided_opaque",
            "toy_guided_transparent")  # fmt: skip
LOOK_SHARE = 0.75  # looking criterion: this share of its final value
REACH_CRITERION = 0.75  # reach accuracy criterion
FINAL_EPOCHS = 5  # the final value of a curve: the mean of its last epochs
RESPONSE_THRESHOLD = 0.5  # the "strong" reach measures: the right unit, and above this


@dataclass(frozen=True)
class MatchedIndex:
    """Where the matched events lie in the test split, and what each measure reads."""

    toy: np.ndarray  # toy events: their index
    no_toy: np.ndarray  # ... their no-toy twins'
    opaque: np.ndarray  # bool over the toy events
    impossible: np.ndarray  # the impossible twins of the opaque toy events, in their order
    reach_step: np.ndarray  # (toy events,)
    reach_position: np.ndarray  # the toy's position at the reach step
    reappear_position: np.ndarray  # where the toy reappears

    @classmethod
    def of(cls, events: list[Event], positions: int) -> "MatchedIndex":
        index = {e: n for n, e in enumerate(events)}
        toy = [n for n, e in enumerate(events) if e.toy and e.possible]
        toys = [events[n] for n in toy]
        return cls(
            toy=np.array(toy),
            no_toy=np.array([index[replace(e, toy=False)] for e in toys]),
            opaque=np.array([e.screen == "opaque" for e in toys]),
            impossible=np.array(
                [index[replace(e, possible=False)] for e in toys if e.screen == "opaque"]
            ),
            reach_step=np.array([e.reach_step for e in toys]),
            reach_position=np.array([e.toy_at(e.reach_step) for e in toys]),
            reappear_position=np.array([e.toy_at(e.reappear_step) for e in toys]),
        )


def measure(
    outputs: torch.Tensor, targets: torch.Tensor, index: MatchedIndex, positions: int
) -> dict[str, np.ndarray]:
    """Every measure of every member: ``outputs`` (N, B, T, 3 K) raw, on the test split whose
    targets are ``targets`` (B, T, 3 K), in the order ``index`` describes. Returns measure
    name -> (N,) values."""
    K = positions
    out = torch.sigmoid(outputs.detach().double()).numpy()  # (N, B, T, 3 K)
    frames = targets[..., : 2 * K].double().numpy()  # (B, T, 2 K): the next frames
    steps = index.reach_step
    m = np.arange(len(index.toy))
    toy = out[:, index.toy, steps]  # (N, M, 3 K): each toy event at its reach step
    no_toy = out[:, index.no_toy, steps]  # ... and its no-toy twin
    reach, reach_none = toy[..., 2 * K :], no_toy[..., 2 * K :]  # (N, M, K)
    right = reach.argmax(-1) == index.reach_position  # (N, M)
    strong = right & (reach[:, m, index.reach_position] > RESPONSE_THRESHOLD)
    guided = reach[:, m, index.reach_position] - reach_none[:, m, index.reach_position]

    opaque = index.opaque
    rows, o_steps = np.arange(opaque.sum()), steps[opaque]
    # q: the prediction, at the reach step, of the unit where the toy should reappear
    q = toy[:, opaque][:, rows, K + index.reappear_position[opaque]]  # (N, M_opaque)
    # The impossible twin's next frame is the no-toy twin's (nothing behind the screen); its
    # prediction is the toy event's (the inputs agree up to the reach step).
    shown = frames[index.impossible, o_steps]  # (M_opaque, 2 K)
    if not np.array_equal(shown, frames[index.no_toy[opaque], o_steps]):
        raise AssertionError("an impossible event's outcome differs from its no-toy twin's")
    impossible = out[:, index.impossible, o_steps, : 2 * K]  # (N, M_opaque, 2 K)
    surprise = ((impossible - shown) ** 2).sum(-1)
    baseline = ((no_toy[:, opaque, : 2 * K] - shown) ** 2).sum(-1)
    return {
        "looking": (surprise - baseline).mean(1),
        "looking_reappearance": (2 * q - 1).mean(1),
        "expectation": q.mean(1),
        "reach_occluded": right[:, opaque].mean(1),
        "reach_visible": right[:, ~opaque].mean(1),
        "reach_occluded_strong": strong[:, opaque].mean(1),
        "reach_visible_strong": strong[:, ~opaque].mean(1),
        "toy_guided_opaque": guided[:, opaque].mean(1),
        "toy_guided_transparent": guided[:, ~opaque].mean(1),
    }


def first_epoch(curve: np.ndarray, threshold: float) -> int | None:
    """The first epoch (index) at which ``curve`` >= ``threshold``; None if never."""
    reached = np.flatnonzero(np.asarray(curve) >= threshold)
    return int(reached[0]) if len(reached) else None


def criterion_epochs(curves: dict[str, np.ndarray]) -> dict[str, int | None]:
    """One member's criterion epochs from its curves (measure -> (epochs + 1,), epoch 0 the
    untrained network): ``look``, ``reach_occluded``, ``reach_visible``."""
    final = float(np.mean(curves["looking"][-FINAL_EPOCHS:]))
    return {
        "look": first_epoch(curves["looking"], LOOK_SHARE * final) if final > 0 else None,
        "reach_occluded": first_epoch(curves["reach_occluded"], REACH_CRITERION),
        "reach_visible": first_epoch(curves["reach_visible"], REACH_CRITERION),
    }
