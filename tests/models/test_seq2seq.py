"""Encoder-decoder, attention and decoding, checked against direct computations: the parallel
teacher-forced decoder against the step loop, attention against its formula element by
element, beam search against exhaustive enumeration."""

import itertools
import math

import pytest
import torch

from rnnlab.models.attention import AdditiveAttention, DotAttention
from rnnlab.models.config import GRUConfig, JordanConfig, LSTMConfig, build_model
from rnnlab.models.decoding import beam_search, greedy
from rnnlab.tasks.word_vocabulary import BOS_ID, EOS_ID, PAD_ID

SRC_V, TGT_V = 9, 7


def model(kind="gru", attention="additive", bidirectional=True, num_layers=1, seed=0, **extra):
    configs = {"gru": GRUConfig, "lstm": LSTMConfig, "jordan": JordanConfig}
    if kind == "jordan":
        extra.setdefault("output_size", 5)
    config = configs[kind](
        kind=kind, hidden_size=6, embedding_dim=4, attention=attention,
        bidirectional=bidirectional, num_layers=num_layers, **extra,
    )  # fmt: skip
    torch.manual_seed(seed)
    network = build_model(config, SRC_V, TGT_V, inputs="tokens", targets="sequence").double()
    return network.eval()


def batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(4, SRC_V, (3, 5), generator=generator)
    lengths = torch.tensor([5, 3, 2])
    x[1, 3:] = PAD_ID
    x[2, 2:] = PAD_ID
    y = torch.randint(4, TGT_V, (3, 4), generator=generator)
    return x, lengths, y


@pytest.mark.parametrize("attention_type", ["additive", "dot"])
@torch.no_grad()
def test_attention_matches_its_formula_element_by_element(attention_type):
    torch.manual_seed(0)
    Q, K, S = 3, 4, 5
    attention = (
        AdditiveAttention(Q, K, 6) if attention_type == "additive" else DotAttention(Q, K)
    ).double()
    query, keys = torch.randn(2, Q, dtype=torch.float64), torch.randn(2, S, K, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    context, weights = attention(query, keys, attention.prepare(keys), mask)
    for b in range(2):
        scores = []
        for s in range(S):
            if attention_type == "additive":
                hidden = torch.tanh(
                    attention.query_projection.weight @ query[b]
                    + attention.key_projection.weight @ keys[b, s]
                )
                scores.append(float(attention.score.weight[0] @ hidden))
            else:
                key = attention.key_projection.weight @ keys[b, s]
                scores.append(float(query[b] @ key) / math.sqrt(Q))
        valid = [s for s in range(S) if mask[b, s]]
        total = sum(math.exp(scores[s]) for s in valid)
        expected = [math.exp(scores[s]) / total if s in valid else 0.0 for s in range(S)]
        assert weights[b].tolist() == pytest.approx(expected, abs=1e-12)
        assert torch.allclose(context[b], sum(expected[s] * keys[b, s] for s in range(S)))
    assert (weights[1, 2:] == 0).all()


@pytest.mark.parametrize("kind", ["gru", "lstm", "jordan"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_parallel_teacher_forcing_equals_the_step_loop_in_values_and_gradients(kind, bidirectional):
    network = model(kind, attention="none", bidirectional=bidirectional, num_layers=2)
    x, lengths, y = batch()
    previous = torch.cat([torch.full_like(y[:, :1], BOS_ID), y[:, :-1]], 1)

    def gradients(route):
        network.zero_grad()
        memory = network.encode(x, lengths)
        logits = route(memory)
        (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum().backward()
        return logits.detach(), [p.grad.clone() for p in network.parameters()]

    fast, fast_grads = gradients(lambda m: network._forward_parallel(previous, m))
    slow, slow_grads = gradients(lambda m: network._forward_steps(previous, m, 1.0))
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-12)
    for a, b in zip(fast_grads, slow_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_padding_the_source_changes_nothing(attention):
    network = model(attention=attention)
    x, lengths, y = batch()
    logits, _ = network(x, lengths=lengths, targets=y)
    padded = torch.cat([x, torch.zeros(3, 4, dtype=torch.long)], 1)
    logits_padded, _ = network(padded, lengths=lengths, targets=y)
    torch.testing.assert_close(logits, logits_padded, rtol=0, atol=1e-12)
    alone, _ = network(x[1:2, :3], targets=y[1:2])
    torch.testing.assert_close(logits[1:2], alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("attention", ["none", "additive"])
def test_a_step_reads_only_earlier_target_tokens(attention):
    network = model(attention=attention)
    x, lengths, y = batch()
    logits, _ = network(x, lengths=lengths, targets=y)
    changed = y.clone()
    changed[:, 2:] = (changed[:, 2:] + 1 - 4) % (TGT_V - 4) + 4
    logits_changed, _ = network(x, lengths=lengths, targets=changed)
    torch.testing.assert_close(logits[:, :3], logits_changed[:, :3], rtol=0, atol=1e-12)
    assert not torch.allclose(logits[:, 3], logits_changed[:, 3])


@torch.no_grad()
def test_scheduled_sampling_feeds_the_models_own_tokens():
    network = model(attention="additive")
    x, lengths, y = batch()
    forced, _ = network(x, lengths=lengths, targets=y, teacher_forcing=1.0)
    torch.manual_seed(1)
    free, _ = network(x, lengths=lengths, targets=y, teacher_forcing=0.0)
    torch.testing.assert_close(forced[:, 0], free[:, 0])  # the first step reads <bos> either way
    # With no teacher forcing the inputs are the argmax of the previous step: redo by hand.
    memory = network.encode(x, lengths)
    state, tokens = memory.state, torch.full((3,), BOS_ID)
    for t in range(y.shape[1]):
        logits_t, state, _ = network.step(tokens, state, memory)
        torch.testing.assert_close(free[:, t], logits_t)
        tokens = logits_t.argmax(-1)


def test_greedy_of_a_batch_equals_greedy_of_each_sentence():
    network = model()
    x, lengths, _ = batch()
    together = greedy(network, x, lengths, max_length=6)
    for b in range(3):
        alone = greedy(network, x[b : b + 1, : int(lengths[b])], None, max_length=6)[0]
        assert together[b].tokens == alone.tokens
        assert together[b].log_prob == pytest.approx(alone.log_prob, abs=1e-9)


def test_beam_of_width_one_is_greedy():
    network = model()
    x, lengths, _ = batch()
    for b in range(3):
        source = x[b : b + 1, : int(lengths[b])]
        assert (
            beam_search(network, source, 1, 6, alpha=0.0).tokens
            == greedy(network, source, None, 6)[0].tokens
        )


@torch.no_grad()
def _score_of(network, source, tokens, ended: bool) -> float:
    """log P of ``tokens`` (then <eos> if ``ended``) under the model, step by step."""
    memory = network.encode(source)
    state, previous, total = memory.state, torch.tensor([BOS_ID]), 0.0
    for token in [*tokens, EOS_ID] if ended else tokens:
        logits, state, _ = network.step(previous, state, memory)
        logits[:, [PAD_ID, BOS_ID]] = float("-inf")
        total += float(torch.log_softmax(logits, -1)[0, token])
        previous = torch.tensor([token])
    return total


@pytest.mark.parametrize("alpha", [0.0, 0.75])
def test_a_wide_beam_finds_the_best_sequence_of_an_exhaustive_search(alpha):
    network = model(seed=3)
    source = batch()[0][:1]
    max_length = 3
    words = [k for k in range(TGT_V) if k not in (PAD_ID, BOS_ID, EOS_ID)]
    best = None
    for n in range(max_length):  # ended with <eos> within max_length tokens
        for tokens in itertools.product(words, repeat=n):
            score = _score_of(network, source, tokens, True) / (n + 1) ** alpha
            best = max(best or (score, ()), (score, tokens))
    for tokens in itertools.product(words, repeat=max_length):  # cut off at max_length
        score = _score_of(network, source, tokens, False) / max_length**alpha
        best = max(best, (score, tokens))
    found = beam_search(network, source, beam_size=500, max_length=max_length, alpha=alpha)
    assert tuple(found.tokens) == best[1]
    assert found.score == pytest.approx(best[0], abs=1e-9)
    narrow = beam_search(network, source, beam_size=2, max_length=max_length, alpha=alpha)
    assert narrow.score <= found.score + 1e-12


def test_attention_weights_come_back_with_the_translation():
    network = model(attention="dot")
    x, lengths, _ = batch()
    found = beam_search(network, x[:1], beam_size=3, max_length=4)
    assert found.attention.shape == (len(found.tokens) + 1 if len(found.tokens) < 4 else 4, 5)
    torch.testing.assert_close(found.attention.sum(-1), torch.ones(len(found.attention)).double())
    assert greedy(model(attention="none"), x, lengths, 4)[0].attention is None


def test_mistakes_are_clear_errors():
    network = model()
    x, lengths, _ = batch()
    with pytest.raises(ValueError, match="reads the targets"):
        network(x, lengths=lengths)
    with pytest.raises(ValueError, match="token ids"):
        network.encode(x.double())
    with pytest.raises(ValueError, match="one sentence"):
        beam_search(network, x, 2, 5)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(network, x[:1], 0, 5)


@torch.no_grad()
def test_an_ensemble_averages_the_models_next_token_distributions():
    from rnnlab.models.ensemble import Ensemble

    first, second = model(seed=0), model(seed=1)
    x, lengths, y = batch()
    ensemble = Ensemble.from_members([first, second]).combined()
    log_mean, _ = ensemble(x, lengths=lengths, targets=y)
    p = (torch.softmax(first(x, lengths=lengths, targets=y)[0], -1)
         + torch.softmax(second(x, lengths=lengths, targets=y)[0], -1)) / 2  # fmt: skip
    torch.testing.assert_close(log_mean, p.log())
    # Decoding with the ensemble follows the averaged distribution step by step.
    found = greedy(ensemble, x, lengths, 4)
    memory = ensemble.encode(x, lengths)
    logits, _, weights = ensemble.step(torch.full((3,), BOS_ID), memory.state, memory)
    torch.testing.assert_close(logits.exp().sum(-1), torch.ones(3).double())
    logits[:, [PAD_ID, BOS_ID]] = float("-inf")
    assert [t.tokens[0] if t.tokens else EOS_ID for t in found] == logits.argmax(-1).tolist()
    first_memory = first.encode(x, lengths)
    first_weights = first.step(torch.full((3,), BOS_ID), first_memory.state, first_memory)[2]
    assert weights.shape == (3, 5) and not torch.equal(weights, first_weights)  # both attend
    alone = Ensemble.from_members([first]).combined()
    assert beam_search(alone, x[:1], 3, 5).tokens == beam_search(first, x[:1], 3, 5).tokens
