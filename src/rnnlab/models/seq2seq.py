"""Encoder-decoder (sequence to sequence) networks, with or without attention.

The encoder, any rnnlab layer (stacked, optionally bidirectional), reads the embedded source
sentence (token ids ending in ``<eos>``, padded, with ``lengths``). The decoder, a layer of the
same kind and size in one direction, writes the target one token at a time, starting from
``<bos>``; at step t it reads the embedding of the previous token and a *context* vector, and
a linear readout of its output and the context gives the logits of the next token:

- ``attention = "none"`` (Sutskever et al. 2014; Cho et al. 2014; d2l's ``Seq2SeqDecoder``):
  the context is the encoder's final top-layer state, the same at every step;
- ``"additive"`` or ``"dot"`` (Bahdanau et al. 2015; Luong et al. 2015): the context is the
  attention-weighted sum of the encoder's outputs, queried by the decoder's top-layer state
  before the step (see :mod:`rnnlab.models.attention`).

The decoder starts from the encoder's final state; a bidirectional encoder's two directions
are joined per layer by a learned *bridge*, ``tanh(W [forward; reverse])`` (no tanh on an
LSTM's cell state).

Training is teacher-forced: the decoder reads the true previous token, or, with
``teacher_forcing < 1`` (scheduled sampling, Bengio et al. 2015), its own most likely token
with probability ``1 - teacher_forcing`` at each step. Without attention and with full teacher
forcing, the decoder runs over the whole target in one call of its layer; every other case
steps through time with :meth:`Seq2Seq.step`, the same step that decoding uses. Both routes
give the same values and gradients (tested).
"""

from typing import NamedTuple

import torch
from torch import nn

from rnnlab.layers import RecurrentLayer, state_from_tensors, state_tensors
from rnnlab.models.attention import AdditiveAttention, DotAttention
from rnnlab.tasks.word_vocabulary import BOS_ID

ATTENTION = ("none", "additive", "dot")


class Memory(NamedTuple):
    """What the decoder reads of an encoded batch of source sentences."""

    outputs: torch.Tensor  # (B, S, C) the encoder's top-layer outputs, both directions
    prepared: torch.Tensor | None  # (B, S, A) the keys' half of the attention scores
    mask: torch.Tensor  # (B, S) True at valid source positions
    context: torch.Tensor  # (B, C) the final top-layer state (the context without attention)
    state: object  # the decoder's initial state


class Seq2Seq(nn.Module):
    """An encoder-decoder; see the module docstring.

    ``model(x, lengths=lengths, targets=y)`` maps source ids x (B, S) and target ids y (B, T)
    (each ending in ``<eos>``, padded) to the logits (B, T, V) of every target token given the
    tokens before it, and ``None`` for the state (sentences are independent).
    """

    needs_targets = True  # the trainer passes the targets: the decoder reads them

    def __init__(
        self,
        encoder: RecurrentLayer,
        decoder: RecurrentLayer,
        source_vocab_size: int,
        target_vocab_size: int,
        embedding_dim: int,
        *,
        attention: str = "none",
        dropout: float = 0.0,
        output_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION)}; got {attention!r}")
        if decoder.bidirectional:
            raise ValueError("the decoder writes left to right: it cannot be bidirectional")
        self.attention_kind = attention
        self.source_embedding = nn.Embedding(source_vocab_size, embedding_dim)
        self.target_embedding = nn.Embedding(target_vocab_size, embedding_dim)
        self.embedding_dropout = nn.Dropout(dropout)
        self.encoder = encoder
        self.decoder = decoder
        D = encoder.num_directions
        context_size = D * encoder.output_size_per_direction
        if decoder.input_size != embedding_dim + context_size:
            raise ValueError(
                f"the decoder reads the embedding and the context: input_size must be "
                f"{embedding_dim} + {context_size}; got {decoder.input_size}"
            )
        encoder_sizes = [p.shape[-1] for p in state_tensors(encoder.initial_state(1))]
        decoder_sizes = [p.shape[-1] for p in state_tensors(decoder.initial_state(1))]
        if encoder_sizes != decoder_sizes or encoder.num_layers != decoder.num_layers:
            raise ValueError("the encoder and decoder need the same state sizes and layers")
        self.bridges = nn.ModuleList(
            nn.Linear(2 * size, size) for size in (encoder_sizes if D == 2 else [])
        )
        query_size = decoder_sizes[0]
        if attention == "additive":
            self.attention = AdditiveAttention(query_size, context_size, query_size)
        elif attention == "dot":
            self.attention = DotAttention(query_size, context_size)
        self.output_dropout = nn.Dropout(output_dropout)
        self.readout = nn.Linear(
            decoder.output_size_per_direction + context_size, target_vocab_size
        )

    # -- encoder ----------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> Memory:
        """Encode source ids x (B, S) with ``lengths`` (B,) (None: every sentence fills S)."""
        if x.is_floating_point() or x.dim() != 2:
            raise ValueError(
                f"the encoder reads token ids: an integer tensor (B, S); "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        B, S = x.shape
        if lengths is None:
            lengths = torch.full((B,), S, dtype=torch.long)
        embedded = self.embedding_dropout(self.source_embedding(x))
        outputs, state = self.encoder(embedded, None, lengths)  # (B, S, C)
        parts = state_tensors(state)  # each (L*D, B, size)
        D, L = self.encoder.num_directions, self.encoder.num_layers
        top = parts[0][-D:]  # (D, B, size)
        context = top.transpose(0, 1).reshape(B, -1)  # (B, D*size)
        if D == 2:
            joined = []
            for k, (part, bridge) in enumerate(zip(parts, self.bridges)):
                pairs = part.reshape(L, 2, B, -1).permute(0, 2, 1, 3).reshape(L, B, -1)
                joined.append(torch.tanh(bridge(pairs)) if k == 0 else bridge(pairs))
            parts = tuple(joined)
        mask = torch.arange(S, device=x.device)[None] < lengths.to(x.device)[:, None]
        prepared = self.attention.prepare(outputs) if self.attention_kind != "none" else None
        return Memory(outputs, prepared, mask, context, state_from_tensors(parts))

    # -- decoder ----------------------------------------------------------------------------

    def step(self, tokens: torch.Tensor, state, memory: Memory):
        """One decoder step: the previous tokens (B,) and the state before the step; returns
        the logits (B, V) of the next token, the new state and the attention weights (B, S)
        (None without attention)."""
        features, state, weights = self._step_features(tokens, state, memory)
        return self.readout(self.output_dropout(features)), state, weights

    def _step_features(self, tokens: torch.Tensor, state, memory: Memory):
        """A decoder step up to what the readout reads: [output; context] (B, H + C)."""
        weights = None
        if self.attention_kind == "none":
            context = memory.context
        else:
            query = state_tensors(state)[0][-1]  # the top layer's state (B, Q)
            context, weights = self.attention(query, memory.outputs, memory.prepared, memory.mask)
        embedded = self.embedding_dropout(self.target_embedding(tokens))
        output, state = self.decoder(torch.cat([embedded, context], -1)[:, None], state)
        return torch.cat([output[:, 0], context], -1), state, weights

    def forward(
        self,
        x: torch.Tensor,
        state=None,
        lengths: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        teacher_forcing: float = 1.0,
    ):
        if targets is None:
            raise ValueError("a seq2seq model reads the targets (teacher forcing): pass targets")
        if state is not None:
            raise ValueError("sentences are independent: a seq2seq model takes no state")
        memory = self.encode(x, lengths)
        bos = torch.full_like(targets[:, :1], BOS_ID)
        previous = torch.cat([bos, targets[:, :-1]], dim=1)  # (B, T): what each step reads
        if self.attention_kind == "none" and teacher_forcing >= 1:
            return self._forward_parallel(previous, memory), None
        return self._forward_steps(previous, memory, teacher_forcing), None

    def _forward_parallel(self, previous: torch.Tensor, memory: Memory) -> torch.Tensor:
        """Teacher forcing without attention: the decoder layer runs over every step at once."""
        T = previous.shape[1]
        context = memory.context[:, None].expand(-1, T, -1)  # (B, T, C)
        embedded = self.embedding_dropout(self.target_embedding(previous))
        outputs, _ = self.decoder(torch.cat([embedded, context], -1), memory.state)
        return self.readout(self.output_dropout(torch.cat([outputs, context], -1)))

    def _forward_steps(self, previous, memory: Memory, teacher_forcing: float) -> torch.Tensor:
        """Step by step; with ``teacher_forcing < 1`` each step reads, with that probability,
        the true previous token, and otherwise the model's own most likely one (drawn from the
        global torch generator, so a seeded run repeats)."""
        if teacher_forcing >= 1:  # every input known: one readout of all steps, a large GEMM
            state, features = memory.state, []
            for t in range(previous.shape[1]):
                features_t, state, _ = self._step_features(previous[:, t], state, memory)
                features.append(features_t)
            return self.readout(self.output_dropout(torch.stack(features, dim=1)))
        state, logits = memory.state, []
        tokens = previous[:, 0]
        for t in range(previous.shape[1]):
            logits_t, state, _ = self.step(tokens, state, memory)
            logits.append(logits_t)
            if t + 1 < previous.shape[1]:
                own = logits_t.detach().argmax(-1)
                truth = torch.rand(tokens.shape, device=tokens.device) < teacher_forcing
                tokens = torch.where(truth, previous[:, t + 1], own)
        return torch.stack(logits, dim=1)
