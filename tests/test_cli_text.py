"""The text commands as a user meets them: train on names and text, evaluate with baselines,
predict, generate, and the mistakes they report. Small slices of the real files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlab.tasks.names import Names
from rnnlab.tasks.vocabulary import Vocabulary
from rnnlab.train.run_directory import RunDirectory

RNNLAB = [str(Path(sys.executable).parent / "rnnlab")]
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data"


def rnnlab(*args, cwd=None):
    return subprocess.run([*RNNLAB, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def names_slice(tmp_path_factory) -> Path:
    """The first 150 lines of five languages of the real names."""
    root = tmp_path_factory.mktemp("names") / "names"
    root.mkdir()
    for language in ("English", "German", "Japanese", "Polish", "Russian"):
        lines = (DATA / "names" / f"{language}.txt").read_text(encoding="utf-8").splitlines()
        (root / f"{language}.txt").write_text("\n".join(lines[:150]), encoding="utf-8")
    return root


def train_names(names_slice: Path, seed: int) -> Path:
    out = names_slice.parent / f"run-{seed}"
    overrides = [f"task.path={names_slice}", "training.max_steps=60", "training.eval_every=30",
                 f"training.seed={seed}"]  # fmt: skip
    result = rnnlab("train", ROOT / "examples/names_gru.toml", "--out", out, "--quiet",
                    *(part for o in overrides for part in ("--set", o)))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def names_run(names_slice):
    """A names classifier trained briefly on the slice."""
    return train_names(names_slice, seed=0)


def test_names_evaluate_json_has_metrics_per_class_scores_and_baselines(names_run):
    result = rnnlab("evaluate", names_run, "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert 0.2 < metrics["accuracy"] <= 1 and 0 <= metrics["macro_f1"] <= 1
    assert set(metrics["per_class"]) == {"English", "German", "Japanese", "Polish", "Russian"}
    task = Names(RunDirectory.open(names_run).config().task)
    assert sum(c["support"] for c in metrics["per_class"].values()) == len(
        task.split_names("test")[0]
    )
    assert set(metrics["baselines"]) == {
        "majority_class", "tfidf_logistic_regression", "ngram_naive_bayes"
    }  # fmt: skip
    assert Path(metrics["confusion_matrix_png"]).read_bytes()[:4] == b"\x89PNG"


def test_the_vocabulary_is_saved_with_the_run(names_run):
    saved, extra = Vocabulary.load(names_run / "vocab.json")
    task = Names(RunDirectory.open(names_run).config().task)
    assert saved == task.vocabulary
    assert extra["classes"] == ["English", "German", "Japanese", "Polish", "Russian"]


def test_predict_prints_the_top_three_languages(names_run, cli_in_process):
    result = cli_in_process("predict", names_run, "Hinton", "Schmidhuber", "Hazaki")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Hinton", "Schmidhuber", "Hazaki"]
    for line in lines:
        ranked = [part.rsplit(" ", 1) for part in line.split(": ")[1].split(", ")]
        probabilities = [float(p) for _, p in ranked]
        assert len(ranked) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1.01


def test_several_runs_are_evaluated_as_an_ensemble(names_slice, names_run, cli_in_process):
    other = train_names(names_slice, seed=1)
    single = [json.loads(cli_in_process("evaluate", run, "--json", "--no-baselines").stdout)
              for run in (names_run, other)]  # fmt: skip
    result = cli_in_process("evaluate", names_run, other, "--json", "--no-baselines")
    assert result.returncode == 0, result.stderr
    ensemble = json.loads(result.stdout)
    assert ensemble["ensemble_size"] == 2 and "baselines" not in ensemble
    # the cross-entropy of averaged probabilities is at most the average cross-entropy
    assert ensemble["loss"] <= (single[0]["loss"] + single[1]["loss"]) / 2 + 1e-6
    predicted = cli_in_process("predict", names_run, "Tanaka", "--ensemble", other)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.startswith("Tanaka: ")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    text = (DATA / "text/tinyshakespeare.txt").read_text(encoding="utf-8")[:30_000]
    (root / "slice.txt").write_text(text, encoding="utf-8")
    out = root / "run"
    result = rnnlab("train", ROOT / "examples/shakespeare.toml", "--out", out, "--quiet",
                    "--set", f"task.path={root / 'slice.txt'}", "--set", "model.hidden_size=32",
                    "--set", "training.max_steps=40", "--set", "training.batch_size=8",
                    "--set", "training.eval_every=20")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_char_lm_evaluate_reports_nats_bits_perplexity_and_kneser_ney(text_run, cli_in_process):
    result = cli_in_process("evaluate", text_run, "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["loss_nats"] == pytest.approx(metrics["loss"], rel=1e-4)
    assert metrics["bpc"] == pytest.approx(metrics["loss_nats"] / 0.6931471805599453)
    assert 1 <= metrics["baselines"]["kneser_ney"]["order"] <= 7
    assert metrics["baselines"]["kneser_ney"]["loss_nats"] < 3


def test_generate_prints_the_prime_and_a_seeded_sample(text_run, cli_in_process):
    args = ("generate", text_run, "--prime", "ROMEO:", "--length", "80", "--temperature", "0.8",
            "--top-k", "10", "--seed", "1")  # fmt: skip
    first, second = cli_in_process(*args), cli_in_process(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ROMEO:") and len(first.stdout.rstrip("\n")) >= 80
    assert first.stdout == second.stdout


@pytest.mark.parametrize(
    ("command", "message"),
    [(["predict", "{text}", "Hinton"], "needs a run of task 'names'"),
     (["generate", "{names}"], "needs a run of task 'char_lm'"),
     (["generate", "{text}", "--temperature", "0"], "Invalid value for '--temperature'"),
     (["generate", "{text}", "--prime", ""], "the prime is empty"),
     (["predict", "{names}"], "Missing argument 'NAMES...'")],
)  # fmt: skip
def test_mistakes_are_one_line_errors(names_run, text_run, command, message, cli_in_process):
    args = [part.format(text=text_run, names=names_run) for part in command]
    result = cli_in_process(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
