"""Scoring a trial: its actions parsed into subtasks and its errors classified.

A trial is the list of actions the network chose (and where each ``fixate-sugar`` landed). It
is replayed in the kitchen (:class:`rnnlab.tasks.kitchen.Kitchen`), which says which actions
failed their precondition, then parsed:

1. **Segments.** Left to right, a run of actions that is exactly one subtask of
   :data:`rnnlab.tasks.coffee_tea.SUBTASKS` (its leading ``put-down`` optional where nothing
   is held), every action succeeding, is a *well-formed subtask*. The other actions are
   *strays*; each maximal run of strays is one *within-subtask error*: **bizarre** if an action
   in it failed in the world (pouring with an empty hand, stirring with the teabag, ...), else
   **other** (well-formed actions out of place: a skipped or added step, a wrong object).
2. **Subtask events.** Each goal reached in the world is an event: grounds poured into the mug,
   the teabag dipped into it, sugar poured into it (from the packet or the spoon), cream poured
   into it, a sip from it; consecutive sips, or goals of one type inside one segment or one run
   of strays, are one event.
3. **Subtask-level errors**, against the task (the instruction, else the first of grounds or
   teabag; coffee where neither): an **omission** for each required subtask with no event
   (grounds or teabag, sugar, cream for coffee, drink); a **perseveration** for an event of the
   same type as the one just before it, a **repetition** for a later event of a type already
   seen; an **intrusion** for an event the task does not have (teabag in coffee, grounds or
   cream in tea); an **order** error for an add event after drinking or (coffee) before the
   grounds. Repetitions, perseverations, intrusions and order errors are the *sequence* errors
   of the errors-per-trial counts (omission + sequence + bizarre + other).

A trial is **correct** when it has no error and ended with ``say-done``; a **slip** trial has
subtask-level errors only (every action inside a well-formed subtask).

ADS measures (Schwartz's ACS1, as ``error_analysis.c`` of Guest, Caso & Cooper operationalise
it): the actions are the successful ones other than fixations and ``say-done``. Each is labelled
with its subtask by its object (``pick-up``/``put-down`` of the spoon take the label of the next
/ previous action, a ``pick-up`` of the mug before a sip is drinking, ``stir`` is its own);
every *crux* action (pour, stir, dip, sip) opens a bracket over the adjacent actions of its
label, and an action outside every bracket is **independent**. Crux and non-crux *errors* are
the actions of either kind among the strays.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from rnnlab.tasks.coffee_tea import SUBTASKS
from rnnlab.tasks.kitchen import Kitchen

CRUX = ("pour", "stir", "dip", "sip")
SUBTASK_GOAL = {"grounds": "grounds", "teabag": "teabag", "sugar-packet": "sugar",
                "sugar-bowl": "sugar", "cream": "cream", "drink": "drink"}  # fmt: skip
REQUIRED = {"coffee": ("grounds", "sugar", "cream", "drink"), "tea": ("teabag", "sugar", "drink")}
SUBTASK_LEVEL = ("omission", "repetition", "perseveration", "intrusion", "order")
WITHIN_SUBTASK = ("bizarre", "other")
ERROR_TYPES = SUBTASK_LEVEL + WITHIN_SUBTASK


@dataclass(frozen=True)
class Step:
    """One action replayed: whether it took effect, what was held and fixated before it, and
    the goal it reached (``grounds``, ``teabag``, ``sugar``, ``cream``, ``drink`` or None)."""

    action: str
    ok: bool
    held: str | None
    fixated: str | None
    goal: str | None
    source_contents: tuple[str, ...] = ()


@dataclass
class Score:
    """The classified errors of one trial."""

    task: str
    errors: dict[str, int]
    events: list[str]
    segments: list[str]
    correct: bool
    slip: bool
    actions: int  # ACS1 actions
    independents: int
    crux_errors: int
    non_crux_errors: int
    finished: bool
    strays: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.errors.values())

    @property
    def subtask_level(self) -> int:
        return sum(self.errors[k] for k in SUBTASK_LEVEL)

    @property
    def within_subtask(self) -> int:
        return sum(self.errors[k] for k in WITHIN_SUBTASK)

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def replay(actions: list[str], sugar_targets: list[str] | None = None,
           instruction: str | None = None) -> list[Step]:  # fmt: skip
    """Execute ``actions`` in a fresh kitchen; ``sugar_targets`` are where each
    ``fixate-sugar`` landed, in order."""
    targets = iter(sugar_targets or [])
    world = Kitchen(instruction=instruction, choose_sugar=lambda: next(targets))
    steps = []
    for action in actions:
        held, fixated = world.held, world.fixated
        source = world.things[held] if held else None
        contents = tuple(p for p in ("water", "sugar", "cream", "coffee", "tea")
                         if source is not None and getattr(source, p))  # fmt: skip
        ok = world.act(action)
        goal = None
        if ok and fixated == "mug" and action == "pour":
            if "coffee" in contents:
                goal = "grounds"
            elif "sugar" in contents:
                goal = "sugar"
            elif "cream" in contents:
                goal = "cream"
        elif ok and action == "dip" and fixated == "mug" and held == "teabag":
            goal = "teabag"
        elif ok and action == "sip" and held == "mug":
            goal = "drink"
        steps.append(Step(action, ok, held, fixated, goal, contents))
        if world.done:
            break
    return steps


def _templates() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """The subtask templates (with and without the optional put-down) by first action."""
    by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, actions in SUBTASKS.items():
        variants = [actions]
        if "put-down" in actions[:2]:
            k = actions[:2].index("put-down")
            variants.append(actions[:k] + actions[k + 1 :])
        for variant in variants:
            by_first.setdefault(variant[0], []).append((name, variant))
    return by_first


TEMPLATES = _templates()


def segment(steps: list[Step]) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Well-formed subtasks as (name, start, stop) and the indices of the strays."""
    names = [s.action for s in steps]
    segments, strays, i = [], [], 0
    while i < len(steps):
        for name, actions in TEMPLATES.get(names[i], ()):
            window = steps[i : i + len(actions)]
            if (tuple(names[i : i + len(actions)]) == actions
                    and all(s.ok for s in window)):  # fmt: skip
                dropped = len(actions) < len(SUBTASKS[name])
                if dropped and _held_before_optional(window, name) is not None:  # hand not empty
                    continue
                if name == "sugar-packet" and window[1].fixated != "sugar packet":
                    continue
                if name == "sugar-bowl" and window[1].fixated != "sugar bowl":
                    continue
                segments.append((name, i, i + len(actions)))
                i += len(actions)
                break
        else:
            strays.append(i)
            i += 1
    return segments, strays


def _held_before_optional(window: list[Step], name: str) -> str | None:
    """What was held where the template's optional put-down would have been."""
    k = SUBTASKS[name][:2].index("put-down")
    return window[k].held if k < len(window) else None


def _blocks(strays: list[int]) -> list[list[int]]:
    blocks: list[list[int]] = []
    for i in strays:
        if blocks and blocks[-1][-1] == i - 1:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def _labels(steps: list[Step]) -> list[str | None]:
    """The ACS1 subtask label of each logged step (None: anomalous)."""
    by_object = {"coffee packet": "grounds", "teabag": "teabag", "sugar packet": "sugar",
                 "sugar bowl": "sugar", "lid": "sugar", "carton": "cream"}  # fmt: skip
    labels: list[str | None] = [None] * len(steps)

    def of(i: int) -> str | None:
        s = steps[i]
        if s.action in ("pick-up",):
            obj = s.fixated
        elif s.action in ("put-down", "pull-open", "tear-open", "peel-open"):
            obj = s.held
        elif s.action in ("pull-off",):
            return "sugar"
        elif s.action == "scoop":
            return "sugar" if s.fixated == "sugar bowl" else None
        elif s.action == "stir":
            return "stir"
        elif s.action == "dip":
            return "teabag"
        elif s.action == "sip":
            return "drink"
        elif s.action == "pour":
            for part, label in (("coffee", "grounds"), ("sugar", "sugar"), ("cream", "cream")):
                if part in s.source_contents:
                    return label
            return None
        else:
            return None
        if obj == "spoon":
            j = i + 1 if s.action == "pick-up" else i - 1
            if 0 <= j < len(steps) and steps[j].action not in ("pick-up", "put-down"):
                return of(j)
            return None
        if obj == "mug" and s.action == "pick-up":
            return "drink" if i + 1 < len(steps) and steps[i + 1].action == "sip" else None
        return by_object.get(obj)

    for i in range(len(steps)):
        labels[i] = of(i)
    return labels


def acs1(steps: list[Step], strays: set[int]) -> tuple[int, int, int, int]:
    """Actions, independents, crux errors and non-crux errors (see the module docstring)."""
    logged = [
        i for i, s in enumerate(steps)
        if s.ok and not s.action.startswith("fixate-") and s.action != "say-done"
    ]  # fmt: skip
    sub = [steps[i] for i in logged]
    labels = _labels(sub)
    bracketed = [False] * len(sub)
    for i, s in enumerate(sub):
        if s.action in CRUX and labels[i] is not None:
            bracketed[i] = True
            for direction in (-1, 1):
                j = i + direction
                while 0 <= j < len(sub) and labels[j] == labels[i]:
                    bracketed[j] = True
                    j += direction
        elif s.action in CRUX:
            bracketed[i] = True  # a crux action is never independent
    independents = sum(not b for b in bracketed)
    crux = sum(1 for i, s in zip(logged, sub) if i in strays and s.action in CRUX)
    non_crux = sum(1 for i, s in zip(logged, sub) if i in strays and s.action not in CRUX)
    return len(sub), independents, crux, non_crux


def score(actions: list[str], sugar_targets: list[str] | None = None,
          instruction: str | None = None) -> Score:  # fmt: skip
    """Parse and classify one trial (see the module docstring)."""
    steps = replay(actions, sugar_targets, instruction)
    segments, strays = segment(steps)
    errors = Counter({k: 0 for k in ERROR_TYPES})
    blocks = _blocks(strays)
    for block in blocks:
        errors["bizarre" if any(not steps[i].ok for i in block) else "other"] += 1
    # events: goals in order, merged inside one segment or one block of strays
    owner = {}
    for n, (_, start, stop) in enumerate(segments):
        owner.update({i: ("segment", n) for i in range(start, stop)})
    for n, block in enumerate(blocks):
        owner.update({i: ("block", n) for i in block})
    events: list[str] = []
    last_owner = None
    for i, s in enumerate(steps):
        if s.goal is None:
            continue
        sips = s.goal == "drink" and steps[i - 1].goal == "drink"
        if events and events[-1] == s.goal and (owner.get(i) == last_owner or sips):
            continue
        events.append(s.goal)
        last_owner = owner.get(i)
    if instruction in REQUIRED:
        task = instruction
    else:
        first = next((e for e in events if e in ("grounds", "teabag")), "grounds")
        task = "coffee" if first == "grounds" else "tea"
    required = REQUIRED[task]
    for goal in required:
        if goal not in events:
            errors["omission"] += 1
    seen: set[str] = set()
    drunk = False
    for k, event in enumerate(events):
        if event not in required:
            errors["intrusion"] += 1
        elif k and events[k - 1] == event:
            errors["perseveration"] += 1
        elif event in seen:
            errors["repetition"] += 1
        elif event != "drink" and (drunk or (task == "coffee" and "grounds" not in seen
                                             and event != "grounds")):  # fmt: skip
            errors["order"] += 1
        seen.add(event)
        drunk = drunk or event == "drink"
    finished = bool(steps) and steps[-1].action == "say-done"
    n_actions, independents, crux, non_crux = acs1(steps, set(strays))
    total = sum(errors.values())
    return Score(
        task=task, errors=dict(errors), events=events,
        segments=[name for name, _, _ in segments], correct=total == 0 and finished,
        slip=total > 0 and not strays, actions=n_actions, independents=independents,
        crux_errors=crux, non_crux_errors=non_crux, finished=finished, strays=strays,
    )  # fmt: skip
