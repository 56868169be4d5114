"""Does the minGRU learn? The selective-copy task of Feng et al. (2024) (spec §6.3.6), trained
with a stacked rnnlab.MinGRU and a linear readout through rnnlab.train.fit.

The spec's check (our threshold): at length 256 with 16 tokens, a 3-layer minGRU of 64 units
reaches >= 0.95 token accuracy (and one layer stays <= 0.6). This script trains one network
for at most ``--minutes`` (or ``--steps``) and prints the validation and test token accuracy
and the wall-clock time. A network without the official code's MLP blocks and residual
connections: the layer stack alone.

Usage: python bench/selective_copy.py [--layers 3] [--hidden 64] [--seq-len 256]
       [--tokens 16] [--steps 20000] [--minutes 15] [--lr 0.003] [--seed 0]
"""

import argparse
import time

import torch

import rnnlab
from rnnlab.models.readout import Network
from rnnlab.tasks.selective_copy import SelectiveCopy, SelectiveCopyConfig
from rnnlab.train.config import TrainingConfig
from rnnlab.train.trainer import fit
from rnnlab.train.validation import evaluate_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    task = SelectiveCopy(
        SelectiveCopyConfig(seq_len=a.seq_len, num_tokens=a.tokens, num_train=20000,
                            num_val=500, num_test=1000, seed=a.seed)
    )  # fmt: skip
    torch.manual_seed(a.seed)
    network = Network(rnnlab.MinGRU(task.input_size, a.hidden, num_layers=a.layers),
                      task.output_size)  # fmt: skip
    training = TrainingConfig(
        seed=a.seed, lr=a.lr, batch_size=a.batch_size, max_steps=a.steps,
        max_minutes=a.minutes, eval_every=250, clip_grad_norm=1.0,
        early_stopping_metric="val_loss",
    )  # fmt: skip
    start = time.perf_counter()
    result = fit(network, task, training)
    elapsed = time.perf_counter() - start
    test = evaluate_split(result.network, task, task.splits()["test"])
    for record in result.history:
        if "val_token_accuracy" in record:
            print(
                f"step {record['step']:6d}  val token accuracy {record['val_token_accuracy']:.3f}"
            )
    print(f"{a.layers}-layer MinGRU H={a.hidden}, length {a.seq_len}, {a.tokens} tokens: "
          f"{result.step} steps ({result.reason}) in {elapsed:.0f} s; test token accuracy "
          f"{test['token_accuracy']:.3f}, "
          f"sequence accuracy {test['sequence_accuracy']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
