"""Interpolated Kneser-Ney character n-gram language model: the baseline of a character RNN.

Kneser & Ney (1995); the interpolated form and the discount of Chen & Goodman (1999), section
3.5. For a context h of n - 1 characters and the next character w::

    P_n(w | h) = max(c(hw) - D_n, 0) / c(h.)  +  D_n N1+(h.) / c(h.) * P_{n-1}(w | h')

where h' is h without its first character, c(hw) counts hw in the training text, c(h.) is the
sum over w, and N1+(h.) the number of different characters seen after h. The lower orders use
*continuation* counts in place of c: N1+(.h'w), the number of different characters seen before
h'w, so a character that follows many contexts gets a high lower-order probability. The lowest
order interpolates with the uniform distribution over the vocabulary (the characters of the
training text and one unknown symbol). A context never seen falls through to the next order.
Each order's discount is D = n1 / (n1 + 2 n2), from the numbers n1, n2 of n-grams counted once
and twice.

Probabilities sum to one over the vocabulary for every context (the tests check it).
"""

import math
from collections import Counter, defaultdict

UNKNOWN = "\0"  # stands for every character not seen in training


class KneserNey:
    """An order-``n`` model fitted to ``text``: :meth:`probability`, :meth:`loss`."""

    def __init__(self, text: str, n: int) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}")
        if len(text) < n:
            raise ValueError(f"the training text must hold at least n = {n} characters")
        self.n = n
        self.symbols = [*sorted(set(text)), UNKNOWN]
        counts = [Counter(text[i : i + k] for i in range(len(text) - k + 1)) for k in range(n + 1)]
        # counts[k]: the k-grams and how often they occur (counts[0] is unused)
        self.tables: list[dict[str, int]] = [{}] * (n + 1)
        for k in range(1, n + 1):
            if k == n:
                self.tables[k] = counts[k]
            else:  # continuation counts: distinct characters seen before each k-gram
                continuation: defaultdict[str, int] = defaultdict(int)
                for gram in counts[k + 1]:
                    continuation[gram[1:]] += 1
                continuation[text[:k]] += 1  # the start of the text is a left neighbour too
                self.tables[k] = dict(continuation)
        self.discounts = [0.0] * (n + 1)
        self.totals: list[dict[str, int]] = [{} for _ in range(n + 1)]
        self.types: list[dict[str, int]] = [{} for _ in range(n + 1)]
        for k in range(1, n + 1):
            values = Counter(self.tables[k].values())
            n1, n2 = values.get(1, 0), values.get(2, 0)
            self.discounts[k] = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
            totals: defaultdict[str, int] = defaultdict(int)
            types: defaultdict[str, int] = defaultdict(int)
            for gram, count in self.tables[k].items():
                if count > 0:
                    totals[gram[:-1]] += count
                    types[gram[:-1]] += 1
            self.totals[k], self.types[k] = dict(totals), dict(types)

    def probability(self, context: str, character: str) -> float:
        """P(character | the last n - 1 characters of context)."""
        if character not in self.tables[1] and character != UNKNOWN:
            character = UNKNOWN
        p = 1.0 / len(self.symbols)
        for k in range(1, self.n + 1):
            if len(context) < k - 1:
                break  # the text so far is shorter than this order's context
            history = context[len(context) - (k - 1) :] if k > 1 else ""
            total = self.totals[k].get(history, 0)
            if total == 0:
                break  # an unseen context: the lower orders decide
            D = self.discounts[k]
            count = self.tables[k].get(history + character, 0)
            p = max(count - D, 0) / total + D * self.types[k][history] / total * p
        return p

    def loss(self, text: str) -> float:
        """Mean negative log-likelihood in nats per character of ``text``, from its start.

        Every character after the first is predicted from the ones before it (at most n - 1).
        """
        total = 0.0
        for i in range(1, len(text)):
            total -= math.log(self.probability(text[max(i - self.n + 1, 0) : i], text[i]))
        return total / (len(text) - 1)


def best_kneser_ney(train: str, val: str, max_n: int = 7) -> tuple[KneserNey, dict[int, float]]:
    """The order in 1..max_n with the lowest validation loss, and every order's loss."""
    best, losses = None, {}
    for n in range(1, max_n + 1):
        model = KneserNey(train, n)
        losses[n] = model.loss(val)
        if best is None or losses[n] < losses[best.n]:
            best = model  # only the best model so far is kept: each holds millions of counts
    return best, losses
