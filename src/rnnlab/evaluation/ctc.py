"""Decoding frame-wise CTC posteriors into label sequences, and the edit distance that scores
them.

Class 0 is the blank (as ``torch.nn.CTCLoss(blank=0)``). A path of one class per frame maps to
a labelling by collapsing runs of the same class, then removing the blanks: ``1 1 0 1 2 2``
reads ``1 1 2``, and a label said twice in a row needs a blank between (``1 1`` reads ``1``).

- :func:`greedy_decode`: the best path (the most likely class at every frame), collapsed.
- :func:`prefix_beam_search`: the labellings of highest probability summed over their
  alignments, kept ``beam`` at a time (Hannun et al. 2014, "First-pass large vocabulary
  continuous speech recognition using bi-directional recurrent DNNs"; Graves 2012 §7.5), in
  log space. With a beam as wide as every prefix it returns the most likely labelling, which
  the best path need not be.
- :func:`edit_distance`: Levenshtein distance (substitutions, insertions, deletions, each 1).
"""

from functools import partial

import numpy as np


def collapse(path) -> list[int]:
    """The labelling of a path of classes: repeats collapsed, then blanks (0) removed."""
    labels, previous = [], None
    for c in path:
        c = int(c)
        if c != previous and c != 0:
            labels.append(c)
        previous = c
    return labels


def greedy_decode(log_probs: np.ndarray, length: int | None = None) -> list[int]:
    """The best-path labelling of frame posteriors ``log_probs`` (T, C) (probabilities or
    their logarithms: only the argmax is read), over the first ``length`` frames."""
    log_probs = np.asarray(log_probs)[: length or len(log_probs)]
    return collapse(log_probs.argmax(-1))


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, length: int | None = None):
    """The most likely labelling (and its log-probability) of frame log-posteriors
    ``log_probs`` (T, C) under CTC, searching ``beam`` prefixes at a time; see the module
    docstring."""
    log_probs = np.asarray(log_probs, dtype=np.float64)[: length or len(log_probs)]
    # Each prefix keeps two log-probabilities: of its paths ending in a blank, and in its
    # last label (they extend differently when that label comes again).
    beams = {(): (0.0, -np.inf)}
    for frame in log_probs:
        extended: dict[tuple, list[float]] = {}
        add = partial(_add, extended)
        for prefix, (p_blank, p_label) in beams.items():
            total = np.logaddexp(p_blank, p_label)
            add(prefix, total + frame[0], -np.inf)  # a blank: the prefix stays
            if prefix:  # the last label again, without a blank between: the prefix stays
                add(prefix, -np.inf, p_label + frame[prefix[-1]])
            for c in range(1, len(frame)):
                if prefix and c == prefix[-1]:  # a repeat needs a blank before it
                    add((*prefix, c), -np.inf, p_blank + frame[c])
                else:
                    add((*prefix, c), -np.inf, total + frame[c])
        ranked = sorted(extended.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = {prefix: tuple(p) for prefix, p in ranked[:beam]}
    best, (p_blank, p_label) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    return list(best), float(np.logaddexp(p_blank, p_label))


def _add(extended: dict, prefix: tuple, blank: float, label: float) -> None:
    """Add the log-probabilities of paths ending in a blank and in a label to a prefix's."""
    old = extended.setdefault(prefix, [-np.inf, -np.inf])
    old[0] = np.logaddexp(old[0], blank)
    old[1] = np.logaddexp(old[1], label)


def edit_distance(reference, hypothesis) -> int:
    """The Levenshtein distance between two sequences."""
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        current = [i]
        for j, h in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def error_rates(references: list[list[int]], hypotheses: list[list[int]]) -> dict[str, float]:
    """``digit_error_rate`` (edit distances over the references' total length) and
    ``string_accuracy`` (the share of hypotheses equal to their reference)."""
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    total = sum(len(r) for r in references)
    exact = sum(list(r) == list(h) for r, h in zip(references, hypotheses))
    return {
        "digit_error_rate": errors / max(total, 1),
        "string_accuracy": exact / max(len(references), 1),
    }
