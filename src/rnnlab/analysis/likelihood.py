"""Empirical likelihood vectors: what a perfect next-word predictor would output.

Elman (1990, p. 198) scored the network against, for every word of the training corpus, the
relative frequency of each possible next word among all training sentences identical up to that
point. After a sentence's last word the next word is the first of the next sentence.
"""

from collections import Counter, defaultdict

import numpy as np


def likelihood_vectors(
    sentences: list[tuple[str, ...]], index: dict[str, int], size: int
) -> np.ndarray:
    """(number of words in the corpus - 1, size): the likelihood vector after every word but
    the last of the run-together corpus of ``sentences``."""
    successors: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for k, sentence in enumerate(sentences):
        following = sentences[k + 1][0] if k + 1 < len(sentences) else None
        for i in range(len(sentence)):
            nxt = sentence[i + 1] if i + 1 < len(sentence) else following
            if nxt is not None:
                successors[sentence[: i + 1]][nxt] += 1
    rows = []
    for k, sentence in enumerate(sentences):
        for i in range(len(sentence)):
            if k + 1 == len(sentences) and i + 1 == len(sentence):
                break
            counts = successors[sentence[: i + 1]]
            row = np.zeros(size)
            total = sum(counts.values())
            for word, count in counts.items():
                row[index[word]] = count / total
            rows.append(row)
    return np.array(rows)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    numerator = (a * b).sum(1)
    return numerator / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
