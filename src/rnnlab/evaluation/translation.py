"""Translation evaluated: a trained encoder-decoder's translations decoded and scored.

:func:`quick` (at every validation) is the greedy BLEU of (up to ``eval_sources``) validation
sources; :func:`report` (``rnnlab evaluate``) is ``bleu`` (beam search, ``beam_size`` and
``length_alpha``), ``bleu_greedy``, ``bleu_beam``, d2l's BLEU-2, examples and an attention heat
map. :func:`translate` translates raw sentences (``rnnlab translate``). ``network`` may be an
:class:`~rnnlab.models.ensemble.Ensemble` of encoder-decoders.
"""

from pathlib import Path

import numpy as np

from rnnlab.analysis.bleu import corpus_bleu, sentence_bleu_d2l
from rnnlab.errors import RnnlabError
from rnnlab.models.decoding import Decoded, beam_search, greedy
from rnnlab.report.attention_map import plot_attention
from rnnlab.tasks.translation import Translation, tokenise
from rnnlab.tasks.word_vocabulary import WordVocabulary


def quick(task: Translation, network, split: str) -> dict:
    """The greedy BLEU of ``split``'s first ``eval_sources`` sources (during training)."""
    return evaluate(task, network, split, None, full=False)


def report(task: Translation, network, split: str, predictions, directory: Path | None) -> dict:
    """Everything :func:`evaluate` reports, the heat map written to ``directory``."""
    return evaluate(task, network, split, directory, full=True)


def evaluate(task: Translation, network, split: str, directory: Path | None, full: bool) -> dict:
    """BLEU of the network's translations of ``split``'s sources (see the docstring)."""
    sources, references = task.references(split)
    if not full and task.config.eval_sources is not None:
        sources, references = (
            sources[: task.config.eval_sources],
            references[: task.config.eval_sources],
        )
    max_length = task.config.max_length + 1
    device = next(network.parameters()).device
    refs = [[" ".join(r) for r in group] for group in references]
    greedy_out = []
    for start in range(0, len(sources), 256):
        batch = sources[start : start + 256]
        x, lengths = task.encode_sources(batch)
        greedy_out += greedy(network, x.to(device), lengths.to(device), max_length)
    greedy_text = [task.target_text(t.tokens) for t in greedy_out]
    result = {"bleu_greedy": corpus_bleu(greedy_text, refs)}
    if not full:
        return result
    result["sources"] = len(sources)
    result["pairs"] = len(task.pairs[split])
    chosen, chosen_text = greedy_out, greedy_text
    if task.config.beam_size > 1:
        chosen = [
            beam_search(
                network, task.encode_sources([s])[0].to(device), task.config.beam_size,
                max_length, task.config.length_alpha,
            )
            for s in sources
        ]  # fmt: skip
        chosen_text = [task.target_text(t.tokens) for t in chosen]
        result["bleu_beam"] = corpus_bleu(chosen_text, refs)
    result["bleu"] = result.get("bleu_beam", result["bleu_greedy"])
    result["decoder"] = (
        f"beam {task.config.beam_size}, alpha {task.config.length_alpha}"
        if task.config.beam_size > 1
        else "greedy"
    )
    result["bleu_d2l_2"] = float(
        np.mean(
            [
                max(sentence_bleu_d2l(text.split(), list(r), 2) for r in group)
                for text, group in zip(chosen_text, references)
            ]
        )
    )
    result["examples"] = [
        {"source": " ".join(s), "translation": text, "references": r}
        for s, text, r in list(zip(sources, chosen_text, refs))[:8]
    ]
    if directory is not None and chosen[0].attention is not None:
        k = max(range(len(sources)), key=lambda i: (len(sources[i]) <= 12, len(sources[i])))
        path = plot_attention(
            chosen[k].attention, [*sources[k], "<eos>"],
            [*chosen_text[k].split(), "<eos>"], Path(directory) / f"attention_{split}.png",
        )  # fmt: skip
        result["attention_png"] = str(path)
    return result


def translate(
    network, source: WordVocabulary, target: WordVocabulary, sentences: list[str], *,
    beam_size: int = 4, alpha: float = 0.75, max_length: int = 31,
) -> list[tuple[str, Decoded]]:  # fmt: skip
    """Translate raw ``sentences`` (normalised here as in training): for each, the
    translation's text and its :class:`~rnnlab.models.decoding.Decoded` (tokens, scores, attention).
    Unknown source words are read as ``<unk>``."""
    results = []
    for sentence in sentences:
        tokens = tokenise(sentence)
        if not tokens:
            raise RnnlabError(f"nothing to translate in {sentence!r}")
        x = source.encode(tokens)[None]
        decoded = beam_search(network, x, beam_size, max_length, alpha)
        results.append((" ".join(target.decode(decoded.tokens)), decoded))
    return results
