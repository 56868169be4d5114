"""What needs a trained model: the table of contents of each task's evaluation functions.

:data:`EVALUATIONS` names, for each task that has them, its functions:

- ``quick(task, network, split) -> dict``: metrics that need the network itself (not its
  outputs on the split), cheap enough for every validation during training;
- ``report(task, network, split, predictions, directory) -> dict``: everything ``rnnlab
  evaluate`` reports beyond the loss and the task's metrics (per-class scores, BLEU of beam
  search, backtests), figures written to ``directory``; ``predictions`` are the network's (or
  the ensemble's mean) predictions on the split, None where the report reads the network;
- ``baselines(task, split) -> dict``: the metrics of the methods a user would pick instead
  of an RNN on ``split``;
- ``network_ensembles``: True when an ensemble's report reads its networks (forecasts mixed
  from the members), not the mean of their predictions.

``rnnlab.train.validation.evaluate_split`` calls ``quick``, ``rnnlab.train.evaluation.evaluate_run``
the rest. A task without an entry has none of them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from rnnlab.evaluation import (
    classification,
    digit_strings,
    forecasting,
    language_model,
    spoken_digits,
    translation,
)


@dataclass(frozen=True)
class Evaluation:
    """The evaluation functions of one task; see the module docstring."""

    quick: Callable[..., dict] | None = None
    report: Callable[..., dict] | None = None
    baselines: Callable[..., dict] | None = None
    network_ensembles: bool = False


EVALUATIONS: dict[str, Evaluation] = {
    "translation": Evaluation(quick=translation.quick, report=translation.report),
    "forecast": Evaluation(
        quick=forecasting.quick,
        report=forecasting.report,
        baselines=forecasting.baselines,
        network_ensembles=True,
    ),
    "names": Evaluation(report=classification.report, baselines=classification.baselines),
    "char_lm": Evaluation(baselines=language_model.baselines),
    "spoken_digits": Evaluation(report=spoken_digits.report, baselines=spoken_digits.baselines),
    "digit_strings": Evaluation(quick=digit_strings.quick, report=digit_strings.report),
}

NONE = Evaluation()


def evaluation_of(task) -> Evaluation:
    """The evaluation functions of ``task`` (none for a task without an entry)."""
    return EVALUATIONS.get(task.name, NONE)
