"""Decoding: turning a trained encoder-decoder's next-token distributions into sentences.

- :func:`greedy` takes the most likely token at every step (a whole batch at once) until
  ``<eos>`` or ``max_length`` tokens.
- :func:`beam_search` keeps the ``beam_size`` most likely partial translations of one source
  sentence. A hypothesis that ends in ``<eos>`` is set aside; the search stops when
  ``beam_size`` are set aside or after ``max_length`` tokens, and returns the hypothesis with
  the best length-normalised score ``log P(y) / L**alpha`` (L its length, ``<eos>``
  included), as in d2l (section 10.8); ``alpha = 0`` ranks by probability alone, which favours
  short outputs. With ``beam_size = 1`` it is greedy decoding.

``<pad>`` and ``<bos>`` are never produced. Both return attention weights (target step x
source position) when the model has attention, for heat maps. ``model`` may be a
:class:`~rnnlab.models.ensemble.Ensemble`.
"""

from dataclasses import dataclass

import torch

from rnnlab.models.ensemble import EnsembleMemory
from rnnlab.models.seq2seq import Memory, Seq2Seq
from rnnlab.tasks.word_vocabulary import BOS_ID, EOS_ID, PAD_ID


@dataclass(frozen=True)
class Decoded:
    """One decoded sentence: its token ids (without ``<eos>``), its log-probability, the score
    it was chosen by (beam search: length-normalised; greedy: the log-probability) and the
    attention weights (steps, S) or None."""

    tokens: list[int]
    log_prob: float
    score: float
    attention: torch.Tensor | None = None


def _log_probs(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the next token, never ``<pad>`` or ``<bos>``."""
    logits = logits.clone()
    logits[:, [PAD_ID, BOS_ID]] = float("-inf")
    return torch.log_softmax(logits, dim=-1)


def _check(x: torch.Tensor, max_length: int) -> None:
    if x.dim() != 2 or x.is_floating_point():
        raise ValueError(f"x must be source token ids (B, S); got {x.dtype} {tuple(x.shape)}")
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1; got {max_length}")


@torch.no_grad()
def greedy(
    model: Seq2Seq, x: torch.Tensor, lengths: torch.Tensor | None, max_length: int
) -> list[Decoded]:
    """The greedy translation of every source sentence in the batch x (B, S)."""
    _check(x, max_length)
    model.eval()
    memory = model.encode(x, lengths)
    B = x.shape[0]
    tokens = torch.full((B,), BOS_ID, dtype=torch.long, device=x.device)
    state, done = memory.state, torch.zeros(B, dtype=torch.bool, device=x.device)
    chosen, log_probs, weights = [], torch.zeros(B, dtype=torch.float64), []
    lengths_out = torch.full((B,), max_length, dtype=torch.long)
    for t in range(max_length):
        logits, state, w = model.step(tokens, state, memory)
        step_log_probs = _log_probs(logits)
        tokens = step_log_probs.argmax(-1)
        log_probs += torch.where(done, 0.0, step_log_probs.gather(1, tokens[:, None])[:, 0]).cpu()
        chosen.append(tokens)
        if w is not None:
            weights.append(w)
        ended = (tokens == EOS_ID) & ~done
        lengths_out[ended.cpu()] = t + 1
        done |= ended
        if bool(done.all()):
            break
    chosen = torch.stack(chosen, 1).cpu()
    attention = torch.stack(weights, 1).cpu() if weights else None  # (B, steps, S)
    results = []
    for b in range(B):
        n = int(lengths_out[b])
        ids = [int(k) for k in chosen[b, :n] if int(k) != EOS_ID]
        results.append(
            Decoded(
                ids,
                float(log_probs[b]),
                float(log_probs[b]),
                None if attention is None else attention[b, :n],
            )
        )
    return results


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    x: torch.Tensor,
    beam_size: int,
    max_length: int,
    alpha: float = 0.75,
) -> Decoded:
    """The best translation of one source sentence x (1, S) found by beam search."""
    _check(x, max_length)
    if x.shape[0] != 1:
        raise ValueError(f"beam_search translates one sentence, x (1, S); got {tuple(x.shape)}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1; got {beam_size}")
    model.eval()
    memory = model.encode(x)
    # Live hypotheses: their tokens, summed log-probabilities, attention rows; one batch row each.
    live_tokens: list[list[int]] = [[]]
    live_scores = torch.zeros(1, dtype=torch.float64)
    live_attention: list[list[torch.Tensor]] = [[]]
    state, finished = memory.state, []

    def normalised(log_prob: float, length: int) -> float:
        return log_prob / length**alpha

    for t in range(max_length):
        K = len(live_tokens)
        previous = torch.tensor(
            [tokens[-1] if tokens else BOS_ID for tokens in live_tokens], device=x.device
        )
        logits, state, weights = model.step(previous, state, _expand(memory, K))
        totals = live_scores[:, None] + _log_probs(logits).double().cpu()  # (K, V)
        flat = totals.flatten()
        best = torch.topk(flat, min(2 * beam_size, int(torch.isfinite(flat).sum()))).indices
        keep_rows, keep_tokens, keep_scores = [], [], []
        for index in best.tolist():
            row, token = divmod(index, totals.shape[1])
            attention = live_attention[row] + ([weights[row].cpu()] if weights is not None else [])
            if token == EOS_ID:
                finished.append((normalised(float(flat[index]), t + 1), float(flat[index]),
                                 live_tokens[row], attention))  # fmt: skip
            elif len(keep_rows) < beam_size:
                keep_rows.append(row)
                keep_tokens.append((live_tokens[row] + [token], attention))
                keep_scores.append(flat[index])
            if len(keep_rows) == beam_size and len(finished) >= beam_size:
                break
        if len(finished) >= beam_size or not keep_rows:
            break
        rows = torch.tensor(keep_rows, device=x.device)
        state = _select_state(state, rows)
        live_tokens = [tokens for tokens, _ in keep_tokens]
        live_attention = [attention for _, attention in keep_tokens]
        live_scores = torch.stack(keep_scores)
    else:  # max_length reached: the unfinished hypotheses compete too
        for k, tokens in enumerate(live_tokens):
            score = float(live_scores[k])
            finished.append((normalised(score, len(tokens)), score, tokens, live_attention[k]))
    score, log_prob, tokens, attention = max(finished, key=lambda item: item[0])
    return Decoded(tokens, log_prob, score, torch.stack(attention) if attention else None)


def _expand(memory, K: int):
    """The memory of one sentence repeated for K hypotheses (of each model of an ensemble)."""
    if isinstance(memory, EnsembleMemory):
        return EnsembleMemory([_expand(m, K) for m in memory.memories], memory.state)
    if memory.outputs.shape[0] == K:
        return memory
    return Memory(
        memory.outputs.expand(K, -1, -1),
        None if memory.prepared is None else memory.prepared.expand(K, -1, -1),
        memory.mask.expand(K, -1),
        memory.context.expand(K, -1),
        memory.state,
    )


def _select_state(state, rows: torch.Tensor):
    """The decoder state of the hypotheses ``rows`` (the batch is dimension 1)."""
    if isinstance(state, list):  # an ensemble: one state per model
        return [_select_state(part, rows) for part in state]
    if isinstance(state, torch.Tensor):
        return state[:, rows]
    return type(state)(*(part[:, rows] for part in state))
