"""Text from a character language model: feed a prime, then sample one character at a time.

At each step the network's logits are divided by the ``temperature`` (below 1: more likely
characters, above 1: more surprising ones) and, with ``top_k``, cut to the k most likely
before sampling. The randomness is a seeded ``torch.Generator``, so a seed repeats a sample.
"""

import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.readout import Network
from rnnlab.tasks.vocabulary import Vocabulary


@torch.no_grad()
def generate(
    network: Network,
    vocabulary: Vocabulary,
    prime: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """``length`` characters sampled after ``prime`` (returned without the prime)."""
    if not prime:
        raise RnnlabError("the prime is empty; give at least one character to start from")
    if temperature <= 0:
        raise RnnlabError(f"temperature must be > 0; got {temperature}")
    if top_k is not None and not top_k >= 1:
        raise RnnlabError(f"top_k must be at least 1; got {top_k}")
    unknown = vocabulary.unknown_count(prime)
    if unknown == len(prime):
        raise RnnlabError(f"no character of the prime {prime!r} occurs in the training text")
    generator = torch.Generator().manual_seed(seed)
    network.eval()
    logits, state = network(vocabulary.encode(prime)[None])  # (1, T, V)
    logits = logits[0, -1]
    sampled = []
    for _ in range(length):
        logits = logits / temperature
        logits[:2] = -torch.inf  # padding and the unknown symbol are never sampled
        if top_k is not None and top_k < logits.numel():
            cutoff = logits.topk(top_k).values[-1]
            logits = logits.masked_fill(logits < cutoff, -torch.inf)
        token = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
        sampled.append(int(token))
        output, state = network(token[None], state)
        logits = output[0, -1]
    return vocabulary.decode(sampled)
