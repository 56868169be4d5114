"""Simulation 2, letter sequences (Elman 1990, pp. 187-191, Figs. 4-5; spec section 1.2)."""

from pathlib import Path

import numpy as np
import torch

from rnnlab.analysis.pca import pca
from rnnlab.experiments.elman1990.common import (
    Check,
    Outcome,
    faithful_network,
    run_stream,
    sigmoid,
    train_faithful,
    train_modern,
)
from rnnlab.tasks.letter_sequences import encode, letter_stream


def simulate(mode: str, seed: int, quick: bool, out: Path) -> Outcome:
    generator = torch.Generator().manual_seed(seed)
    train_letters, test_letters = letter_stream(1000, generator), letter_stream(1000, generator)
    train, test = encode(train_letters), encode(test_letters)
    if mode == "faithful":
        network = faithful_network(6, 20, 6, seed)
        train_faithful(network, train[:-1], train[1:], passes=50 if quick else 200)
    else:
        network = train_modern(
            out, {"kind": "elman", "hidden_size": 20, "nonlinearity": "tanh"},
            {"name": "letters", "seed": seed, "loss": "bce"},
            {"lr": 0.01, "batch_size": 8, "chunk_length": 20, "max_steps": 300 if quick else 1500,
             "seed": seed},
        )  # fmt: skip
    outputs, hidden = run_stream(network, test[:-1])
    predictions = sigmoid(outputs)
    targets = test[1:].numpy()
    error = np.linalg.norm(predictions - targets, axis=1)  # Euclidean error (Fig. 4)
    bit_error = np.abs(predictions - targets)  # per feature (Fig. 5)
    target_letters = test_letters[1:]
    consonant = np.array([letter in "bdg" for letter in target_letters])
    vowel_error, consonant_error = float(error[~consonant].mean()), float(error[consonant].mean())
    consonant_bit = float(bit_error[consonant, 0].mean())
    high_bit = float(bit_error[consonant, 3].mean())
    vowel_bit = float(bit_error[consonant, 1].mean())
    checks = [
        Check("Euclidean error at vowel targets", vowel_error, "0.05-0.20", "<= 0.30",
              vowel_error <= 0.30),
        Check("Euclidean error at consonant targets", consonant_error, "0.44-0.77",
              ">= 0.40", consonant_error >= 0.40),
        Check("|error| of the Consonant bit at consonants", consonant_bit, "<= 0.15 (Fig. 5a)",
              "<= 0.2", consonant_bit <= 0.2),
        Check("|error| of the High bit at consonants", high_bit, "0.35-0.7 (Fig. 5b)", ">= 0.3",
              high_bit >= 0.3),
        Check("|error| of the Vowel bit at consonants (counts vowels)", vowel_bit, "low",
              "<= 0.2", vowel_bit <= 0.2),
    ]  # fmt: skip
    per_letter = {letter: float(error[[t == letter for t in target_letters]].mean())
                  for letter in "bdgaiu"}  # fmt: skip
    window = slice(0, 30)
    projection, explained = pca(hidden[:300])
    figures = {
        "letters": list(target_letters[window]), "error": error[window].tolist(),
        "consonant_bit": bit_error[window, 0].tolist(), "high_bit": bit_error[window, 3].tolist(),
        "pca": projection[:40].tolist(), "pca_letters": list(test_letters[:40]),
        "explained": explained.tolist(),
    }  # fmt: skip
    metrics = {"vowel_error": vowel_error, "consonant_error": consonant_error,
               **{f"error_{k}": v for k, v in per_letter.items()}}  # fmt: skip
    return Outcome(checks, metrics, figures)
