"""The scored trials of one mode summed up per task and noise level, and the checks on them."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import spearmanr

from rnnlab.experiments.botvinick_plaut2004.scoring import (
    ERROR_TYPES,
    SUBTASK_LEVEL,
    WITHIN_SUBTASK,
    Score,
)
from rnnlab.tasks.coffee_tea import SUBTASKS, VARIANTS

# BP-impl (Guest, Caso & Cooper 2020) values read from its figures (classic_experiments.md 4.4)
REFERENCE_ERRORS = {
    "coffee": {0.0: 0.0, 0.01: 0.01, 0.02: 0.08, 0.03: 0.2, 0.04: 0.33, 0.05: 0.47, 0.1: 0.9,
               0.2: 1.95, 0.3: 2.9, 0.4: 3.6},
    "tea": {0.0: 0.0, 0.02: 0.01, 0.03: 0.07, 0.04: 0.12, 0.05: 0.23, 0.1: 0.6, 0.2: 1.35,
            0.3: 2.0, 0.4: 2.45},
}  # fmt: skip
REFERENCE_SUBTASK = {0.02: 0.09, 0.03: 0.20, 0.04: 0.33, 0.05: 0.42, 0.1: 0.67, 0.2: 0.95,
                     0.3: 1.0, 0.4: 1.0}  # fmt: skip
REFERENCE_INDEPENDENTS = {0.1: 0.0, 0.3: 0.15, 0.5: 0.41, 0.7: 0.59, 1.0: 0.73}

SLIP_LEVELS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.1, 0.2, 0.3, 0.4)
ADS_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def level_summary(scores: list[list[Score]]) -> dict:
    """One task at one noise level: ``scores`` per network. Means over all trials, and the
    per-network means of errors per trial and independents per action."""
    flat = [s for per in scores for s in per]
    n = len(flat)
    erroneous = [s for s in flat if not s.correct]
    actions = sum(s.actions for s in flat) or 1
    types = {k: sum(s.errors[k] for s in flat) / n for k in ERROR_TYPES}
    return {
        "trials": n,
        "errors_per_trial": sum(s.total for s in flat) / n,
        "errors_per_trial_by_network": [float(np.mean([s.total for s in per])) for per in scores],
        "types": types,
        "figure_types": {
            "omission": types["omission"],
            "sequence": sum(types[k] for k in SUBTASK_LEVEL if k != "omission"),
            "bizarre": types["bizarre"],
            "other": types["other"],
        },
        "correct": sum(s.correct for s in flat) / n,
        "slip_trials": sum(s.slip for s in flat) / n,
        "subtask_level_trials": sum(s.subtask_level > 0 for s in flat) / n,
        "within_subtask_trials": sum(s.within_subtask > 0 for s in flat) / n,
        "subtask_omission_trials": sum(s.errors["omission"] > 0 for s in flat) / n,
        "erroneous": len(erroneous),
        "slips_of_erroneous": (
            sum(s.slip for s in erroneous) / len(erroneous) if erroneous else float("nan")
        ),
        "independents_per_action": sum(s.independents for s in flat) / actions,
        "independents_by_network": [
            sum(s.independents for s in per) / max(1, sum(s.actions for s in per)) for per in scores
        ],
        "crux_errors_per_action": sum(s.crux_errors for s in flat) / actions,
        "non_crux_errors_per_action": sum(s.non_crux_errors for s in flat) / actions,
        "finished": sum(s.finished for s in flat) / n,
    }


def first_deviation(actions: list[str], sugar_targets: list[str], task: str) -> tuple[int, set]:
    """Where a trial first departs from every correct sequence of ``task`` that its first
    sugar fixation allows, and the subtask boundaries (start indices) of those sequences."""
    source = {"sugar packet": "sugar-packet", "sugar bowl": "sugar-bowl"}
    allowed = [v for v in VARIANTS[task]
               if not sugar_targets or source[sugar_targets[0]] in v]  # fmt: skip
    best, boundaries = -1, set()
    for variant in allowed:
        target = [a for s in variant for a in SUBTASKS[s]]
        k = 0
        while k < min(len(target), len(actions)) and target[k] == actions[k]:
            k += 1
        starts = set(np.cumsum([0] + [len(SUBTASKS[s]) for s in variant[:-1]]).tolist())
        if k > best:
            best, boundaries = k, set(starts)
        elif k == best:
            boundaries |= set(starts)
    return best, boundaries


def check(name, value, criterion, passed, reference="", paper="not verified",
          required=True) -> dict:  # fmt: skip
    return {"name": name, "value": value, "paper": paper, "reference": reference,
            "criterion": criterion, "passed": bool(passed), "required": required}  # fmt: skip


def _ratio_ok(ours: float, reference: float) -> bool:
    if reference == 0:
        return ours <= 0.01
    return 0.5 <= ours / reference <= 2.0 if ours > 0 else False


def checks(levels: dict, intact: dict, boundary: float, probe: float | None) -> list[dict]:
    """The checks of classic_experiments.md 4.5 and studies_and_applications.md 5.4.
    ``levels[task][noise]`` are :func:`level_summary` dicts; ``intact`` the uninstructed
    variety at noise 0; ``boundary`` the share of first errors at a subtask boundary at s.d.
    0.02-0.05; ``probe`` the task-decoding accuracy of a linear probe (None: not run)."""
    coffee, tea = levels["coffee"], levels["tea"]
    out = [
        check("intact coffee: complete correct sequence", coffee[0.0]["correct"],
              "= 1 (every trial, coffee instruction, noise 0)", coffee[0.0]["correct"] == 1.0,
              reference="100 %", paper="correct and flexible (abstract)"),
        check("intact tea: correct sequence when instructed", tea[0.0]["correct"],
              "= 1 (every trial, tea instruction, noise 0)", tea[0.0]["correct"] == 1.0,
              reference="100 %"),
        check("no instruction: both sugar sources and both orders occur",
              min(intact["packet"], intact["bowl"], intact["sugar_first"], intact["cream_first"]),
              "each of packet, bowl, sugar-first, cream-first >= 10 % of trials "
              f"(packet {intact['packet']:.2f}, bowl {intact['bowl']:.2f}, sugar first "
              f"{intact['sugar_first']:.2f}, cream first {intact['cream_first']:.2f}; "
              f"correct {intact['correct']:.2f})",
              min(intact["packet"], intact["bowl"], intact["sugar_first"],
                  intact["cream_first"]) >= 0.1),
    ]  # fmt: skip
    grid = [s for s in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4) if s in coffee]
    for task, table in (("coffee", coffee), ("tea", tea)):
        values = [table[s]["errors_per_trial"] for s in grid]
        out.append(check(f"{task}: errors per trial rise with noise", " < ".join(
            f"{v:.3g}" for v in values), f"strictly increasing over s.d. {grid}",
            all(a < b for a, b in itertools.pairwise(values)), reference="monotonic"))  # fmt: skip
    low = [s for s in (0.02, 0.03, 0.04, 0.05) if s in coffee]
    erroneous = sum(coffee[s]["erroneous"] for s in low)
    slips = sum(coffee[s]["slips_of_erroneous"] * coffee[s]["erroneous"] for s in low
                if coffee[s]["erroneous"])  # fmt: skip
    share = slips / erroneous if erroneous else float("nan")
    out.append(check("slips: erroneous trials with subtask-level errors only (s.d. .02-.05)",
                     share, f">= 0.6 of erroneous coffee trials ({erroneous} of them)",
                     share >= 0.6, reference="mostly subtask omissions"))  # fmt: skip
    for s in (0.3, 0.4):
        if s in coffee:
            types = coffee[s]["figure_types"]
            top = max(types, key=types.get)
            out.append(check(f"ADS at s.d. {s}: omissions the most frequent error type",
                             f"{top} ({types[top]:.2f} per trial)",
                             "omission > sequence, bizarre and other", top == "omission",
                             reference="omission (coffee ≈2.7 of ≈3.6 at 0.4)"))  # fmt: skip
            ind = coffee[s]["independents_per_action"]
            out.append(
                check(
                    f"ADS at s.d. {s}: independent actions per action",
                    ind,
                    ">= 0.1",
                    ind >= 0.1,
                    reference=f"{REFERENCE_INDEPENDENTS.get(s, '')}",
                )
            )
    for task, reference in REFERENCE_ERRORS.items():
        ok, parts = [], []
        for s, ref in reference.items():
            if s in levels[task]:
                ours = levels[task][s]["errors_per_trial"]
                ok.append(_ratio_ok(ours, ref))
                parts.append(f"{s}: {ours:.2f} vs {ref}")
        out.append(check(f"{task}: errors per trial within a factor of 2 of BP-impl",
                         f"{sum(ok)} of {len(ok)} levels", "every level (0 at s.d. 0); "
                         + "; ".join(parts), all(ok) and bool(ok),
                         reference="BP-impl §4.4"))  # fmt: skip
    out.append(
        check(
            "boundary slips: first errors within one step of a subtask boundary",
            boundary,
            ">= 0.6 at s.d. 0.02-0.05 (coffee)",
            boundary >= 0.6,
        )
    )
    ads = [s for s in (0.1, 0.3, 0.5, 1.0) if s in coffee]
    means = [coffee[s]["independents_per_action"] for s in ads]
    per_network = np.array([coffee[s]["independents_by_network"] for s in ads])  # (S, N)
    rho = float(spearmanr(ads, per_network.mean(1)).statistic) if len(ads) > 2 else float("nan")
    ok = (rho == 1.0 and means[0] <= 0.05 and all(m >= 0.3 for s, m in zip(ads, means)
                                                  if s >= 0.5))  # fmt: skip
    out.append(check("ADS: independents per action rise with noise",
                     ", ".join(f"{s}: {m:.3f}" for s, m in zip(ads, means)),
                     "Spearman rho = 1 over s.d. {0.1, 0.3, 0.5, 1.0}, <= 0.05 at 0.1, >= 0.3 "
                     f"at >= 0.5 (rho {rho:.2f})", ok,
                     reference="0 (0.1), 0.15 (0.3), 0.41 (0.5), 0.73 (1.0)"))  # fmt: skip
    high = [s for s in coffee if s >= 0.5]
    if high:
        crux = max(coffee[s]["crux_errors_per_action"] for s in high)
        non = max(coffee[s]["non_crux_errors_per_action"] for s in high)
        out.append(check("crux preservation at s.d. >= 0.5",
                         f"crux {crux:.3f}, non-crux {non:.3f} per action (max over levels)",
                         "crux <= 0.05 and non-crux >= 0.15", crux <= 0.05 and non >= 0.15,
                         reference="crux ≈0.01, non-crux ≈0.2"))  # fmt: skip
    if probe is not None:
        out.append(check("context coding: a linear probe decodes the task", probe,
                         ">= 0.95 (hidden states at inputs shared by coffee and tea)",
                         probe >= 0.95, paper="context coding (abstract)"))  # fmt: skip
    return out


__all__ = ["ADS_LEVELS", "SLIP_LEVELS", "WITHIN_SUBTASK", "checks", "first_deviation",
           "level_summary"]  # fmt: skip
