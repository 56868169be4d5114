"""Simulations 4 and 5: lexical classes from word order, and the novel word zog (Elman 1990,
pp. 194-207, Figs. 7-9; spec sections 1.4-1.5)."""

from pathlib import Path

import numpy as np
import torch

from rnnlab.analysis.clustering import Clustering, mean_vectors, nearest_neighbour_accuracy
from rnnlab.analysis.likelihood import cosines, likelihood_vectors
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
from rnnlab.models.readout import Network
from rnnlab.tasks.lexical_classes import (
    INDEX,
    NOUN_GROUPS,
    NOUNS,
    NOVEL_WORD,
    VERBS,
    VOCABULARY,
    WORDS,
    corpus_indices,
    one_hot,
    sentences,
)

HUMANS = NOUN_GROUPS["humans"]
ANIMATE = set(NOUN_GROUPS["humans"] + NOUN_GROUPS["small animals"] + NOUN_GROUPS["aggressors"])
GROUP_OF = {word: group for group, words in NOUN_GROUPS.items() for word in words}
CLASS_OF = {**{w: "noun" for w in NOUNS}, **{w: "verb" for w in VERBS}}


def train(mode: str, seed: int, quick: bool, out: Path, corpus) -> Network:
    indices = corpus_indices(corpus)
    if mode == "faithful":
        # Calibration run B of the spec: weights U(-0.5, 0.5), biases 0, rate 0.2, 6 passes.
        network = faithful_network(31, 150, 31, seed)
        with torch.no_grad():
            network.layer.bias_ih_l0.zero_(), network.layer.bias_hh_l0.zero_()
            network.readout.bias.zero_()
        x, y = one_hot(indices[:-1]), one_hot(indices[1:])
        train_faithful(network, x, y, passes=3 if quick else 6, lr=0.2)
        return network
    return train_modern(
        out, {"kind": "elman", "hidden_size": 150, "nonlinearity": "tanh"},
        {"name": "lexical_classes", "seed": seed, "num_sentences": len(corpus)},
        {"lr": 0.003, "batch_size": 16, "chunk_length": 10, "max_steps": 500 if quick else 1000,
         "seed": seed},
    )  # fmt: skip


def word_vectors(
    network: Network, indices: torch.Tensor
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Hidden vector at every word of a corpus, frozen; returns the words, the token vectors,
    the raw outputs and the per-word mean vectors (in the order of ``words``)."""
    outputs, hidden = run_stream(network, one_hot(indices))
    tokens = [VOCABULARY[int(k)] for k in indices]
    words, means = mean_vectors(hidden, tokens)
    return tokens, hidden, outputs, dict(zip(words, means))


def noun_checks(vectors: dict[str, np.ndarray], prefix: str = "") -> tuple[list[Check], float]:
    nouns = Clustering.of(NOUNS, np.stack([vectors[w] for w in NOUNS]))
    ari = nouns.ari(6, GROUP_OF)
    groups = nouns.groups(6)
    two = nouns.groups(2)
    two_errors = min(sum(len(g - ANIMATE) + len(ANIMATE - g) for g in [two[0]]),
                     sum(len(g - ANIMATE) + len(ANIMATE - g) for g in [two[1]]))  # fmt: skip
    three = nouns.groups(3)
    inanimate = set(NOUNS) - ANIMATE
    three_ok = inanimate in three
    checks = [
        Check(f"{prefix}noun clusters (6-cut) vs Fig. 7 groups, ARI", ari, "1.0 (Fig. 7)",
              ">= 0.8", ari >= 0.8),
        Check(f"{prefix}animate vs inanimate nouns separate", float(two_errors <= 1 or three_ok),
              "yes", "2-cut exact (<= 1 error) or 3-cut = inanimates + animates split",
              two_errors <= 1 or three_ok),
    ]  # fmt: skip
    for name in ("humans", "food", "breakables"):
        pure = set(NOUN_GROUPS[name]) in groups
        checks.append(Check(f"{prefix}{name} form a cluster of their own (6-cut)", float(pure),
                            "yes", "exactly one cluster", pure))  # fmt: skip
    return checks, ari


def simulate_classes(
    mode: str, seed: int, quick: bool, out: Path, untrained_seed: int
) -> tuple[Outcome, Network]:
    generator = torch.Generator().manual_seed(seed)
    corpus = sentences(10000, generator)
    indices = corpus_indices(corpus)
    network = train(mode, seed, quick, out, corpus)
    tokens, hidden, outputs, vectors = word_vectors(network, indices)

    # (a) outputs against the empirical likelihood vectors of the training corpus
    likelihood = likelihood_vectors(corpus, INDEX, len(VOCABULARY))
    if mode == "faithful":
        predictions = sigmoid(outputs[:-1])  # logistic outputs, compared by direction
    else:
        predictions = torch.softmax(torch.from_numpy(outputs[:-1]), dim=1).numpy()
    cosine = cosines(predictions, likelihood)
    threshold = 0.80 if mode == "faithful" else 0.90
    mean_cosine = float(cosine.mean())
    checks = [Check("mean cosine(output, likelihood vector)", mean_cosine, "0.916 (SD 0.123)",
                    f">= {threshold}", mean_cosine >= threshold)]  # fmt: skip
    # (b) noun structure, (d) against an untrained network's
    noun, ari = noun_checks(vectors)
    checks += noun
    # (c) nouns and verbs
    words = Clustering.of(WORDS, np.stack([vectors[w] for w in WORDS]))
    misplaced = [w for w in WORDS if CLASS_OF[words.nearest(w)] != CLASS_OF[w]]
    silhouette = words.silhouette(CLASS_OF)
    top = words.groups(2)
    top_split = set(NOUNS) in top
    checks += [
        Check("words whose nearest word is of the other class", float(len(misplaced)), "0",
              "<= 2", len(misplaced) <= 2),
        Check("silhouette of nouns vs verbs", silhouette, "", "> 0", silhouette > 0),
        Check("top split of the dendrogram is nouns | verbs (stretch goal)", float(top_split),
              "yes (Fig. 7)", "the 2-cut is exactly nouns and verbs", top_split, required=False),
    ]  # fmt: skip
    if mode == "faithful":
        control = faithful_network(31, 150, 31, untrained_seed)
    else:
        torch.manual_seed(untrained_seed)
        control = Network(type(network.layer)(31, 150, nonlinearity="tanh"), 31)
    _, _, _, control_vectors = word_vectors(control, indices)
    _, control_ari = noun_checks(control_vectors, "untrained: ")
    checks.append(Check("untrained control: noun ARI", control_ari, "(Plate's artefact)",
                        f"<= trained ARI - 0.3 = {ari - 0.3:.2f}",
                        control_ari <= ari - 0.3))  # fmt: skip
    # (e) tokens
    accuracy = nearest_neighbour_accuracy(hidden, tokens, sample=2000, seed=seed)
    checks.append(Check("1-NN word type of single hidden vectors", accuracy,
                        "no token in a wrong branch (p. 204)", ">= 0.95",
                        accuracy >= 0.95))  # fmt: skip
    projection, explained = pca(hidden[:5000])
    figures = {
        "words": list(WORDS), "vectors": np.stack([vectors[w] for w in WORDS]),
        "pca": (projection[:24]).tolist(), "pca_words": tokens[:24],
        "explained": explained.tolist(),
    }  # fmt: skip
    metrics = {"cosine": float(cosine.mean()), "cosine_sd": float(cosine.std()),
               "noun_ari": ari, "control_noun_ari": control_ari, "token_1nn": accuracy,
               "noun_verb_silhouette": silhouette, "corpus_words": float(len(indices))}  # fmt: skip
    return Outcome(checks, metrics, figures), network


def simulate_zog(mode: str, seed: int, network: Network) -> Outcome:
    """Simulation 5: zog replaces man in 10,000 new sentences, presented to the frozen net."""
    generator = torch.Generator().manual_seed(10_000 + seed)
    indices = corpus_indices(sentences(10000, generator), replace={"man": NOVEL_WORD})
    results = {}
    for variant in ("random", "zero"):
        # The reserved input bits are never on in training, so their input weights keep their
        # initial values and nothing else depends on them: zeroing them afterwards is the same
        # as having started them at zero.
        with torch.no_grad():
            saved = network.layer.weight_ih_l0[:, INDEX[NOVEL_WORD]].clone()
            if variant == "zero":
                network.layer.weight_ih_l0[:, INDEX[NOVEL_WORD]] = 0
            _, _, _, vectors = word_vectors(network, indices)
            network.layer.weight_ih_l0[:, INDEX[NOVEL_WORD]] = saved
        others = [w for w in WORDS if w != "man"]
        labels = [*others, NOVEL_WORD]
        table = Clustering.of(labels, np.stack([vectors[w] for w in labels]))
        nearest = table.nearest(NOVEL_WORD)
        centroids = {group: np.mean([vectors[w] for w in words if w in vectors], 0)
                     for group, words in {**NOUN_GROUPS, "verbs": VERBS}.items()}  # fmt: skip
        distances = {
            g: float(np.linalg.norm(vectors[NOVEL_WORD] - c)) for g, c in centroids.items()
        }
        noun_distance = min(d for g, d in distances.items() if g != "verbs")
        results[variant] = (nearest, distances, noun_distance)
        if variant == "random":
            figure_vectors = np.stack([vectors[w] for w in labels])
    checks = []
    for variant, (nearest, distances, noun_distance) in results.items():
        label = "reserved input weights random" if variant == "random" else "reserved weights zero"
        checks += [
            Check(f"zog's nearest word is a noun ({label})", float(CLASS_OF[nearest] == "noun"),
                  "yes", f"nearest: {nearest}", CLASS_OF[nearest] == "noun"),
            Check(f"zog nearer a noun group than the verbs ({label})",
                  distances["verbs"] - noun_distance, "yes", "> 0",
                  noun_distance < distances["verbs"]),
            Check(f"zog's nearest word is a human noun ({label}; stretch goal)",
                  float(nearest in HUMANS), "yes (Fig. 8)", f"nearest: {nearest}",
                  nearest in HUMANS, required=False),
            Check(f"zog nearest the human centroid ({label}; stretch goal)",
                  float(min(distances, key=distances.get) == "humans"), "yes (Fig. 8)",
                  f"nearest group: {min(distances, key=distances.get)}",
                  min(distances, key=distances.get) == "humans", required=False),
        ]  # fmt: skip
    metrics = {f"{variant}_distance_{group}": d for variant, (_, dist, _) in results.items()
               for group, d in dist.items()}  # fmt: skip
    return Outcome(checks, metrics, {"nearest": {v: r[0] for v, r in results.items()},
                                     "words": list(labels), "vectors": figure_vectors})  # fmt: skip
