"""The coffee and tea tasks of Botvinick & Plaut (2004): target sequences and training set.

The training set (``classic_experiments.md`` section 4.2) is generated here from the kitchen
(:mod:`rnnlab.tasks.kitchen`) and the target action sequences, as the re-implementation of
Guest, Caso & Cooper (2020) lays it out in ``training_sequences_full.dat``:

- 339 single-step *background* patterns: every plausible pair of a fixated and a held object
  (:func:`background_pairs`), the target spread evenly over the actions the pair affords
  (:func:`afforded_actions`): the seven fixations always, plus what the objects allow;
- 8 tea sequences (20 steps; sugar from the packet or the bowl; without an instruction or with
  the tea instruction; the four twice) and 8 coffee sequences (37 steps; grounds, then sugar
  (packet or bowl) and cream in either order, then drink; without an instruction or with the
  coffee instruction).

:func:`training_set` gives the 355 sequences; :func:`load_training_file` reads a
``training_sequences_full.dat`` (only an oracle for tests, never built in) into the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.tasks.kitchen import ACTIONS, INPUT_UNITS, Kitchen, Thing

SUBTASKS = {
    "grounds": ("fixate-coffee-packet", "pick-up", "pull-open", "fixate-cup", "pour",
                "fixate-spoon", "put-down", "pick-up", "fixate-cup", "stir"),
    "teabag": ("fixate-teabag", "pick-up", "fixate-cup", "dip"),
    "sugar-packet": ("fixate-sugar", "put-down", "pick-up", "tear-open", "fixate-cup", "pour",
                     "fixate-spoon", "put-down", "pick-up", "fixate-cup", "stir"),
    "sugar-bowl": ("fixate-sugar", "put-down", "pull-off", "fixate-spoon", "put-down",
                   "pick-up", "fixate-sugar-bowl", "scoop", "fixate-cup", "pour", "stir"),
    "cream": ("fixate-carton", "put-down", "pick-up", "peel-open", "fixate-cup", "pour",
              "fixate-spoon", "put-down", "pick-up", "fixate-cup", "stir"),
    "drink": ("put-down", "pick-up", "sip", "sip", "say-done"),
}  # fmt: skip
"""The action sequence of each subtask, as in the target sequences (``targets_bp.h``)."""

SUGAR_SOURCE = {"sugar-packet": "sugar packet", "sugar-bowl": "sugar bowl"}

VARIANTS = {
    "coffee": (("grounds", "sugar-bowl", "cream", "drink"),
               ("grounds", "cream", "sugar-bowl", "drink"),
               ("grounds", "sugar-packet", "cream", "drink"),
               ("grounds", "cream", "sugar-packet", "drink")),
    "tea": (("teabag", "sugar-packet", "drink"), ("teabag", "sugar-bowl", "drink")),
}  # fmt: skip
"""The correct orders of subtasks of each task."""


@dataclass(frozen=True)
class Sequence:
    """One training sequence: ``inputs`` (T, 39), ``targets`` (T, 19) and what it is."""

    name: str
    inputs: np.ndarray
    targets: np.ndarray


def actions_of(subtasks: tuple[str, ...]) -> list[str]:
    return [a for s in subtasks for a in SUBTASKS[s]]


def run_sequence(subtasks: tuple[str, ...], instruction: str | None) -> tuple[np.ndarray, list]:
    """Execute a target sequence in a fresh kitchen: the input before each action (T, 39) and
    the actions. Raises if an action fails (a target sequence never does)."""
    sources = iter([SUGAR_SOURCE[s] for s in subtasks if s in SUGAR_SOURCE])
    world = Kitchen(instruction=instruction, choose_sugar=lambda: next(sources))
    inputs, actions = [], actions_of(subtasks)
    for action in actions:
        inputs.append(world.render())
        if not world.act(action):
            raise AssertionError(f"target action {action!r} failed in {subtasks}")
    return np.array(inputs), actions


def one_hot(actions: list[str]) -> np.ndarray:
    targets = np.zeros((len(actions), len(ACTIONS)))
    targets[np.arange(len(actions)), [ACTIONS.index(a) for a in actions]] = 1.0
    return targets


# The background views: (name, object kind, state); liquids are clear, brown, light brown.
_LIQUIDS = ({"water": 8}, {"water": 8, "coffee": True}, {"water": 8, "coffee": True, "cream": 4})
_LIQUID_NAMES = ("clear_liquid", "brown_liquid", "light_brown_liquid")
VIEW_GROUPS = (
    ("empty_mug", "mug", ({"open": True},)),
    ("non_empty_mug", "mug", tuple({"open": True, **s} for s in _LIQUIDS)),
    ("empty_spoon", "spoon", ({},)),
    ("spoon_with_sugar", "spoon", ({"sugar": 4},)),
    ("spoon_with_liquid", "spoon", _LIQUIDS),
    ("sugar_bowl_lid", "lid", ({},)),
    ("sugar_bowl_without_lid", "sugar bowl", ({"open": True, "sugar": 7},)),
    ("sugar_bowl_with_lid", "sugar bowl", ({"open": False, "sugar": 7},)),
    ("milk_carton_open", "carton", ({"open": True, "cream": 7},)),
    ("milk_carton_closed", "carton", ({"open": False, "cream": 7},)),
    ("coffee_pack_torn", "coffee packet", ({"open": True, "coffee": True},)),
    ("coffee_pack_untorn", "coffee packet", ({"open": False, "coffee": True},)),
    ("sugar_pack_torn", "sugar packet", ({"open": True, "sugar": 1},)),
    ("sugar_pack_untorn", "sugar packet", ({"open": False, "sugar": 1},)),
    ("tea_bag", "teabag", ({"open": False, "tea": True},)),
)
"""The object views of the background patterns, in the training file's order."""

POURABLE = {"non_empty_mug", "spoon_with_sugar", "spoon_with_liquid", "sugar_bowl_without_lid",
            "milk_carton_open", "coffee_pack_torn", "sugar_pack_torn"}  # fmt: skip
RECEPTACLES = {"empty_mug", "non_empty_mug", "empty_spoon", "sugar_bowl_without_lid",
               "milk_carton_open"}  # fmt: skip
OPENABLE = {"milk_carton_closed": "peel-open", "coffee_pack_untorn": "pull-open",
            "sugar_pack_untorn": "tear-open"}  # fmt: skip
STIRRABLE = {"non_empty_mug", "sugar_bowl_without_lid", "milk_carton_open"}


def afforded_actions(fixated: str, held: str | None) -> list[str]:
    """The actions the training set affords a fixated view and a held view (``None``:
    nothing held), the seven fixations aside; the views are names of :data:`VIEW_GROUPS`.

    Holding nothing affords picking up (and pulling the lid off a closed sugar bowl); holding
    something affords putting it down, pouring a pourable object into another, receptacle one
    (not the mug into the sugar bowl), stirring and scooping with an empty spoon (mug with
    liquid, open bowl or carton), dipping the teabag (mug with liquid), sipping from the
    fixated mug one holds, and opening the closed carton or packet one holds and fixates."""
    if held is None:
        return ["pick-up"] + (["pull-off"] if fixated == "sugar_bowl_with_lid" else [])
    actions = ["put-down"]
    mug_into_bowl = held == "non_empty_mug" and fixated == "sugar_bowl_without_lid"
    if held in POURABLE and fixated in RECEPTACLES and held != fixated and not mug_into_bowl:
        actions.append("pour")
    if held == "empty_spoon" and fixated in STIRRABLE:
        actions += ["scoop", "stir"]
    if held == "tea_bag" and fixated == "non_empty_mug":
        actions.append("dip")
    if held == fixated == "non_empty_mug":
        actions.append("sip")
    if held == fixated and held in OPENABLE:
        actions.append(OPENABLE[held])
    return actions


def _thing(kind: str, state: dict) -> Thing:
    return Thing(kind, **state)


def _render_pair(fixated: Thing, held: Thing | None) -> np.ndarray:
    world = Kitchen()
    world.things = {"fixated": fixated, **({"held": held} if held is not None else {})}
    world.fixated, world.held = "fixated", ("held" if held is not None else None)
    return world.render()


def background_pairs() -> list[tuple[str, str, str, str | None, Thing, Thing | None]]:
    """Every plausible (fixated, held) pair in the training file's order: (fixated name, held
    name, fixated view, held view or None, fixated object, held object or None). One physical
    object is fixated and held at once only in one state (fixating what one holds); the
    separate lid is not seen while the held bowl wears it. Pairs of one view with several
    liquid states follow their group."""
    pairs = []
    for fname, fkind, fstates in VIEW_GROUPS:
        same_state = []
        holds = [("nothing", None, ({},))] + [(n, k, s) for n, k, s in VIEW_GROUPS]
        for hname, hkind, hstates in holds:
            if fname == "sugar_bowl_lid" and hname == "sugar_bowl_with_lid":
                continue
            for i, fstate in enumerate(fstates):
                for j, hstate in enumerate(hstates):
                    f = _thing(fkind, fstate)
                    h = None if hkind is None else _thing(hkind, hstate)
                    if hkind == fkind:
                        if hname != fname or i != j:
                            continue
                        if len(fstates) > 1:
                            kind = "mug" if fkind == "mug" else "spoon"
                            same = f"{kind}_with_{_LIQUID_NAMES[i]}"
                            same_state.append((same, same, fname, hname, f, h))
                            continue
                    pairs.append((fname, hname, fname, None if h is None else hname, f, h))
        pairs += same_state
    return pairs


def background_patterns() -> list[Sequence]:
    """The 339 single-step background patterns."""
    fixations = [a for a in ACTIONS if a.startswith("fixate-")]
    patterns = []
    for fname, hname, fview, hview, f, h in background_pairs():
        afforded = afforded_actions(fview, hview) + fixations
        target = np.zeros(len(ACTIONS))
        target[[ACTIONS.index(a) for a in afforded]] = 1.0 / len(afforded)
        patterns.append(Sequence(f"background: fixate {fname}, hold {hname}",
                                 _render_pair(f, h)[None], target[None]))  # fmt: skip
    return patterns


def task_sequences() -> list[Sequence]:
    """The 16 tea and coffee sequences in the training file's order."""
    sequences = []
    for task in ("tea", "coffee"):
        variants = VARIANTS[task]
        if task == "tea":
            plan = [(v, None) for v in variants] + [(v, "tea") for v in variants]
            plan = plan * 2
        else:
            plan = [(v, None) for v in variants] + [(v, "coffee") for v in variants]
        for subtasks, instruction in plan:
            inputs, actions = run_sequence(subtasks, instruction)
            name = f"{task}: {' '.join(subtasks)} ({instruction or 'no'} instruction)"
            sequences.append(Sequence(name, inputs, one_hot(actions)))
    return sequences


def training_set() -> list[Sequence]:
    """The 355 training sequences: 339 background patterns, then 8 tea and 8 coffee."""
    return background_patterns() + task_sequences()


def load_training_file(path: str | Path) -> list[Sequence]:
    """Read a ``training_sequences_full.dat``: ``# Action: ...`` comment lines head one-row
    background patterns, ``# Task: ...`` lines head sequences, each row ``39 inputs > 19
    targets``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no training file at {path} (expected a "
                                f"training_sequences_full.dat)")  # fmt: skip
    sequences: list[Sequence] = []
    name, rows = None, []

    def close() -> None:
        if name is not None:
            x = np.array([r[0] for r in rows])
            y = np.array([r[1] for r in rows])
            sequences.append(Sequence(name, x, y))

    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            close()
            name, rows = line[1:].strip(), []
            continue
        left, sep, right = line.partition(">")
        x, y = [float(v) for v in left.split()], [float(v) for v in right.split()]
        if not sep or len(x) != len(INPUT_UNITS) or len(y) != len(ACTIONS) or name is None:
            raise ValueError(f"{path}:{number}: expected '39 inputs > 19 targets' under a "
                             f"'#' line; got {len(x)} inputs and {len(y)} targets")  # fmt: skip
        rows.append((x, y))
    close()
    return sequences
