"""The kitchen of Botvinick & Plaut (2004): objects, their states, and what actions do to them.

The network acts *indexically*: it fixates one object and holds at most one, and every action
applies to the fixated or the held object. :class:`Kitchen` is the world: it renders the 39
input units from its state (:meth:`Kitchen.render`) and executes each of the 19 actions
(:meth:`Kitchen.act`), which either changes the world or fails its precondition and changes
nothing (a failed action is recorded as such: the scoring calls it bizarre).

The objects (``classic_experiments.md`` section 4.1) and their contents follow the
re-implementation of Guest, Caso & Cooper (2020), ``world.c`` (read for its rules, not copied):

- the mug starts with 15 units of hot water; a sip drinks 8 units when more than 8 are left,
  else everything, so two sips empty it;
- pouring moves "some" of the source: water first (more than 8: all but 7 move and nothing
  else; else all of it with the coffee, tea, sugar and cream); without water, the coffee and
  tea move, and sugar and cream move whole unless there are more than 4 units, when 3 stay;
- the sugar bowl holds 7 units of sugar under its lid, the carton 7 of cream, the sugar packet
  1, the coffee packet its grounds; the teabag infuses any container with water it is dipped in;
- ``fixate-sugar`` fixates the sugar packet or the sugar bowl, each with probability 1/2 (the
  "sugar hack" of the original model, ``targets_bp.h``); a caller may choose for it.

Input units: 18 perceptual features of the fixated object, then the coffee and tea
instruction units (on until the first action), then the same 18 features of the held object
and a "nothing held" unit. A container with water renders as clear liquid unless infused or
coffee or cream is in it, brown with coffee or infusion, and light (and brown) with cream too.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

FEATURES = (
    "cup", "one-handle", "two-handles", "lid", "clear-liquid", "light", "brown-liquid",
    "carton", "open", "closed", "packet", "foil", "paper", "torn", "untorn", "spoon",
    "teabag", "sugar",
)  # fmt: skip
"""The 18 perceptual features, in the order of the input layer's fixated and held blocks."""

INPUT_UNITS = (
    *(f"fixated:{f}" for f in FEATURES), "instruction:coffee", "instruction:tea",
    *(f"held:{f}" for f in FEATURES), "held:nothing",
)  # fmt: skip
"""The names of the 39 input units."""

ACTIONS = (
    "pick-up", "put-down", "pour", "peel-open", "tear-open", "pull-open", "pull-off",
    "scoop", "sip", "stir", "dip", "say-done", "fixate-cup", "fixate-teabag",
    "fixate-coffee-packet", "fixate-spoon", "fixate-carton", "fixate-sugar",
    "fixate-sugar-bowl",
)  # fmt: skip
"""The 19 actions, in the order of the output units."""

FIXATIONS = {
    "fixate-cup": "mug", "fixate-teabag": "teabag", "fixate-coffee-packet": "coffee packet",
    "fixate-spoon": "spoon", "fixate-carton": "carton", "fixate-sugar-bowl": "sugar bowl",
}  # fmt: skip
"""Each fixate action but ``fixate-sugar`` and the object it fixates."""

CONTAINERS = ("mug", "sugar bowl", "carton")  # what can be poured into, scooped, stirred, dipped


@dataclass
class Thing:
    """One object: its kind, whether it is open (``None`` where that does not apply) and its
    contents in units (water, sugar, cream) or flags (coffee, tea)."""

    name: str
    open: bool | None = None
    water: int = 0
    sugar: int = 0
    cream: int = 0
    coffee: bool = False
    tea: bool = False
    infused: bool = False
    mixed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.water or self.sugar or self.cream or self.coffee or self.tea)

    @property
    def closed(self) -> bool:
        return self.open is False

    def features(self) -> np.ndarray:
        """The 18 perceptual features of this object in its state."""
        return _features(self.name, self.open, bool(self.water), bool(self.sugar),
                         bool(self.cream), self.coffee or self.infused)  # fmt: skip


@functools.cache
def _features(kind: str, is_open: bool | None, water: bool, sugar: bool, cream: bool,
              brown: bool) -> np.ndarray:  # fmt: skip
    on = set()
    closed = is_open is False
    if kind in ("mug", "sugar bowl"):
        on.add("cup")
    if kind == "mug":
        on.add("one-handle")
    if kind == "sugar bowl":
        on.add("two-handles")
    if (kind == "sugar bowl" and closed) or kind == "lid":
        on.add("lid")
    if water and not brown and not cream:
        on.add("clear-liquid")
    if water and brown:
        on.add("brown-liquid")
        if cream:
            on.add("light")
    if kind == "carton":
        on |= {"carton", "open" if is_open else "closed"}
    if kind in ("coffee packet", "sugar packet"):
        on |= {"packet", "foil" if kind == "coffee packet" else "paper"}
        on.add("torn" if is_open else "untorn")
    if kind == "spoon":
        on.add("spoon")
    if kind == "teabag":
        on.add("teabag")
    if (kind == "sugar bowl" and not closed) or (kind == "spoon" and sugar):
        on.add("sugar")
    vector = np.array([float(f in on) for f in FEATURES])
    vector.flags.writeable = False
    return vector


def initial_objects() -> dict[str, Thing]:
    """The kitchen at the start of every trial."""
    things = [
        Thing("mug", open=True, water=15), Thing("spoon"),
        Thing("sugar bowl", open=False, sugar=7), Thing("lid"),
        Thing("carton", open=False, cream=7), Thing("coffee packet", open=False, coffee=True),
        Thing("sugar packet", open=False, sugar=1), Thing("teabag", open=False, tea=True),
    ]  # fmt: skip
    return {t.name: t for t in things}


def _move_solids(source: Thing, target: Thing | None) -> None:
    """Coffee and tea move whole; sugar and cream whole unless > 4 units (then 3 stay)."""
    if target is not None:
        target.coffee |= source.coffee
        target.tea |= source.tea
    source.coffee = source.tea = False
    for part in ("sugar", "cream"):
        amount = getattr(source, part)
        moved = amount - 3 if amount > 4 else amount
        setattr(source, part, amount - moved)
        if target is not None:
            setattr(target, part, getattr(target, part) + moved)


def transfer_some(source: Thing, target: Thing | None) -> None:
    """Move some of ``source``'s contents into ``target`` (``None``: drink it)."""
    if source.water > 8:
        moved = source.water - 7
        source.water = 7
        if target is not None:
            target.water += moved
        return
    if source.water:
        if target is not None:
            target.water += source.water
        source.water = 0
    _move_solids(source, target)


@dataclass
class Kitchen:
    """The world of one trial. ``instruction`` is ``"coffee"``, ``"tea"`` or ``None``;
    ``choose_sugar`` picks the target of ``fixate-sugar`` (``"sugar packet"`` or ``"sugar
    bowl"``), by default at random from ``rng``."""

    instruction: str | None = None
    rng: np.random.Generator | None = None
    choose_sugar: Callable[[], str] | None = None
    things: dict[str, Thing] = field(default_factory=initial_objects)
    fixated: str | None = "mug"
    held: str | None = None
    done: bool = False

    def __post_init__(self) -> None:
        if self.instruction not in (None, "coffee", "tea"):
            raise ValueError(f"instruction must be 'coffee', 'tea' or None; got "
                             f"{self.instruction!r}")  # fmt: skip

    def render(self) -> np.ndarray:
        """The 39 input units of the current state."""
        fixated = self.things[self.fixated].features() if self.fixated else np.zeros(18)
        held = self.things[self.held].features() if self.held else np.zeros(18)
        instruction = [float(self.instruction == "coffee"), float(self.instruction == "tea")]
        return np.concatenate([fixated, instruction, held, [float(self.held is None)]])

    def copy(self) -> Kitchen:
        return copy.deepcopy(self)

    def act(self, action: str) -> bool:
        """Execute ``action``; True if it took effect, False if its precondition failed."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; valid: {', '.join(ACTIONS)}")
        self.instruction = None  # the instruction units go off at the first action
        held = self.things[self.held] if self.held else None
        fixated = self.things[self.fixated] if self.fixated else None
        if action in FIXATIONS:
            self.fixated = FIXATIONS[action]
            return True
        if action == "fixate-sugar":
            if self.choose_sugar is not None:
                self.fixated = self.choose_sugar()
            else:
                rng = self.rng if self.rng is not None else np.random.default_rng()
                self.fixated = "sugar packet" if rng.random() < 0.5 else "sugar bowl"
            return True
        if action == "say-done":
            self.done = True
            return True
        if action == "pick-up":
            if held is not None or fixated is None:
                return False
            self.held = self.fixated
            return True
        if action == "put-down":
            if held is None:
                return False
            self.held = None
            return True
        opening = {"pull-open": "coffee packet", "tear-open": "sugar packet",
                   "peel-open": "carton"}  # fmt: skip
        if action in opening:
            if held is None or held.name != opening[action] or not held.closed:
                return False
            held.open = True
            return True
        if action == "pull-off":
            if held is not None or fixated is None or fixated.name != "sugar bowl":
                return False
            if not fixated.closed:
                return False
            fixated.open = True
            self.held = "lid"
            return True
        target_ok = (fixated is not None and fixated is not held
                     and fixated.name in CONTAINERS)  # fmt: skip
        if action == "pour":
            if held is None or held.empty or held.closed or not target_ok or fixated.closed:
                return False
            transfer_some(held, fixated)
            return True
        if action == "scoop":
            if held is None or held.name != "spoon" or not held.empty or not target_ok:
                return False
            if fixated.closed or fixated.empty:
                return False
            transfer_some(fixated, held)
            return True
        if action == "stir":
            if held is None or held.name != "spoon" or not target_ok or not fixated.open:
                return False
            if fixated.empty:
                return False
            while not held.empty:
                transfer_some(held, fixated)
            fixated.mixed = True
            return True
        if action == "dip":
            if held is None or held.name != "teabag" or not target_ok or not fixated.open:
                return False
            if fixated.water:
                fixated.infused = True
            return True
        if action == "sip":
            if held is None or held.closed or held.empty:
                return False
            transfer_some(held, None)
            return True
        raise AssertionError(action)  # pragma: no cover - every action is handled above
