"""Simulation 1, temporal XOR (Elman 1990, pp. 185-187, Fig. 3; spec section 1.1)."""

from pathlib import Path

import numpy as np
import torch

from rnnlab.analysis.folding import fold
from rnnlab.experiments.elman1990.common import (
    Check,
    Outcome,
    faithful_network,
    run_stream,
    sigmoid,
    train_faithful,
    train_modern,
)
from rnnlab.tasks.temporal_xor import xor_stream


def simulate(mode: str, seed: int, quick: bool, out: Path) -> Outcome:
    generator = torch.Generator().manual_seed(seed)
    train, test = xor_stream(1000, generator), xor_stream(1000, generator)  # 3,000 bits each
    if mode == "faithful":
        network = faithful_network(1, 2, 1, seed)
        train_faithful(network, train[:-1, None], train[1:, None], passes=600)  # 0.6 s
    else:
        network = train_modern(
            out, {"kind": "elman", "hidden_size": 2, "nonlinearity": "tanh"},
            {"name": "temporal_xor", "seed": seed, "loss": "bce"},
            {"lr": 0.05, "batch_size": 8, "chunk_length": 30, "max_steps": 300 if quick else 1500,
             "seed": seed},
        )  # fmt: skip
    outputs, _ = run_stream(network, test[:-1, None])
    error = (sigmoid(outputs[:, 0]) - test[1:].numpy()) ** 2  # squared error, input t -> t + 1
    by_phase = fold(error, 3, offset=1)  # phase of the target; phase 2 is the XOR bit
    cycle = fold(error, 12, offset=1)
    xor_minimum = sum(int(np.argmin(cycle[k : k + 3]) == 2) for k in range(0, 12, 3))
    random_phases = min(by_phase[0], by_phase[1])
    checks = [
        Check("XOR-bit error / other bits' error", float(by_phase[2] / max(by_phase[:2])),
              "0.55 (0.17 vs 0.31)", "<= 0.7 against each unpredictable phase",
              bool(by_phase[2] <= 0.7 * random_phases)),
        Check("unpredictable phases' squared error (lower)", float(random_phases),
              "0.28-0.34", ">= 0.24 (they cannot beat chance)", bool(random_phases >= 0.24)),
        Check("3-cycles of the 12-fold whose minimum is the XOR bit", float(xor_minimum),
              "4 of 4", ">= 3 of 4", xor_minimum >= 3),
    ]  # fmt: skip
    metrics = {"xor_bit_error": float(by_phase[2]), "phase_0_error": float(by_phase[0]),
               "phase_1_error": float(by_phase[1])}  # fmt: skip
    return Outcome(checks, metrics, {"cycle": cycle.tolist()})
