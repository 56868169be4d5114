"""Character language models evaluated: the interpolated Kneser-Ney baseline."""

from rnnlab.evaluation.baselines.kneser_ney import best_kneser_ney
from rnnlab.tasks.char_lm import CharLM, nats_metrics


def baselines(task: CharLM, split: str) -> dict[str, dict[str, float]]:
    """The Kneser-Ney n-gram model whose order is chosen on the validation text."""
    model, losses = best_kneser_ney(task.texts["train"], task.texts["val"])
    loss = losses[model.n] if split == "val" else model.loss(task.texts[split])
    return {"kneser_ney": {"order": model.n, **nats_metrics(loss)}}
