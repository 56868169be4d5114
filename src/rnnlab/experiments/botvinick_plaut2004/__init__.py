"""Botvinick & Plaut (2004) "Doing without schema hierarchies": routine action, slips and ADS.

``run(out, seeds=12)`` builds the coffee/tea training set from the kitchen simulator
(:mod:`rnnlab.tasks.coffee_tea`), trains ``seeds`` simple recurrent networks (39 -> 50 -> 19,
logistic; :mod:`.network`) together in each mode (``faithful``: gradient descent at 0.001 once
per epoch, 20,000 epochs; ``modern``: Adam, 2,000 epochs), tests every network in the closed
loop (:mod:`.closed_loop`) with Gaussian noise on every hidden unit at every step, scores each
trial (:mod:`.scoring`) and writes to ``out``:

- ``trials.jsonl``: one line per test trial (``mode``, ``network``, ``noise``, ``task``,
  ``instruction``, ``actions``, ``sugar_targets``, ``errors``);
- ``results.json``: per mode the summaries per task and noise level and the checks
  (``classic_experiments.md`` 4.5, ``studies_and_applications.md`` 5.4), each with our value,
  the paper's, the re-implementation's (Guest, Caso & Cooper 2020), criterion, passed, required;
- the figures (PNG) and ``report.html``.

Noise levels (s.d.): the slips grid 0, .01, .02, .03, .04, .05, .1, .2, .3, .4 and the ADS grid
.1, .2, ..., 1.0; ``trials`` trials per network, task and level of the slips grid (500 in the
full run, as Guest et al.) and ``ads_trials`` (100) at the levels only the ADS grid has (.5 to
1: trials there run to the 100-step limit, and 1,200 trials per level hold the per-action
measures to about +-0.01); tasks are tested with their instruction, and 100 uninstructed trials
per network at noise 0 show the variety of the intact network. ``--quick``: 4 networks, modern
mode only, 1,000 epochs, 25 trials per network at nine levels.

Command line: ``rnnlab replicate botvinick-plaut2004 [--seeds N] [--quick] [--out DIR]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from rnnlab.experiments.botvinick_plaut2004 import figures, report
from rnnlab.experiments.botvinick_plaut2004.closed_loop import run_trials
from rnnlab.experiments.botvinick_plaut2004.network import Networks, train
from rnnlab.experiments.botvinick_plaut2004.probe import task_probe
from rnnlab.experiments.botvinick_plaut2004.scoring import score
from rnnlab.experiments.botvinick_plaut2004.summary import (
    ADS_LEVELS,
    SLIP_LEVELS,
    checks,
    first_deviation,
    level_summary,
)
from rnnlab.tasks.coffee_tea import training_set

CLI_SEEDS = 12  # the networks of a full run, as Guest et al. (MAX_NETS 12)
QUICK = {
    "networks": 4, "epochs": 1000, "trials": 25, "modes": ("modern",),
    "levels": (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0),
}  # fmt: skip


def run(out: Path, seeds: int = 12, quick: bool = False, echo: Callable[[str], None] = print,
        modes: tuple[str, ...] = ("faithful", "modern"), trials: int = 500,
        ads_trials: int = 100, epochs: dict | None = None) -> dict:  # fmt: skip
    """Run the replication (see the module docstring); returns the results written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    start = time.perf_counter()
    networks_count = QUICK["networks"] if quick else seeds
    levels = QUICK["levels"] if quick else tuple(sorted(set(SLIP_LEVELS) | set(ADS_LEVELS)))
    trials = QUICK["trials"] if quick else trials
    ads_trials = QUICK["trials"] if quick else ads_trials
    modes = QUICK["modes"] if quick else modes
    sequences = training_set()
    results = {
        "experiment": "botvinick-plaut2004", "seeds": networks_count, "quick": quick,
        "trials_per_level": trials, "ads_only_trials_per_level": ads_trials,
        "levels": list(levels), "modes": {},
    }  # fmt: skip
    pictures = []
    with (out / "trials.jsonl").open("w", encoding="utf-8") as jsonl:
        for mode_index, mode in enumerate(modes):
            began = time.perf_counter()
            echo(f"[{mode}] training {networks_count} networks")
            networks = Networks(networks_count, seed=mode_index)
            n_epochs = (epochs or {}).get(mode) or (QUICK["epochs"] if quick else None)
            curve = train(networks, sequences, mode, seed=100 + mode_index, epochs=n_epochs,
                          echo=echo)  # fmt: skip
            trained = time.perf_counter()
            torch.save(networks.state_dict(), out / f"networks_{mode}.pt")
            summary, intact, boundary = _test(networks, mode, levels, trials, ads_trials, jsonl,
                                              echo)  # fmt: skip
            probe = task_probe(networks, seed=7)
            results["modes"][mode] = {
                "training": curve, "levels": summary, "intact": intact,
                "boundary_share": boundary, "probe_accuracy": probe,
                "checks": checks(summary, intact, boundary, probe),
                "seconds": {"training": trained - began, "testing": time.perf_counter() - trained},
            }  # fmt: skip
            pictures += figures.draw(out, mode, results["modes"][mode])
    results["seconds"] = time.perf_counter() - start
    results["checks"] = [{**c, "name": f"{mode}: {c['name']}"}
                         for mode, r in results["modes"].items() for c in r["checks"]]  # fmt: skip
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report.write(out, results, pictures)
    return results


def _test(networks: Networks, mode: str, levels, trials: int, ads_trials: int, jsonl, echo):
    summary: dict[str, dict[float, dict]] = {"coffee": {}, "tea": {}}
    first_errors = []
    for task in ("coffee", "tea"):
        for level_index, noise in enumerate(levels):
            seed = 10_000 + 100 * level_index + (task == "tea")
            count = trials if noise <= max(SLIP_LEVELS) else ads_trials
            records = run_trials(networks, task, noise, count, seed)
            scores = []
            for k, per in enumerate(records):
                scores.append([])
                for record in per:
                    s = score(record["actions"], record["sugar_targets"], task)
                    scores[-1].append(s)
                    jsonl.write(json.dumps({
                        "mode": mode, "network": k, "noise": noise, "task": task,
                        "instruction": task, "actions": record["actions"],
                        "sugar_targets": record["sugar_targets"], "errors": s.errors,
                    }) + "\n")  # fmt: skip
                    if task == "coffee" and 0.02 <= noise <= 0.05 and not s.correct:
                        first_errors.append(
                            first_deviation(record["actions"], record["sugar_targets"], task)
                        )
            summary[task][noise] = level_summary(scores)
            echo(f"  [{mode}] {task} s.d. {noise:.2f}: errors per trial "
                 f"{summary[task][noise]['errors_per_trial']:.3f}")  # fmt: skip
    near = [any(abs(k - b) <= 1 for b in bounds) for k, bounds in first_errors]
    boundary = float(np.mean(near)) if near else float("nan")
    intact = _variety(networks, jsonl, mode)
    return summary, intact, boundary


def _variety(networks: Networks, jsonl, mode: str, trials: int = 100) -> dict:
    """Uninstructed trials at noise 0: which task, sugar source and order the networks chose."""
    records = run_trials(networks, None, 0.0, trials, seed=99)
    counts = {"coffee": 0, "tea": 0, "packet": 0, "bowl": 0, "sugar_first": 0,
              "cream_first": 0, "correct": 0}  # fmt: skip
    total = 0
    for k, per in enumerate(records):
        for record in per:
            s = score(record["actions"], record["sugar_targets"], None)
            jsonl.write(json.dumps({
                "mode": mode, "network": k, "noise": 0.0, "task": s.task, "instruction": None,
                "actions": record["actions"], "sugar_targets": record["sugar_targets"],
                "errors": s.errors,
            }) + "\n")  # fmt: skip
            total += 1
            counts[s.task] += 1
            counts["correct"] += s.correct
            counts["packet"] += "sugar-packet" in s.segments
            counts["bowl"] += "sugar-bowl" in s.segments
            if s.task == "coffee" and "sugar" in s.events and "cream" in s.events:
                first = s.events.index("sugar") < s.events.index("cream")
                counts["sugar_first" if first else "cream_first"] += 1
    return {k: v / total for k, v in counts.items()}
