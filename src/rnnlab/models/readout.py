"""A trainable network: one recurrent layer (stacked, directions) and a linear readout.

:func:`rnnlab.models.config.build_model` builds one from a ``[model]`` config.
"""

import torch
from torch import nn

from rnnlab.layers import LSTMState, RecurrentLayer
from rnnlab.losses import Loss, predictions_from_outputs


class Network(nn.Module):
    """A recurrent layer followed by a linear readout at every step, or of the final state.

    ``network(x, state, lengths)`` maps x (B, T, I) to raw outputs (B, T, O) (logits, or values
    before the output activation that the task's loss implies) and the layer's final state.

    Options for token inputs and whole-sequence targets:

    - ``vocab_size``: x is (B, T) integer token ids, fed to the layer as one-hot vectors, or
      through a learned embedding of ``embedding_dim`` dimensions when that is given.
    - ``per_sequence``: one output per sequence, (B, O), read from the last layer's final state
      (both directions: the forward one after each sequence's last valid step, the reverse one
      after its first), so padding never reaches the output.
    - ``output_dropout``: dropout on what the readout reads.
    - ``highway``: add to every output a learned linear function of the last ``highway``
      inputs (zeros before the first), the autoregressive component of LSTNet (Lai et al.
      2018, "Modeling long- and short-term temporal patterns with deep neural networks"). The
      recurrent part then models what a linear autoregression misses; forecasters use it
      because a network's output is insensitive to the scale of its input.
    """

    needs_targets = False  # an encoder-decoder reads the targets too (rnnlab.models.seq2seq)

    def __init__(
        self,
        layer: RecurrentLayer,
        output_size: int,
        *,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        per_sequence: bool = False,
        output_dropout: float = 0.0,
        highway: int | None = None,
    ) -> None:
        super().__init__()
        device = layer.weight_ih_l0.device
        if embedding_dim is not None and vocab_size is None:
            raise ValueError("embedding_dim needs token inputs (a vocab_size)")
        self.vocab_size = vocab_size
        self.per_sequence = per_sequence
        if embedding_dim is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, device=device)
        self.layer = layer
        self.dropout = nn.Dropout(output_dropout)
        features = layer.num_directions * layer.output_size_per_direction
        self.readout = nn.Linear(features, output_size, device=device)
        self.highway = None
        if highway is not None:
            if vocab_size is not None or per_sequence:
                raise ValueError("highway adds a linear map of vector inputs to every output")
            self.highway = nn.Conv1d(layer.input_size, output_size, highway, device=device)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's input: x itself, or token ids (B, T) embedded or one-hot."""
        if self.vocab_size is None:
            return x
        if x.is_floating_point() or x.dim() != 2:
            raise ValueError(
                f"this network reads token ids: an integer tensor (B, T); "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        if hasattr(self, "embedding"):
            return self.embedding(x)
        return nn.functional.one_hot(x, self.vocab_size).to(self.layer.weight_ih_l0.dtype)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        hidden, state = self.layer(self.encode(x), state, lengths)  # (B, T, D*H)
        if self.per_sequence:
            h = state.h if isinstance(state, LSTMState) else state  # (L*D, B, H)
            D = self.layer.num_directions
            hidden = h[-D:].transpose(0, 1).reshape(h.shape[1], -1)  # (B, D*H)
        outputs = self.readout(self.dropout(hidden))
        if self.highway is not None:
            k = self.highway.kernel_size[0]
            past = nn.functional.pad(x.transpose(1, 2), (k - 1, 0))  # (B, I, k - 1 + T)
            outputs = outputs + self.highway(past).transpose(1, 2)  # (B, T, O)
        return outputs, state

    def forward_scheduled(
        self, x: torch.Tensor, state, teacher_forcing: float, loss: Loss
    ) -> tuple[torch.Tensor, object]:
        """Scheduled sampling (Bengio et al. 2015) for next-step prediction.

        At each step after the first, the input is the true ``x_t`` with probability
        ``teacher_forcing`` and otherwise the network's own prediction of it from the step
        before (probabilities, or a one-hot of the most likely class). Uses the global torch
        random generator, so a seeded run repeats exactly.
        """
        outputs = []
        x_t = x[:, :1]  # (B, 1, I), or (B, 1) token ids
        for t in range(x.shape[1]):
            output_t, state = self(x_t, state)  # (B, 1, O)
            outputs.append(output_t)
            if t + 1 == x.shape[1]:
                break
            prediction = predictions_from_outputs(output_t, loss).detach()
            if self.vocab_size is not None:
                prediction = prediction.argmax(-1)  # (B, 1) token ids
            elif loss == "cross_entropy":
                prediction = nn.functional.one_hot(prediction.argmax(-1), x.shape[-1]).to(x.dtype)
            use_truth = torch.rand(x.shape[0], 1, 1) < teacher_forcing  # (B, 1, 1)
            if x.dim() == 2:
                use_truth = use_truth[..., 0]  # (B, 1), as token ids
            x_t = torch.where(use_truth.to(x.device), x[:, t + 1 : t + 2], prediction)
        return torch.cat(outputs, dim=1), state


def least_squares_highway(network: Network, split, steps: int, gaussian: bool) -> None:
    """Start a forecaster with ``highway`` from the best linear forecaster of the training
    windows ``split`` (targets of ``steps`` values, then their log-variances if ``gaussian``),
    so that the network begins as a direct autoregression and its recurrent part learns what
    the linear part misses (the hybrid of Zhang 2003, "Time series forecasting using a hybrid
    ARIMA and neural network model", learnt jointly). The highway's mean outputs get the
    least-squares fit of the targets on the last k inputs, its log-variance outputs the log of
    the fit's residual variance per horizon step, and the recurrent readout starts at zero."""
    highway = network.highway
    k = highway.kernel_size[0]
    x = torch.nn.functional.pad(split.x.double().transpose(1, 2), (k - 1, 0))  # (N, F, k-1+W)
    lags = x.unfold(2, k, 1)  # (N, F, W, k): the k inputs up to each step
    rows = lags.permute(0, 2, 1, 3).reshape(*split.mask.shape, -1)[split.mask]  # (R, F k)
    design = torch.cat([rows, torch.ones(len(rows), 1, dtype=rows.dtype)], 1)
    targets = split.y.double()[split.mask]  # (R, steps)
    solution = torch.linalg.lstsq(design, targets).solution  # (F k + 1, steps)
    residual = targets - design @ solution
    with torch.no_grad():
        weight = solution[:-1].T.reshape(steps, -1, k)  # (steps, F, k)
        highway.weight.zero_()
        highway.bias.zero_()
        highway.weight[:steps] = weight.to(highway.weight.dtype)
        highway.bias[:steps] = solution[-1].to(highway.bias.dtype)
        if gaussian:
            highway.bias[steps:] = residual.var(0).log().to(highway.bias.dtype)
        network.readout.weight.zero_()
        network.readout.bias.zero_()
