"""BLEU: how many of a translation's n-grams a reference translation also has.

Two versions, both on whitespace-tokenised, lowercased sentences:

- :func:`corpus_bleu`: the standard corpus BLEU (Papineni et al. 2002) as computed by
  sacrebleu, on a 0-100 scale: the geometric mean of the clipped 1- to 4-gram precisions
  pooled over the corpus, times a brevity penalty. Each hypothesis may have several references
  (Tatoeba lists several French translations of many English sentences); n-gram counts are
  clipped by the most any one reference has, and the brevity penalty uses the reference length
  closest to the hypothesis's.
- :func:`sentence_bleu_d2l`: d2l's BLEU (section 10.7) of one sentence against one reference,
  on a 0-1 scale: ``exp(min(0, 1 - len_ref / len_hyp)) * prod_n p_n ** (1 / 2**n)`` for
  n = 1..k, p_n the clipped n-gram precision. It weighs long n-grams more and is used in
  d2l's examples with k = 2; reported for comparison with the book.
"""

import math
from collections import Counter
from collections.abc import Sequence


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0-100, sacrebleu, lowercased) of ``hypotheses`` with ``references[k]`` the
    list of reference sentences of hypothesis ``k`` (one or more)."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"one list of references per hypothesis: got {len(hypotheses)} hypotheses and "
            f"{len(references)} reference lists"
        )
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every hypothesis needs at least one reference")
    most = max(len(refs) for refs in references)
    # sacrebleu reads the references as streams, one per reference slot; None = no reference.
    streams = [[refs[j] if j < len(refs) else None for refs in references] for j in range(most)]
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, lowercase=True, force=True).score)


def sentence_bleu_d2l(hypothesis: Sequence[str], reference: Sequence[str], k: int = 2) -> float:
    """d2l's BLEU (0-1) of token lists; 0 for an empty hypothesis."""
    if not hypothesis:
        return 0.0
    score = math.exp(min(0.0, 1 - len(reference) / len(hypothesis)))
    for n in range(1, min(k, len(hypothesis)) + 1):
        available = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
        matches = 0
        for i in range(len(hypothesis) - n + 1):
            gram = tuple(hypothesis[i : i + n])
            if available[gram] > 0:
                matches += 1
                available[gram] -= 1
        score *= (matches / (len(hypothesis) - n + 1)) ** (0.5**n)
    return score
