"""Translation data: d2l's normalisation, the split by source sentence (no test source is
seen in training), vocabularies from training only, the padded splits, and BLEU."""

import math
from pathlib import Path

import pytest
import torch

from rnnlab.analysis.bleu import corpus_bleu, sentence_bleu_d2l
from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks.translation import Translation, TranslationConfig, load_pairs, normalise
from rnnlab.tasks.word_vocabulary import BOS_ID, EOS_ID, PAD_ID, UNKNOWN_ID, WordVocabulary
from rnnlab.train.bptt import _take
from rnnlab.train.config import parse_config

EN_FR = Path(__file__).resolve().parents[3] / "shared/data/translation/eng-fra.txt"


@pytest.fixture(scope="module")
def task() -> Translation:
    return Translation(TranslationConfig(path=str(EN_FR)))


def test_normalisation_follows_d2l():
    assert normalise("Go.") == "go ."
    assert normalise("Va !") == "va !"
    assert normalise("Je suis si fatigué\u202f!") == "je suis si fatigué !"
    assert normalise("I'm so tired!") == "i'm so tired !"
    assert normalise("Attends,\xa0Tom.") == "attends , tom ."
    assert normalise("Je l’ai perdu.") == "je l'ai perdu ."
    assert normalise("  a  b  ") == "a b"


def test_the_full_file_has_5000_pairs_and_the_documented_columns():
    pairs = load_pairs(EN_FR)
    assert len(pairs) == 5000
    assert pairs[0] == ("Go.", "Va !")


def test_split_is_by_source_sentence_and_covers_every_pair(task):
    sources = {name: {s for s, _ in pairs} for name, pairs in task.pairs.items()}
    assert not sources["train"] & sources["test"]
    assert not sources["train"] & sources["val"]
    assert not sources["val"] & sources["test"]
    total = sum(map(len, task.pairs.values()))
    assert total == 5000 - task.dropped["duplicate"] - task.dropped["too_long"]
    assert task.dropped["too_long"] == 0
    distinct = len(set().union(*sources.values()))
    assert len(sources["test"]) == round(0.1 * distinct) == len(sources["val"])
    again = Translation(TranslationConfig(path=str(EN_FR)))
    assert again.pairs == task.pairs
    other = Translation(TranslationConfig(path=str(EN_FR), seed=1))
    assert other.pairs["test"] != task.pairs["test"]


def test_references_group_every_translation_of_a_source(task):
    sources, references = task.references("test")
    assert len(sources) == len(set(sources))
    for source, group in zip(sources, references):
        assert sorted(group) == sorted(t for s, t in task.pairs["test"] if s == source)
    assert sum(map(len, references)) == len(task.pairs["test"])


def test_vocabularies_come_from_the_training_pairs_only(task):
    counts = {}
    for _, target in task.pairs["train"]:
        for word in target:
            counts[word] = counts.get(word, 0) + 1
    expected = sorted((w for w, n in counts.items() if n >= 2), key=lambda w: (-counts[w], w))
    assert task.target_vocabulary.words[4:] == expected
    test_only = {w for _, t in task.pairs["test"] for w in t} - set(counts)
    assert test_only and not test_only & set(task.target_vocabulary.ids)


def test_splits_hold_padded_sources_and_targets_ending_in_eos(task):
    split = task.splits()["val"]
    pairs = task.pairs["val"]
    assert split.x.shape == split.y.shape and split.x.shape[0] == len(pairs)
    for k in (0, 7, len(pairs) - 1):
        source, target = pairs[k]
        n, m = len(source) + 1, len(target) + 1
        assert int(split.lengths[k]) == n
        assert split.x[k, n - 1] == EOS_ID and (split.x[k, n:] == PAD_ID).all()
        assert split.y[k, m - 1] == EOS_ID and split.mask[k].sum() == m
        assert task.target_vocabulary.decode(split.y[k]) == [
            w if w in task.target_vocabulary.ids else "<unk>" for w in target
        ]


def test_a_batch_keeps_targets_longer_than_their_sources(task):
    split = task.splits()["train"]
    longer = (split.mask.sum(1) > split.lengths).nonzero()[:4, 0]
    batch = _take(split, longer)
    assert batch.x.shape[1] == int(split.mask[longer].sum(1).max())
    assert batch.mask.sum() == split.mask[longer].sum()


def test_word_vocabulary_orders_by_frequency_and_round_trips():
    vocabulary = WordVocabulary.from_sentences([["b", "a", "c"], ["a", "b"], ["a"]], min_freq=2)
    assert vocabulary.words == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b"]
    assert vocabulary.encode(["a", "c"]).tolist() == [4, UNKNOWN_ID, EOS_ID]
    assert vocabulary.decode([BOS_ID, 4, 5, EOS_ID, 4]) == ["a", "b"]
    assert WordVocabulary.from_list(vocabulary.to_list()) == vocabulary
    with pytest.raises(RnnlabError, match="starts with"):
        WordVocabulary.from_list(["a", "b"])


def test_corpus_bleu_uses_every_reference():
    hypotheses = ["je sais .", "il est calme ."]
    assert corpus_bleu(hypotheses, [["je sais ."], ["il est calme ."]]) == pytest.approx(100)
    one = corpus_bleu(hypotheses, [["je sais ."], ["elle est calme ."]])
    both = corpus_bleu(hypotheses, [["je sais ."], ["elle est calme .", "il est calme ."]])
    assert one < 100 and both == pytest.approx(100)
    with pytest.raises(ValueError, match="one list of references per hypothesis"):
        corpus_bleu(hypotheses, [["je sais ."]])


def test_d2l_bleu_by_hand():
    # hypothesis "a b c d", reference "a b e": brevity exp(min(0, 1 - 3/4)) = 1;
    # p1 = 2/4, p2 = 1/3 (only "a b"); BLEU-2 = (1/2)^(1/2) * (1/3)^(1/4).
    expected = 0.5**0.5 * (1 / 3) ** 0.25
    assert sentence_bleu_d2l(list("abcd"), list("abe"), 2) == pytest.approx(expected)
    # a short hypothesis is penalised: "a b" against "a b c d": exp(1 - 4/2) * 1 * 1.
    assert sentence_bleu_d2l(list("ab"), list("abcd"), 2) == pytest.approx(math.exp(-1))
    assert sentence_bleu_d2l([], list("ab")) == 0.0


def test_config_mistakes(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of path"):
        parse_config({"model": {"kind": "gru", "hidden_size": 4}, "task": {"name": "translation"}})
    bad = tmp_path / "bad.tsv"
    bad.write_text("Go.\tVa !\nonly one column\n", encoding="utf-8")
    with pytest.raises(RnnlabError, match=r"bad\.tsv:2: expected 'source<TAB>target"):
        load_pairs(bad)
    with pytest.raises(RnnlabError, match="does not exist"):
        load_pairs(tmp_path / "missing.tsv")
    from rnnlab.train.build import build

    with pytest.raises(ConfigError, match=r"model\.attention"):
        build(parse_config({"model": {"kind": "gru", "hidden_size": 4, "attention": "dot"},
                            "task": {"name": "adding"}}))  # fmt: skip


def test_the_target_mask_weighs_the_loss(task):
    from rnnlab.losses import masked_loss
    from rnnlab.models.config import build_model

    config = parse_config({"model": {"kind": "gru", "hidden_size": 8}, "task": {
        "name": "translation", "path": str(EN_FR)}}).model  # fmt: skip
    torch.manual_seed(0)
    network = build_model(
        config, task.input_size, task.output_size, inputs="tokens", targets="sequence"
    )
    split = _take(task.splits()["val"], torch.arange(6))
    logits, _ = network(split.x, lengths=split.lengths, targets=split.y)
    by_hand = torch.cat([
        torch.nn.functional.cross_entropy(logits[k, : int(split.mask[k].sum())],
                                          split.y[k, : int(split.mask[k].sum())], reduction="none")
        for k in range(6)
    ]).mean()  # fmt: skip
    torch.testing.assert_close(masked_loss(logits, split.y, split.mask, "cross_entropy"), by_hand)
