"""A trained run, evaluated and used: metrics with the baselines, and the network for inference.

``rnnlab evaluate``, ``predict`` and ``generate`` call these. :func:`evaluate_run` rebuilds the
task from the run's config (the same data, split and vocabulary), loads a checkpoint, and
reports the task's metrics, its detailed report (per-class scores, figures written into the run
directory) and, on request, the baselines computed on the same split. :func:`load_network`
needs no data: it builds the network from the config and the vocabulary saved with the run.
"""

from rnnlab.errors import RnnlabError
from rnnlab.evaluation import evaluation_of
from rnnlab.losses import predictions_from_outputs
from rnnlab.models.ensemble import Ensemble
from rnnlab.models.readout import RecurrentNetwork
from rnnlab.tasks.base import checked_splits
from rnnlab.tasks.registry import TASKS
from rnnlab.tasks.vocabulary import Vocabulary
from rnnlab.train.build import build, network_for, saved_network
from rnnlab.train.checkpoint import load_checkpoint
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.validation import evaluate_split, metrics_of_outputs, split_outputs


def evaluate_run(
    runs: RunDirectory | list[RunDirectory],
    split: str,
    *,
    checkpoint: str | None = None,
    device: str = "cpu",
    baselines: bool = True,
) -> dict:
    """Metrics of the run's network on ``split``; per-class scores and figures where the task
    has them, and the baselines' metrics under ``"baselines"``.

    Several runs of the same task (seeds, say) are evaluated as an *ensemble*: the mean of
    their predicted probabilities, its loss the cross-entropy of that mean (for translation,
    the mean next-token distribution at every decoding step). Figures go to the first run's
    directory.
    """
    runs = [runs] if isinstance(runs, RunDirectory) else list(runs)
    config = runs[0].config()
    for other in runs[1:]:
        if other.config().task != config.task:
            raise RnnlabError(
                f"an ensemble needs runs of the same task and data; {other.path} differs from "
                f"{runs[0].path} in [task]"
            )
    task, _ = build(config, device)
    data = checked_splits(task)[split]
    networks = []
    for run in runs:
        network = network_for(run.config(), task).to(device)
        network.load_state_dict(load_checkpoint(run.checkpoints, checkpoint).model_state)
        network.eval()
        networks.append(network)
    evaluation = evaluation_of(task)
    ensemble = networks[0] if len(networks) == 1 else Ensemble.from_members(networks).combined()
    if task.targets == "sequence":
        metrics = evaluate_split(ensemble, task, data, device)
        if len(networks) > 1:
            metrics["ensemble_size"] = len(networks)
        if evaluation.report is not None:
            metrics.update(evaluation.report(task, ensemble, split, None, runs[0].path))
        return metrics
    if len(networks) > 1 and evaluation.network_ensembles:
        metrics = {"ensemble_size": len(networks)}
        metrics.update(evaluation.report(task, ensemble, split, None, runs[0].path))
        if baselines:
            metrics["baselines"] = evaluation.baselines(task, split)
        return metrics
    outputs = [split_outputs(network, data, device) for network in networks]
    if len(runs) == 1:
        metrics = metrics_of_outputs(outputs[0], task, data)
        mean = predictions_from_outputs(outputs[0], task.loss).cpu()
    else:
        if task.loss != "cross_entropy":
            raise RnnlabError("ensembles are evaluated for classification and language models")
        mean = Ensemble.mean_predictions(
            [predictions_from_outputs(o, task.loss).cpu() for o in outputs]
        )
        chosen = mean.gather(-1, data.y[..., None]).clamp_min(1e-30)
        metrics = {"loss": float(-chosen.log().mean()), "ensemble_size": len(runs)}
        metrics.update(task.metrics(mean, data))
    if evaluation.report is not None:
        metrics.update(evaluation.report(task, ensemble, split, mean, runs[0].path))
    if baselines and evaluation.baselines is not None:
        found = evaluation.baselines(task, split)
        if found:
            metrics["baselines"] = found
    return metrics


def load_network(
    run: RunDirectory, checkpoint: str | None = None
) -> tuple[RecurrentNetwork, Vocabulary, dict]:
    """The trained network of a run that reads token ids, its vocabulary and the vocabulary
    file's extra entries (such as ``classes``); the training data is not read. The network's
    class is the one of the kind of targets its task declares (a
    :class:`~rnnlab.models.readout.SequenceNetwork` for names, a
    :class:`~rnnlab.models.readout.Network` for a character language model)."""
    config = run.config()
    vocabulary, extra = Vocabulary.load(run.path / "vocab.json")
    classes = extra.get("classes")
    output_size = len(classes) if classes is not None else len(vocabulary)
    network = saved_network(config, len(vocabulary), output_size)
    _load_weights(network, run, checkpoint)
    return network, vocabulary, extra


def load_speech_network(run: RunDirectory, checkpoint: str | None = None):
    """The trained network of a speech run (isolated or connected digits) and its task config,
    which holds the feature settings; the recordings are not read."""
    from rnnlab.tasks.speech_features import feature_size

    config = run.config()
    task_type = TASKS[config.task.name][1]
    network = saved_network(config, feature_size(config.task), task_type.num_outputs)
    _load_weights(network, run, checkpoint)
    return network, config.task


def load_trained(run: RunDirectory, checkpoint: str | None = None, device: str = "cpu"):
    """The task of a run (its data rebuilt from the config) and its trained network."""
    task, network = build(run.config(), device)
    _load_weights(network, run, checkpoint)
    return task, network


def load_translator(run: RunDirectory, checkpoint: str | None = None):
    """The trained encoder-decoder of a translation run and its source and target
    vocabularies and maximum length (from ``vocab.json``); the training data is not read."""
    import json

    from rnnlab.tasks.word_vocabulary import WordVocabulary

    path = run.path / "vocab.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        source = WordVocabulary.from_list(data["source"], str(path))
        target = WordVocabulary.from_list(data["target"], str(path))
        max_length = int(data["max_length"])
    except FileNotFoundError:
        raise RnnlabError(f"{path} is missing: this run has no saved vocabulary") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise RnnlabError(f"{path} is not a translation vocabulary file (damaged?)") from None
    network = saved_network(run.config(), len(source), len(target))
    _load_weights(network, run, checkpoint)
    return network, source, target, max_length


def _load_weights(network, run: RunDirectory, checkpoint: str | None) -> None:
    """Load a checkpoint of ``run`` into ``network`` (evaluation mode), or a clear error."""
    try:
        network.load_state_dict(load_checkpoint(run.checkpoints, checkpoint).model_state)
    except RuntimeError as error:
        raise RnnlabError(
            f"the checkpoint of {run.path} does not fit its config and vocabulary: {error}"
        ) from None
    network.eval()


def require_task(run: RunDirectory, names: tuple[str, ...], command: str) -> None:
    """A clear error when ``command`` does not apply to the run's task."""
    config = run.config()
    if not hasattr(config, "task"):  # a policy run: an [environment], no [task]
        raise RnnlabError(
            f"`rnnlab {command}` needs a run of task {' or '.join(map(repr, names))}; "
            f"{run.path} is a policy run of {config.environment.id} (see `rnnlab play`)"
        )
    task = config.task.name
    if task not in names:
        raise RnnlabError(
            f"`rnnlab {command}` needs a run of task {' or '.join(map(repr, names))}; "
            f"{run.path} trained task {task!r}"
        )
