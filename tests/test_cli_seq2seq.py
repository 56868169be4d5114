"""Translation and forecasting as a user meets them: train briefly, evaluate (BLEU; MASE and
the baselines), translate, forecast, and the mistakes they report."""

import json
from pathlib import Path

import pytest

from tests.test_cli_text import DATA, ROOT, rnnlab


@pytest.fixture(scope="module")
def translation_run(tmp_path_factory) -> Path:
    """A translation model trained for 40 updates on the first 600 Tatoeba pairs."""
    root = tmp_path_factory.mktemp("translation")
    lines = (DATA / "translation/eng-fra.txt").read_text(encoding="utf-8").splitlines()
    (root / "pairs.tsv").write_text("\n".join(lines[:600]), encoding="utf-8")
    overrides = [
        f"task.path={root / 'pairs.tsv'}", "model.hidden_size=32", "model.embedding_dim=16",
        "training.max_steps=40", "training.eval_every=20",
    ]  # fmt: skip
    result = rnnlab("train", ROOT / "examples/translation.toml", "--out", root / "run", "--quiet",
                    *(part for o in overrides for part in ("--set", o)))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root / "run"


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("forecast") / "run"
    overrides = ["--set", "training.max_steps=20", "--set", "training.eval_every=10"]
    result = rnnlab("train", ROOT / "examples/sunspots.toml", "--out", out, "--quiet", *overrides)
    assert result.returncode == 0, result.stderr
    return out


def test_translation_evaluate_reports_bleu_and_draws_attention(translation_run):
    result = rnnlab("evaluate", translation_run, "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    for key in ("loss", "bleu", "bleu_greedy", "bleu_beam", "bleu_d2l_2"):
        assert 0 <= metrics[key] < 100, key
    assert metrics["decoder"] == "beam 4, alpha 0.75"
    assert metrics["examples"][0]["references"]
    assert Path(metrics["attention_png"]).read_bytes()[:4] == b"\x89PNG"
    lines = (translation_run / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert any("val_bleu_greedy" in record for record in records)


def test_an_ensemble_of_a_run_with_itself_translates_as_the_run(translation_run, cli_in_process):
    single = json.loads(cli_in_process("evaluate", translation_run, "--json").stdout)
    result = cli_in_process("evaluate", translation_run, translation_run, "--json")
    assert result.returncode == 0, result.stderr
    double = json.loads(result.stdout)
    assert double["ensemble_size"] == 2
    assert double["bleu"] == pytest.approx(single["bleu"])
    assert double["loss"] == pytest.approx(single["loss"], rel=1e-5)


def test_translate_prints_one_translation_per_sentence(translation_run, tmp_path, cli_in_process):
    png = tmp_path / "attention.png"
    result = cli_in_process("translate", translation_run, "I lost.", "he's calm .", "--beam", "3",
                    "--attention", png)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[:2]] == ["I lost.", "he's calm ."]
    assert png.read_bytes()[:4] == b"\x89PNG"
    greedy = cli_in_process("translate", translation_run, "I lost.", "--beam", "1")
    assert greedy.returncode == 0 and greedy.stdout.startswith("I lost.\t")


def test_forecast_evaluate_reports_mase_coverage_and_baselines(forecast_run, cli_in_process):
    result = cli_in_process("evaluate", forecast_run, "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    for key in ("mae", "rmse", "mase", "coverage_90"):
        assert metrics[key] >= 0
    assert set(metrics["baselines"]) == {"naive", "seasonal_naive", "autoregressive"}
    assert metrics["baselines"]["seasonal_naive"]["mase"] == pytest.approx(1.3925, abs=1e-3)
    assert Path(metrics["forecast_png"]).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_prints_metrics_baselines_and_examples(
    forecast_run, translation_run, cli_in_process
):
    result = cli_in_process("evaluate", forecast_run, "--split", "test")
    assert result.returncode == 0, result.stderr
    assert "test mase: " in result.stdout and "baseline autoregressive: mae " in result.stdout
    result = cli_in_process("evaluate", translation_run, "--split", "val", "--no-baselines")
    assert result.returncode == 0, result.stderr
    assert "val bleu: " in result.stdout and "  ->  " in result.stdout


def test_forecast_prints_times_values_and_intervals(forecast_run, tmp_path, cli_in_process):
    result = cli_in_process("forecast", forecast_run, "--horizon", "4", "--png", tmp_path / "f.png")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["time", "forecast", "90%", "lower", "90%", "upper"]
    assert [float(line.split()[0]) for line in lines[1:5]] == [2009, 2010, 2011, 2012]
    for line in lines[1:5]:
        _, mean, lower, upper = map(float, line.split())
        assert lower <= mean <= upper
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("command", "message"),
    [(["translate", "{forecast}", "hello ."], "needs a run of task 'translation'"),
     (["forecast", "{translation}"], "needs a run of task 'forecast'"),
     (["forecast", "{forecast}", "--horizon", "20"], "forecasts 10 steps at once"),
     (["translate", "{translation}", "go .", "--ensemble", "{forecast}"],
      "needs a run of task 'translation'"),
     (["translate", "{translation}", "   "], "nothing to translate"),
     (["translate", "{translation}", "go .", "--beam", "0"], "Invalid value for '--beam'")],
)  # fmt: skip
def test_mistakes_are_one_line_errors(
    translation_run, forecast_run, command, message, cli_in_process
):
    args = [part.format(translation=translation_run, forecast=forecast_run) for part in command]
    result = cli_in_process(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
