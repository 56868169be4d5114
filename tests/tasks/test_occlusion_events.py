"""The occlusion events: frames written out by hand, the geometry of every event checked by
brute force, the twins, the reach targets, seeding and the config's errors."""

import numpy as np
import pytest
from pydantic import ValidationError

from rnnlab.tasks.base import checked_splits
from rnnlab.tasks.occlusion_events import (
    NOT_WITHIN_REACH,
    Event,
    OcclusionEvents,
    OcclusionEventsConfig,
    impossible,
    matched_test_events,
    possible_events,
    reach_targets,
    render,
    sample_training_events,
    tensors,
    without_toy,
)

CONFIG = OcclusionEventsConfig()
K, E = CONFIG.positions, CONFIG.steps


def planes(frames: np.ndarray) -> list[str]:
    """Each frame as K characters: '.' empty, '#' screen, 'o' toy seen, '@' toy seen through
    a screen."""
    rows = []
    for frame in frames:
        screen, toy = frame[: len(frame) // 2], frame[len(frame) // 2 :]
        rows.append("".join(".o#@"[int(s) * 2 + int(t)] for s, t in zip(screen, toy)))
    return rows


def test_a_screen_slides_over_a_toy_and_away():
    event = Event("occluder_slides", True, "opaque", True, position=3, occluder=1, width=2,
                  direction=1, hidden_from=1)  # fmt: skip
    assert planes(render(event, K, E)) == [
        ".##o...",
        "..##...",
        "...##..",
        "...o##.",
        "...o.##",
        "...o..#",
        "...o...",
        "...o...",
        "...o...",
    ]
    assert (event.reach_step, event.reappear_step) == (2, 3)
    assert planes(render(impossible(event), K, E))[2:5] == ["...##..", "....##.", ".....##"]
    transparent = Event("occluder_slides", True, "transparent", True, 3, 1, 2, 1, 1)
    assert planes(render(transparent, K, E))[1:4] == ["..#@...", "...@#..", "...o##."]


def test_a_toy_moves_behind_a_screen_and_re_emerges():
    event = Event("toy_moves", True, "opaque", True, position=5, occluder=2, width=2,
                  direction=-1, hidden_from=2)  # fmt: skip
    assert planes(render(event, K, E)) == [
        "..##.o.",
        "..##o..",
        "..##...",
        "..##...",
        ".o##...",
        "o.##...",
        "..##...",
        "..##...",
        "..##...",
    ]
    assert planes(render(impossible(event), K, E))[4] == "..##..."
    assert planes(render(without_toy(event), K, E)) == ["..##..."] * (E + 1)


@pytest.mark.parametrize("event", possible_events(CONFIG), ids=str)
def test_every_event_hides_the_toy_for_exactly_its_width(event):
    frames = render(event, K, E)
    toy_seen = frames[:, K:].sum(1)  # (E + 1,)
    on_array = np.array([0 <= event.toy_at(t) < K for t in range(E + 1)])
    if event.screen == "opaque":
        hidden = [t for t in range(E + 1) if on_array[t] and toy_seen[t] == 0]
        assert hidden == list(range(event.hidden_from, event.reach_step + 1))
    else:
        assert (toy_seen == on_array).all()  # seen through the screen
    assert toy_seen[0] == 1 and toy_seen[event.reappear_step] == 1
    assert frames[0, :K][event.toy_at(0)] == 0  # the toy starts in view, not under the screen
    assert (toy_seen <= 1).all() and frames[event.reach_step, event.toy_at(event.reach_step)] == 1
    # the twins: the same screen; the impossible one is the no-toy one from the reappearance on
    gone, none = render(impossible(event), K, E), render(without_toy(event), K, E)
    assert (gone[:, :K] == frames[:, :K]).all() and (none[:, :K] == frames[:, :K]).all()
    assert (none[:, K:] == 0).all()
    assert (gone[: event.reappear_step] == frames[: event.reappear_step]).all()
    assert (gone[event.reappear_step :] == none[event.reappear_step :]).all()


def test_the_event_space_by_count():
    events = possible_events(CONFIG)
    # a screen slides over a toy anywhere: 7 positions x 2 widths x 3 timings x 2 directions;
    # a toy moves behind a screen: per direction, width 2: 5 - start screens, width 3: 4 - start
    slides = 7 * 2 * 3 * 2
    moves = 2 * sum((5 - s) + (4 - s) for s in (1, 2, 3))
    assert len(events) == 2 * (slides + moves)  # opaque and transparent
    assert len(set(events)) == len(events)
    tests = matched_test_events(CONFIG)
    assert len(tests) == len(events) + len(events) // 2 + len(events)


def test_reach_targets():
    event = possible_events(CONFIG)[40]
    targets = reach_targets(event, K, E, every_step=False)
    others = [t for t in range(E) if t != event.reach_step]
    assert (targets[others] == NOT_WITHIN_REACH).all()
    assert targets[event.reach_step].tolist() == np.eye(K)[event.toy_at(event.reach_step)].tolist()
    assert (reach_targets(without_toy(event), K, E, False)[event.reach_step] == 0).all()
    every = reach_targets(event, K, E, every_step=True)
    for t in range(E):
        p = event.toy_at(t)
        assert every[t].tolist() == (np.eye(K)[p] if 0 <= p < K else np.zeros(K)).tolist()
    split = tensors([event], CONFIG)
    assert split.x[0, :, 2 * K].tolist() == [float(t == event.reach_step) for t in range(E)]
    assert (split.y[0, :-1, : 2 * K] == split.x[0, 1:, : 2 * K]).all()  # the next frame
    assert (split.x[0, :, 2 * K] * 0 + tensors([event], CONFIG, every_step=True).x[0, :, 2 * K]
            == 1).all()  # fmt: skip


def test_training_events_are_seeded_and_in_their_proportions():
    config = CONFIG.model_copy(update={"num_train": 4000, "seed": 3, "reach_share": 0.25})
    events = sample_training_events(config)
    assert events == sample_training_events(config)
    assert events != sample_training_events(config.model_copy(update={"seed": 4}))
    assert all(e.possible for e in events)
    toys = [e for e in events if e.toy]
    # binomial standard errors: about 0.007 for the shares of 4000 and of 3000
    assert abs(1 - len(toys) / 4000 - 0.25) < 0.03
    assert abs(np.mean([e.screen == "transparent" for e in toys]) - 0.5) < 0.03
    assert abs(np.mean([e.reach for e in events]) - 0.25) < 0.03
    splits = checked_splits(OcclusionEvents(config))
    assert splits["train"].x.shape == (4000, E, 2 * K + 1)
    assert splits["test"].y.shape == (len(matched_test_events(config)), E, 3 * K)
    no_reach = [n for n, e in enumerate(events) if not e.reach]
    assert (splits["train"].x[no_reach, :, 2 * K] == 0).all()


@pytest.mark.parametrize(
    "update, message",
    [({"widths": (6,)}, "widths must be in"), ({"hidden_from": (0,)}, "hidden_from 0"),
     ({"hidden_from": (7,)}, "reappear by step 8"), ({"colour": 1}, "Extra inputs")],
)  # fmt: skip
def test_config_errors(update, message):
    with pytest.raises(ValidationError, match=message):
        OcclusionEventsConfig(**update)


def test_reach_at_any_step():
    config = CONFIG.model_copy(update={"num_train": 2000, "reach_any_step": True})
    events = sample_training_events(config)
    steps = [e.reach_at for e in events]
    assert set(steps) == set(range(E))  # uniform over the 8 steps: each about 250 times
    assert all(abs(steps.count(t) - 250) < 75 for t in range(E))
    split = tensors(events[:50], config)
    for n, e in enumerate(events[:50]):
        assert split.x[n, :, 2 * K].tolist() == [float(t == e.reach_at) for t in range(E)]
        assert (split.y[n, e.reach_at, 2 * K :] != NOT_WITHIN_REACH).all()
    # by default the reach step is the event's own (no draw: the other events stay as they were)
    assert [e.reach_at for e in sample_training_events(CONFIG)] == [None] * CONFIG.num_train
