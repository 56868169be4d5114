"""What the replication measures of a trained network: its choices on a balanced grid of noisy
test trials, the psychometric curve (random dots), the choice regressions per context
(context-dependent integration), and whether Dale's law holds in its effective weights."""

import torch

from rnnlab.analysis.psychometrics import (
    accuracy_by_condition,
    choice_regression,
    fit_psychometric,
)
from rnnlab.cells.ctrnn import unit_signs
from rnnlab.models.readout import Network
from rnnlab.tasks.context_decision import CONTEXTS, ContextDecision
from rnnlab.tasks.perceptual_decision import PerceptualDecision
from rnnlab.tasks.trials import CognitiveTask, Trials, decisions
from rnnlab.train.validation import split_outputs


def grid_trials(task: CognitiveTask, repeats: int, seed: int) -> Trials:
    """``repeats`` trials of every condition of the task's grid, no catch trials."""
    values = {name: v.repeat_interleave(repeats) for name, v in task.grid().items()}
    catch = torch.zeros(len(next(iter(values.values()))), dtype=torch.bool)
    return task.make(values, catch, torch.Generator().manual_seed(seed))


def choices(network: Network, trials: Trials) -> torch.Tensor:
    """(N,) the network's choice on every trial (the noise drawn, as in training)."""
    return decisions(split_outputs(network, trials))


def decision_behaviour(network: Network, task: PerceptualDecision, per_level: int,
                       seed: int) -> dict:  # fmt: skip
    """Random dots: ``per_level`` trials at each signed coherence of the task; accuracy, per
    unsigned coherence, and the cumulative-Gaussian psychometric fit of P(choice 1) against
    the signed coherence."""
    trials = grid_trials(task, per_level, seed)
    chose = choices(network, trials)
    correct = chose == trials.conditions["choice"]
    fit = fit_psychometric(trials.conditions["coherence"], chose, form="gaussian")
    return {
        "trials": len(correct),
        "accuracy": float(correct.float().mean()),
        "by_strength": accuracy_by_condition(correct, trials.conditions["strength"]).as_dict(),
        "psychometric": fit.as_dict(),
        "monotone": fit.monotone(),
        "fit": fit,
    }


def context_behaviour(network: Network, task: ContextDecision, per_condition: int,
                      seed: int) -> dict:  # fmt: skip
    """Context-dependent integration: ``per_condition`` trials of each of the 2 x 6 x 6
    conditions; accuracy, and in each context the logistic regression of the choices on the
    motion and the colour coherence (Mante et al. 2013, Fig. 1), and the psychometric curves
    against each coherence."""
    trials = grid_trials(task, per_condition, seed)
    chose = choices(network, trials)
    correct = chose == trials.conditions["choice"]
    contexts = {}
    for k, context in enumerate(CONTEXTS):
        rows = trials.conditions["context"] == k
        motion, colour = trials.conditions["motion"][rows], trials.conditions["colour"][rows]
        regression = choice_regression(chose[rows], {"motion": motion, "colour": colour})
        relevant, irrelevant = ("motion", "colour") if context == "motion" else ("colour", "motion")
        curves = {name: fit_psychometric(trials.conditions[name][rows], chose[rows])
                  for name in ("motion", "colour")}  # fmt: skip
        contexts[context] = {
            "accuracy": float(correct[rows].float().mean()),
            "regression": regression.as_dict(),
            "relevant_slope": regression.coefficients[relevant],
            "irrelevant_slope": regression.coefficients[irrelevant],
            "slope_ratio": regression.ratio(relevant, irrelevant),
            "fits": curves,
            "regression_object": regression,
        }
    return {"trials": len(correct), "accuracy": float(correct.float().mean()),
            "contexts": contexts}  # fmt: skip


def dale_violations(network: Network) -> dict:
    """The effective weights that break Dale's law after training: recurrent weights whose
    sign differs from their presynaptic unit's, negative input weights, negative readout
    weights or any readout of an inhibitory unit; and whether n_E = floor(0.8 N)."""
    layer = network.layer
    weights = layer.effective_weights()
    signs = unit_signs(layer.hidden_size, layer.excitatory_fraction, weights.weight_hh)
    readout = network.readout.effective_weight()  # (O, H)
    n_e = len(layer.excitatory_units)
    count = {
        "recurrent": int((weights.weight_hh * signs < 0).sum()),
        "input": int((weights.weight_ih < 0).sum()),
        "readout": int((readout < 0).sum() + (readout[:, n_e:] != 0).sum()),
    }
    return {**count, "total": sum(count.values()), "excitatory": n_e,
            "expected_excitatory": int(0.8 * layer.hidden_size + 1e-9),
            "hidden_size": layer.hidden_size}  # fmt: skip
