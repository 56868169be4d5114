"""Song, Yang & Wang (2016): continuous-time networks under Dale's law trained on cognitive
tasks (spec ``studies_and_applications.md`` section 1).

``run(out)`` trains, for every seed, a Dale's-law CTRNN on perceptual decision making (random
dots, N = 100) and one on context-dependent integration (Mante et al. 2013, N = 150), each
until pycog's stopping rule, 2 points above its targets (:mod:`.training`), then measures on
a balanced grid of noisy test trials (:mod:`.behaviour`), with the checks of the spec's section 1.4:

* random dots: accuracy >= 85 %; P(correct) >= 0.95 at the strongest coherence (16 %) and
  <= 0.75 at the weakest (1 %); a psychometric curve monotone in the signed coherence, with a
  cumulative-Gaussian fit whose bias lies within +-2 % coherence (not required);
* context-dependent integration: accuracy >= 90 %; in each context, the logistic-regression
  slope of the choices on the relevant coherence at least 5x the slope on the irrelevant one;
* Dale's law holds exactly in the trained networks' effective weights.

Each check holds over the seeds when it holds in every seed; its value is the worst seed's.
The papers' accuracies are training-stop thresholds, not reported results (spec 1.1): those
are the "paper" values beside ours.

It writes ``results.json``, PNG figures and a self-contained ``report.html`` to ``out``.
Command line: ``rnnlab replicate neuro-tasks [--seeds N] [--quick] [--out DIR]``.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path

from rnnlab.experiments.neuro_tasks import figures
from rnnlab.experiments.neuro_tasks.behaviour import (
    context_behaviour,
    dale_violations,
    decision_behaviour,
)
from rnnlab.experiments.neuro_tasks.training import Setting, train
from rnnlab.report import html
from rnnlab.tasks.context_decision import CONTEXTS, ContextDecision, ContextDecisionConfig
from rnnlab.tasks.context_decision import TARGET_PERFORMANCE as CONTEXT_TARGET
from rnnlab.tasks.perceptual_decision import TARGET_PERFORMANCE as DECISION_TARGET
from rnnlab.tasks.perceptual_decision import PerceptualDecision, PerceptualDecisionConfig
from rnnlab.train.workers import cpu_seconds, plan_workers, run_jobs

LABELS = {"perceptual_decision": "random dots", "context_decision": "context"}

MARGIN = 0.02
"""Training stops this much above the accuracy a check asks for (see :mod:`.training`)."""

SETTINGS = {
    "perceptual_decision": Setting(hidden_size=100, batch_size=20,
                                   target=DECISION_TARGET + MARGIN, max_steps=3000),
    "context_decision": Setting(hidden_size=150, batch_size=50,
                                target=CONTEXT_TARGET + MARGIN, max_steps=4000),
}  # fmt: skip

QUICK_SETTINGS = {
    **SETTINGS,
    "context_decision": Setting(hidden_size=100, batch_size=50,
                                target=CONTEXT_TARGET + MARGIN, max_steps=4000),
}  # fmt: skip
"""``--quick``: one seed, N = 100 for context too (the lower end of the spec's 100-150), and
fewer test trials."""

# Test trials: per signed coherence (random dots), per condition of 72 (context).
TEST_TRIALS = {"quick": (100, 10), "full": (250, 40)}


def check(name, value, paper, criterion, passed, required=True, per_seed=None) -> dict:
    return {"name": name, "value": value, "paper": paper, "criterion": criterion,
            "passed": bool(passed), "required": required, "per_seed": per_seed}  # fmt: skip


def tasks_for(seed: int) -> tuple[PerceptualDecision, ContextDecision]:
    """The two tasks with the trials of ``seed``: validation trials balanced over the
    conditions, 50 of each for random dots (pycog's 100 would double the validations' cost)
    and 10 of each of the 72 of context; the test trials are drawn in :mod:`.behaviour`."""
    return (PerceptualDecision(PerceptualDecisionConfig(seed=seed, num_test=1)),
            ContextDecision(ContextDecisionConfig(seed=seed, num_test=1)))  # fmt: skip


def train_and_measure(name: str, seed: int, setting: Setting, trials: int):
    """One network of the study: trained on task ``name`` with the trials of ``seed``, then
    measured on ``trials`` test trials per signed coherence (random dots) or per condition
    (context). Returns its entry of results.json, what the figures draw of it (the
    psychometric fit, or the regressions per context) and its Dale's-law violations."""
    task = tasks_for(seed)[0 if name == "perceptual_decision" else 1]
    trained = train(task, setting, seed)
    if name == "perceptual_decision":
        measured = decision_behaviour(trained.network, task, trials, 10_000 + seed)
        detail = measured.pop("fit")
    else:
        measured = context_behaviour(trained.network, task, trials, 20_000 + seed)
        detail = {context: (c.pop("regression_object"), c.pop("fits"))
                  for context, c in measured["contexts"].items()}  # fmt: skip
    entry = {"seed": seed, "training": trained.as_dict(), **measured}
    return entry, detail, dale_violations(trained.network)


def run(out: Path, seeds: int = 5, quick: bool = False,
        echo: Callable[[str], None] = print, *,
        settings: dict[str, Setting] | None = None,
        workers: int | None = None) -> dict:  # fmt: skip
    """Train and measure (see the module docstring); ``settings`` replaces :data:`SETTINGS`
    (:data:`QUICK_SETTINGS` with ``quick``; the tests train smaller networks, shorter).

    The networks are independent: they train on ``workers`` local processes at once (default:
    as many as the CPUs and networks allow, :func:`rnnlab.train.workers.plan_workers`), each
    with the CPUs shared out as torch threads; ``workers=1`` trains them here, one after
    another. A network's numbers depend on its thread count (see
    :mod:`rnnlab.train.workers`), not on where it trained."""
    if settings is None:
        settings = QUICK_SETTINGS if quick else SETTINGS
    out = Path(out)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    seeds = 1 if quick else seeds
    per_level, per_condition = TEST_TRIALS["quick" if quick else "full"]
    # The longer trainings (context) first, so that the shorter fill in beside them.
    jobs = [(name, seed, settings[name], per_level if name == "perceptual_decision"
             else per_condition) for name in sorted(settings) for seed in range(seeds)]  # fmt: skip
    workers, threads = plan_workers(len(jobs), workers)
    out.mkdir(parents=True, exist_ok=True)
    for name, seed, setting, _ in jobs:
        echo(f"[{LABELS[name]}] seed {seed + 1} of {seeds}: training N = {setting.hidden_size} "
             f"until {setting.target:.0%}")  # fmt: skip
    if workers > 1:
        echo(f"[neuro-tasks] {len(jobs)} networks on {workers} worker processes, "
             f"{threads} torch thread(s) each")  # fmt: skip
    done = run_jobs(train_and_measure, jobs, workers, threads)
    decision, context, dale, fits, regressions = [], [], [], [], []
    for (name, seed, _, _), (entry, detail, violations) in zip(jobs, done):
        (decision if name == "perceptual_decision" else context).append(entry)
        (fits if name == "perceptual_decision" else regressions).append(detail)
        dale.append({"task": name, "seed": seed, **violations})
    checks = expected_checks(decision, context, dale)
    results = {
        "experiment": "neuro-tasks", "quick": quick, "seeds": seeds,
        "workers": workers, "threads_per_worker": threads, "seconds": time.perf_counter() - start,
        "settings": {name: vars(s) for name, s in settings.items()},
        "test_trials": {"per_signed_coherence": per_level, "per_context_condition": per_condition},
        "perceptual_decision": decision, "context_decision": context, "dale": dale,
        "checks": checks,
    }  # fmt: skip
    drawn = figures.draw(out, fits, regressions, decision, context)
    # wall clock, and the CPU time of this process and its workers (on one thread on an idle
    # machine the same; less when a process waited for the CPU or was paused)
    results["seconds"] = time.perf_counter() - start
    results["cpu_seconds"] = cpu_seconds() - cpu_start
    (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    write_report(out, results, drawn)
    return results


def expected_checks(decision: list[dict], context: list[dict], dale: list[dict]) -> list[dict]:
    """The checks over the seeds (see the module docstring): each holds when it holds in every
    seed, and its value is the worst seed's."""
    strengths = list(decision[0]["by_strength"])
    weakest, strongest = strengths[0], strengths[-1]
    accuracy = [d["accuracy"] for d in decision]
    high = [d["by_strength"][strongest]["accuracy"] for d in decision]
    low = [d["by_strength"][weakest]["accuracy"] for d in decision]
    monotone = [d["monotone"] for d in decision]
    bias = [d["psychometric"]["bias"] for d in decision]
    checks = [
        check("random dots: accuracy on noisy test trials", min(accuracy),
              "85 % (pycog's stop criterion)", ">= 0.85 in every seed",
              min(accuracy) >= 0.85, per_seed=accuracy),
        check(f"random dots: P(correct) at {strongest} % coherence", min(high),
              "Fig. 2C (curve only)", ">= 0.95 in every seed", min(high) >= 0.95,
              per_seed=high),
        check(f"random dots: P(correct) at {weakest} % coherence", max(low),
              "Fig. 2C (curve only)", "<= 0.75 in every seed", max(low) <= 0.75, per_seed=low),
        check("random dots: psychometric curve monotone in signed coherence",
              sum(monotone) / len(monotone), "monotone (Fig. 2C)",
              "every seed: no fall between levels beyond 2 s.e.", all(monotone),
              per_seed=monotone),
        check("random dots: |bias| of the cumulative-Gaussian fit (% coherence)",
              max(abs(b) for b in bias), "about 0 (Fig. 2C)", "<= 2 in every seed (stretch)",
              max(abs(b) for b in bias) <= 2, required=False, per_seed=bias),
    ]  # fmt: skip
    accuracy = [c["accuracy"] for c in context]
    checks.append(check("context: accuracy on noisy test trials", min(accuracy),
                        "90 % (pycog's stop criterion)", ">= 0.90 in every seed",
                        min(accuracy) >= 0.90, per_seed=accuracy))  # fmt: skip
    for name in CONTEXTS:
        ratio = [c["contexts"][name]["slope_ratio"] for c in context]
        checks.append(check(
            f"context {name}: choice slope relevant / |irrelevant|", min(ratio),
            "irrelevant slope near 0 (Mante et al. 2013, Fig. 1)", ">= 5 in every seed",
            min(ratio) >= 5, per_seed=ratio))  # fmt: skip
    total = sum(d["total"] for d in dale)
    counts = all(d["excitatory"] == d["expected_excitatory"] for d in dale)
    checks.append(check(
        "Dale's law: effective weights of the wrong sign after training", total,
        "0 (by construction)", "0 in every network; readout from E only; n_E = floor(0.8 N)",
        total == 0 and counts, per_seed=[d["total"] for d in dale]))  # fmt: skip
    return checks


def write_report(out: Path, results: dict, drawn: list[Path]) -> Path:
    decision, context = results["perceptual_decision"], results["context_decision"]
    rows = []
    for d, c in zip(decision, context):
        rows.append(
            f"<tr><td>{d['seed']}</td><td>{d['training']['steps']} ({d['training']['reason']}, "
            f"{d['training']['seconds']:.0f} s)</td><td>{d['accuracy']:.3f}</td>"
            f"<td>{d['psychometric']['bias']:.2f} / {d['psychometric']['scale']:.2f}</td>"
            f"<td>{c['training']['steps']} ({c['training']['reason']}, "
            f"{c['training']['seconds']:.0f} s)</td><td>{c['accuracy']:.3f}</td>"
            + "".join(f"<td>{c['contexts'][k]['relevant_slope']:.2f} / "
                      f"{c['contexts'][k]['irrelevant_slope']:.3f}</td>" for k in CONTEXTS)
            + "</tr>"
        )  # fmt: skip
    table = (
        "<table><tr><th>seed</th><th>dots: updates</th><th>dots: accuracy</th>"
        "<th>dots: bias / s.d. (%)</th><th>context: updates</th><th>context: accuracy</th>"
        + "".join(f"<th>{k} context: slope rel. / irr.</th>" for k in CONTEXTS)
        + "</tr>" + "".join(rows) + "</table>"
    )  # fmt: skip
    s = results["settings"]
    intro = (
        "<p>Song, Yang &amp; Wang (2016) trained excitatory-inhibitory rate networks on cognitive "
        "tasks with pycog. Here: rnnlab's CTRNN (relu, tau 100 ms, dt 20 ms, sigma_rec 0.15, "
        "sigma_in 0.01, 80 % excitatory units, readout from the excitatory units with "
        f"non-negative weights), N = {s['perceptual_decision']['hidden_size']} on random dots "
        f"and N = {s['context_decision']['hidden_size']} on context-dependent integration, "
        "trained with Adam (lr 0.005, clipping at 1) on pycog's masked squared error until the "
        "mean of the last 5 validation accuracies (balanced, noisy trials) passes pycog's stop "
        "criterion plus 2 points (87 %, 92 %; pycog: 85 %, 90 %). "
        f"{results['seeds']} seed(s); test trials with the noise on: "
        f"{results['test_trials']['per_signed_coherence']} per signed coherence (dots), "
        f"{results['test_trials']['per_context_condition']} per condition of 72 (context). "
        f"{results['seconds']:.0f} s in all ({results['cpu_seconds']:.0f} s of CPU).</p>"
        "<p>What differs from the paper: Adam instead of SGD, no Omega regulariser, uniform "
        "instead of Gamma-distributed initial weights, a learned readout bias, a fixation input "
        "that turns off at the decision period, fixed fixation of 100 ms at test. The paper's "
        "accuracies are its training-stop thresholds; its psychometric curves are figures only."
        "</p>"
    )  # fmt: skip
    sections = [
        html.checks_table(results["checks"]), table,
        "".join(html.image(path) for path in drawn),
    ]  # fmt: skip
    path = out / "report.html"
    path.write_text(html.page("Song, Yang & Wang (2016): Dale's-law CTRNNs on cognitive tasks",
                              intro, sections), encoding="utf-8")  # fmt: skip
    return path
