"""Name classification: the loader on the real files, splits, padding, metrics, baselines."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnnlab.errors import RnnlabError
from rnnlab.losses import per_sequence_loss
from rnnlab.models.config import GRUConfig, build_model
from rnnlab.tasks.names import Names, NamesConfig, fold_to_ascii, load_names, stratified_split

NAMES = Path(__file__).resolve().parents[3] / "shared/data/names"

# Lines per file, from shared/data/README.md.
README_LINES = {
    "Arabic": 2000, "Chinese": 268, "Czech": 519, "Dutch": 297, "English": 3668, "French": 277,
    "German": 724, "Greek": 203, "Irish": 232, "Italian": 709, "Japanese": 991, "Korean": 94,
    "Polish": 139, "Portuguese": 74, "Russian": 9384, "Scottish": 100, "Spanish": 298,
    "Vietnamese": 73,
}  # fmt: skip


def test_loader_over_the_full_shared_files_finds_the_documented_counts():
    data = load_names(NAMES)
    assert data.lines_per_class == README_LINES
    assert data.lines == 20050
    assert len(data.names) == 18012  # distinct (name, class) pairs, as the issue measured
    assert data.duplicates == 20050 - 18012
    assert data.class_counts()["Arabic"] < 200  # the Arabic file repeats its names
    assert "Abel" in data.multi_class_names  # listed as French and German (among others)
    assert sum(data.class_counts().values()) == len(data.names)


def write_names(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / f"{name}.txt").write_text(text, encoding="utf-8")
    return directory


def test_duplicates_empty_lines_and_shared_names_are_counted(tmp_path):
    path = write_names(tmp_path / "names", {
        "Czech": "Novak\nNovak\n\nDvořák\n", "German": "Novak\nMüller\n  \n",
    })  # fmt: skip
    data = load_names(path)
    assert data.classes == ["Czech", "German"]
    assert data.names == ["Novak", "Dvořák", "Novak", "Müller"]
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert (data.duplicates, data.empty_lines) == (1, 2)
    assert data.multi_class_names == {"Novak": ["Czech", "German"]}
    assert "1 duplicates dropped, 2 empty lines, 1 names under several classes" in data.summary()
    folded = load_names(path, ascii_only=True)
    assert folded.names == ["Novak", "Dvorak", "Novak", "Muller"]
    assert folded.folded == 2


def test_ascii_folding_is_the_tutorials():
    assert fold_to_ascii("Ślusàrski") == "Slusarski"
    assert fold_to_ascii("O'Néal") == "O'Neal"
    assert fold_to_ascii("Łukasz") == "ukasz"  # Ł has no decomposition: dropped, as there


@pytest.mark.parametrize(
    ("files", "message"),
    [(None, "does not exist"), ({}, "no <Class>.txt"), ({"X": b"\xff\xfe"}, "not UTF-8")],
)
def test_bad_directories_are_clear_errors(tmp_path, files, message):
    path = tmp_path / "names"
    if files is not None:
        path.mkdir()
        for name, content in files.items():
            (path / f"{name}.txt").write_bytes(content)
    with pytest.raises(RnnlabError, match=message):
        load_names(path)


def test_stratified_split_is_a_seeded_partition_keeping_class_shares():
    labels = np.repeat(np.arange(3), [500, 100, 40])
    parts = stratified_split(labels, 0.1, 0.1, seed=3)
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(len(labels)))
    for part, share in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        counts = np.bincount(labels[parts[part]], minlength=3)
        assert np.all(np.abs(counts - share * np.array([500, 100, 40])) <= 1.5)
    again = stratified_split(labels, 0.1, 0.1, seed=3)
    other = stratified_split(labels, 0.1, 0.1, seed=4)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    assert not np.array_equal(parts["test"], other["test"])


@pytest.fixture(scope="module")
def task():
    return Names(NamesConfig(path=str(NAMES)))


def test_splits_hold_padded_token_ids_and_lengths(task):
    splits = task.splits()
    assert sum(len(s.y) for s in splits.values()) == 18012
    train = splits["train"]
    assert train.x.dtype == torch.long and train.y.shape == (len(train.x),)
    names, labels = task.split_names("train")
    k = int(train.lengths.argmin())
    assert task.vocabulary.decode(train.x[k]) == names[k]
    assert (train.x[k, len(names[k]) :] == 0).all()  # padding
    assert train.y.tolist() == labels.tolist()
    # no test name is unreadable: the vocabulary comes from training names only
    test_names, _ = task.split_names("test")
    assert sum(task.vocabulary.unknown_count(n) for n in test_names) < 10


def test_padding_never_reaches_the_output(task):
    torch.manual_seed(0)
    config = GRUConfig(kind="gru", hidden_size=8, bidirectional=True, embedding_dim=5)
    network = build_model(config, task.input_size, task.output_size, inputs="tokens",
                          targets="per_sequence").double()  # fmt: skip
    split = task.splits()["val"]
    alone = network(split.x[:1, : int(split.lengths[0])], lengths=split.lengths[:1])[0]
    padded = torch.cat([split.x[:1], torch.zeros(1, 7, dtype=torch.long)], dim=1)
    in_batch = network(padded, lengths=split.lengths[:1])[0]
    torch.testing.assert_close(alone, in_batch, rtol=0, atol=1e-12)


def test_per_sequence_network_agrees_with_torch_nn_on_packed_sequences(task):
    """The classifier reads the final state: torch.nn.GRU on a PackedSequence, h_n of the last
    layer's two directions, then the linear readout."""
    torch.manual_seed(1)
    config = GRUConfig(kind="gru", hidden_size=6, num_layers=2, bidirectional=True)
    network = build_model(config, task.input_size, task.output_size, inputs="tokens",
                          targets="per_sequence").double()  # fmt: skip
    reference = nn.GRU(task.input_size, 6, num_layers=2, bidirectional=True,
                       batch_first=True).double()  # fmt: skip
    reference.load_state_dict(network.layer.state_dict())
    split = task.splits()["test"]
    x, lengths = split.x[:20], split.lengths[:20]
    one_hot = nn.functional.one_hot(x, task.input_size).double()
    packed = nn.utils.rnn.pack_padded_sequence(one_hot, lengths, batch_first=True,
                                               enforce_sorted=False)  # fmt: skip
    _, h_n = reference(packed)
    expected = network.readout(torch.cat([h_n[-2], h_n[-1]], dim=-1))
    torch.testing.assert_close(network(x, lengths=lengths)[0], expected, rtol=0, atol=1e-12)


def test_metrics_match_a_hand_count(task):
    split = task.splits()["test"]
    rng = np.random.default_rng(0)
    guesses = torch.from_numpy(rng.integers(0, 3, len(split.y)))
    guesses[:100] = split.y[:100]
    predictions = nn.functional.one_hot(guesses, task.output_size).double()
    metrics = task.metrics(predictions, split)
    assert metrics["accuracy"] == pytest.approx(float((guesses == split.y).double().mean()))
    f1s = []
    for c in range(task.output_size):
        tp = int(((guesses == c) & (split.y == c)).sum())
        fp, fn = (
            int(((guesses == c) & (split.y != c)).sum()),
            int(((guesses != c) & (split.y == c)).sum()),
        )
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    assert metrics["macro_f1"] == pytest.approx(np.mean(f1s))


def test_class_weighting_weighs_the_loss(tmp_path):
    files = {"A": "\n".join(f"a{k}" for k in range(90)), "B": "\n".join(f"b{k}" for k in range(10))}
    path = write_names(tmp_path / "names", files)
    task = Names(NamesConfig(path=str(path), class_weighting="balanced"))
    torch.testing.assert_close(task.class_weights, torch.tensor([80 / (2 * 72), 80 / (2 * 8)]))
    outputs, y = torch.randn(6, 2), torch.tensor([0, 0, 0, 1, 1, 0])
    expected = nn.functional.cross_entropy(outputs, y, weight=task.class_weights)
    manual = sum(-task.class_weights[t] * outputs[k].log_softmax(-1)[t] for k, t in enumerate(y))
    torch.testing.assert_close(expected, manual / task.class_weights[y].sum())
    torch.testing.assert_close(
        per_sequence_loss(outputs, y, None, "cross_entropy", task.class_weights), expected
    )
