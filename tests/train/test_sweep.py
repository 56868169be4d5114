"""Sweeps: points x seeds as run directories, on local workers, in this process or on Ray.

The runs are tiny (an Elman network of 4 or 8 units on short adding-problem sequences, 30
steps), so that the whole file takes well under a minute on two cores, most of it the start of
worker processes and of Ray.
"""

import contextlib
import csv
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab import cli
from rnnlab.errors import ConfigError
from rnnlab.train.checkpoint import list_checkpoints, load_checkpoint
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.sweep import available_cpus, final_validation, run_state, run_sweep
from rnnlab.train.sweep_config import MAX_NAME, load_sweep, safe_name
from rnnlab.train.trainer import fit_run

BASE = """
[model]
kind = "elman"
hidden_size = 8
[task]
name = "adding"
seq_len = 10
num_train = 128
num_val = 64
num_test = 64
[training]
lr = 0.01
batch_size = 16
max_steps = 30
log_every = 10
eval_every = 15
checkpoint_every = 15
"""

SWEEP = """
base = "base.toml"
seeds = [0, 1]
[grid]
"model.hidden_size" = [4, 8]
"""

TIMES = ("tokens_per_s", "wall_time")  # the only values of metrics.jsonl that may differ
two_cpus = pytest.mark.skipif(available_cpus() < 2, reason="two workers need two CPUs")


def write_sweep(directory: Path, sweep: str = SWEEP, base: str = BASE) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "base.toml").write_text(base)
    (directory / "sweep.toml").write_text(sweep)
    return directory / "sweep.toml"


def metrics_without_times(run: Path) -> list[dict]:
    records = RunDirectory(run).read_metrics()
    return [{k: v for k, v in record.items() if k not in TIMES} for record in records]


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints").model_state


def assert_same_runs(out: Path, reference: Path, names: list[str]) -> None:
    for name in names:
        assert metrics_without_times(out / name) == metrics_without_times(reference / name), name
        weights, expected = final_weights(out / name), final_weights(reference / name)
        assert weights.keys() == expected.keys()
        for key in weights:
            assert torch.equal(weights[key], expected[key]), (name, key)


@contextlib.contextmanager
def one_thread():
    """torch on one thread inside the block, as each worker of the sweeps below."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def serial(sweep_file) -> Path:
    """The sweep's runs made one after another in this process with fit_run, one thread."""
    out = sweep_file.parent / "serial"
    with one_thread():
        for run in load_sweep(sweep_file).runs:
            fit_run(RunDirectory.create(out / run.name, run.config), run.config)
    return out


@pytest.fixture(scope="module")
def parallel(sweep_file):
    """The sweep on two local worker processes, one thread each."""
    if available_cpus() < 2:
        pytest.skip("two workers need two CPUs")
    out = sweep_file.parent / "parallel"
    outcomes = []
    summary = run_sweep(sweep_file, out, workers=2, threads_per_worker=1, on_run=outcomes.append)
    return summary, outcomes


RUNS = [
    "model.hidden_size=4,seed=0",
    "model.hidden_size=4,seed=1",
    "model.hidden_size=8,seed=0",
    "model.hidden_size=8,seed=1",
]


def test_the_runs_are_named_after_their_overrides_and_seed(sweep_file):
    assert [run.name for run in load_sweep(sweep_file).runs] == RUNS


@two_cpus
def test_two_workers_give_the_serial_runs_bit_for_bit(parallel, serial):
    summary, outcomes = parallel
    assert sorted(o.name for o in outcomes) == RUNS
    assert {o.status for o in outcomes} == {"finished"}
    assert summary.complete
    assert_same_runs(summary.out, serial, RUNS)


@two_cpus
def test_the_summary_is_mean_and_sd_over_seeds_of_the_final_validation(parallel, serial):
    summary, _ = parallel
    assert [p.name for p in summary.points] == ["model.hidden_size=4", "model.hidden_size=8"]
    for point, runs in zip(summary.points, (RUNS[:2], RUNS[2:])):
        last = [
            [r for r in RunDirectory(serial / name).read_metrics() if "val_loss" in r][-1]
            for name in runs
        ]
        assert last[0]["step"] == last[1]["step"] == 30
        assert set(point.metrics) == {"val_loss", "val_accuracy"}
        for metric, summarised in point.metrics.items():
            values = np.array([record[metric] for record in last])
            assert summarised.n == 2
            assert summarised.mean == np.mean(values)
            assert summarised.sd == np.std(values, ddof=1)
            assert summarised.sd == np.sqrt(np.sum((values - values.mean()) ** 2) / (2 - 1))

    out = summary.out
    rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    assert [row["model.hidden_size"] for row in rows] == ["4", "8"]
    for row, point in zip(rows, summary.points):
        assert int(row["n"]) == 2
        assert float(row["val_loss_mean"]) == point.metrics["val_loss"].mean
        assert float(row["val_loss_sd"]) == point.metrics["val_loss"].sd
    saved = json.loads((out / "summary.json").read_text())
    assert saved["swept"] == ["model.hidden_size"] and saved["complete"]
    for entry, point in zip(saved["points"], summary.points):
        assert entry["overrides"] == point.overrides
        assert entry["metrics"]["val_accuracy"]["mean"] == point.metrics["val_accuracy"].mean
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_killed_sweep_continues_without_redoing_a_finished_run(sweep_file, serial):
    out = sweep_file.parent / "killed"

    class SweepKilledError(Exception):
        pass

    def kill_after_the_first(outcome):
        raise SweepKilledError(outcome.name)

    with pytest.raises(SweepKilledError, match=re.escape(RUNS[0])):
        run_sweep(sweep_file, out, workers=1, threads_per_worker=1, on_run=kill_after_the_first)
    assert [p.name for p in out.iterdir()] == [RUNS[0]]
    first = out / RUNS[0]
    stamps = {path: path.stat().st_mtime_ns for path in first.rglob("*")}

    # The second run stopped (as by Ctrl-C or a kill) after step 2, with its checkpoint there;
    # the third was killed before its first checkpoint: a config and a line of metrics.
    plan = {run.name: run for run in load_sweep(sweep_file).runs}
    calls = []
    with one_thread():
        second = plan[RUNS[1]]
        result = fit_run(
            RunDirectory.create(out / RUNS[1], second.config), second.config,
            should_stop=lambda: calls.append(1) or len(calls) >= 2,
        )  # fmt: skip
    assert result.reason == "interrupted" and result.step == 2
    third = RunDirectory.create(out / RUNS[2], plan[RUNS[2]].config)
    third.append_metrics({"step": 10, "epoch": 0, "loss": 99.0})
    third.release_lock()
    assert [run_state(out / name, plan[name].config) for name in RUNS] == [
        "finished", "resume", "restart", "new",
    ]  # fmt: skip

    outcomes = []
    summary = run_sweep(sweep_file, out, workers=1, threads_per_worker=1, on_run=outcomes.append)
    assert [(o.name, o.status) for o in outcomes] == [
        (RUNS[0], "skipped"),
        *((name, "finished") for name in RUNS[1:]),
    ]
    assert {path: path.stat().st_mtime_ns for path in first.rglob("*")} == stamps
    assert "step-00000002" in list_checkpoints(out / RUNS[1] / "checkpoints")  # resumed
    assert_same_runs(out, serial, RUNS)
    uninterrupted = run_sweep(sweep_file, sweep_file.parent / "whole", workers=1,
                              threads_per_worker=1)  # fmt: skip
    assert summary.points == uninterrupted.points
    again = []
    run_sweep(sweep_file, out, on_run=again.append)
    assert {o.status for o in again} == {"skipped"}


def test_a_sweep_run_is_an_ordinary_run_directory(sweep_file, serial, capsys):
    run = serial / RUNS[0]
    assert RunDirectory.open(run).config().model.hidden_size == 4
    capsys.readouterr()
    cli.main(["evaluate", str(run), "--json", "--no-baselines"])
    assert set(json.loads(capsys.readouterr().out)) == {"loss", "accuracy"}
    cli.main(["resume", str(run), "--quiet"])
    assert "already_finished at step 30" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
@two_cpus
def test_the_same_sweep_on_a_local_ray_gives_the_same_numbers(sweep_file, parallel, serial):
    out = sweep_file.parent / "ray"
    command = [sys.executable, "-m", "rnnlab.cli", "sweep", str(sweep_file), "--out", str(out),
               "--ray", "local", "--workers", "2", "--quiet"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary: " in result.stdout
    assert_same_runs(out, serial, RUNS)
    saved = json.loads((out / "summary.json").read_text())
    expected = json.loads((parallel[0].out / "summary.json").read_text())
    assert saved["points"] == expected["points"]


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (SWEEP + "[grid\n", "sweep.toml is not valid TOML"),
        (
            SWEEP.replace("[grid]", "[grd]"),
            "sweep.toml: unknown key 'grd' in the sweep file; valid: base, seeds, set, grid, "
            "points. Did you mean 'grid'?",
        ),
        (
            SWEEP.replace("model.hidden_size", "model.hiden_size"),
            "sweep.toml point model.hiden_size=4, seed 0: unknown key 'hiden_size' in [model]",
        ),
        (
            SWEEP.replace("model.hidden_size", "modle.hidden_size"),
            "unknown section 'modle' in sweep.toml point modle.hidden_size=4; valid: model, task, "
            "training. Did you mean 'model'?",
        ),
        (
            SWEEP.replace("model.hidden_size", "hidden_size"),
            "sweep.toml point hidden_size=4: expected a key section.key, e.g. training.lr",
        ),
        (
            SWEEP.replace("[4, 8]", '[4, "big"]'),
            "sweep.toml point model.hidden_size=big, seed 0: model.hidden_size: Input should be a "
            "valid integer",
        ),
        (SWEEP.replace("[4, 8]", "[4, -8]"), "sweep.toml point model.hidden_size=-8, seed 0:"),
        (SWEEP.replace("[4, 8]", "[]"), "sweep.toml: [grid] 'model.hidden_size' lists no values"),
        (SWEEP.replace("[0, 1]", "[0, 0]"), "sweep.toml: seeds must differ"),
        (
            SWEEP + '[[points]]\n"training.seed" = 3\n',
            "sweep.toml: [[points]] #1 sets training.seed",
        ),
        (
            SWEEP + '[[points]]\n"model.hidden_size" = 3\n',
            "sweep.toml: 'model.hidden_size' is in both [grid] and [[points]] #1",
        ),
        (
            SWEEP.replace('"base.toml"', '"nope.toml"'),
            "sweep.toml: base config {dir}/nope.toml does not exist",
        ),
        (SWEEP.replace('base = "base.toml"', ""), "sweep.toml: base is required but missing"),
        (SWEEP.replace('"base.toml"', "3"), "sweep.toml: base: Input should be a valid string"),
        (
            SWEEP + '"training.teacher_forcing" = [0.5]\n',
            "sweep.toml point model.hidden_size=4,training.teacher_forcing=0.5: "
            "training.teacher_forcing < 1 feeds predictions back as inputs",
        ),
    ],
    ids=[
        "toml",
        "unknown-key",
        "override-key",
        "override-section",
        "no-section",
        "value-type",
        "value-range",
        "no-values",
        "seeds",
        "seed-override",
        "two-places",
        "base-missing",
        "no-base",
        "base-type",
        "build-refuses",
    ],
)
def test_a_bad_sweep_file_is_one_line_and_exit_2_before_any_run(tmp_path, capsys, sweep, message):
    path = write_sweep(tmp_path, sweep)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sweep", str(path), "--out", str(out)])
    error = capsys.readouterr().err
    assert exit_.value.code == 2
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(
        "error: " + message.format(dir=tmp_path).replace("sweep.toml", str(path))
    ), error
    assert not out.exists()


def test_a_missing_sweep_file_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sweep", str(tmp_path / "missing.toml")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: sweep file {tmp_path}/missing.toml does not exist\n"


def test_workers_may_not_oversubscribe_the_cpus(sweep_file, monkeypatch, tmp_path):
    monkeypatch.setattr("rnnlab.train.sweep.available_cpus", lambda: 2)
    with pytest.raises(ConfigError, match=re.escape("--workers 2 x --threads-per-worker 2 = 4 "
                                                    "threads on the 2 CPUs")):  # fmt: skip
        run_sweep(sweep_file, tmp_path / "out", workers=2, threads_per_worker=2)
    with pytest.raises(ConfigError, match="--gpus-per-run is for Ray tasks"):
        run_sweep(sweep_file, tmp_path / "out", gpus_per_run=1)
    assert not (tmp_path / "out").exists()


def test_a_directory_of_another_config_is_refused(sweep_file, tmp_path, serial):
    other = write_sweep(tmp_path, SWEEP.replace("[4, 8]", '[4, 8]\n"training.lr" = [0.5]'))
    plan = load_sweep(other).runs[0]
    expected = "holds a run of another config (training.lr = 0.01 there, 0.5 in the sweep)"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        run_state(serial / "model.hidden_size=4,seed=0", plan.config)


def test_points_cross_the_grid_and_the_set_table_applies_to_all(tmp_path):
    path = write_sweep(
        tmp_path,
        """
base = "base.toml"
seeds = [3]
[set]
"training.max_steps" = 7
[grid]
"model.hidden_size" = [4, 8]
[[points]]
"model.kind" = "gru"
[[points]]
"model.kind" = "lstm"
"task.seq_len" = 12
""",
    )
    sweep = load_sweep(path)
    assert [p.name for p in sweep.points] == [
        "model.kind=gru,model.hidden_size=4", "model.kind=gru,model.hidden_size=8",
        "model.kind=lstm,task.seq_len=12,model.hidden_size=4",
        "model.kind=lstm,task.seq_len=12,model.hidden_size=8",
    ]  # fmt: skip
    assert sweep.swept == ["model.kind", "model.hidden_size", "task.seq_len"]
    configs = [run.config for run in sweep.runs]
    assert [c.model.kind for c in configs] == ["gru", "gru", "lstm", "lstm"]
    assert {c.training.max_steps for c in configs} == {7}
    assert {c.training.seed for c in configs} == {3}
    assert [c.task.seq_len for c in configs] == [10, 10, 12, 12]


def test_a_name_with_unsafe_characters_or_too_long_is_cut_and_hashed():
    assert safe_name("model.hidden_size=8,training.lr=0.01") == (
        "model.hidden_size=8,training.lr=0.01"
    )
    odd = safe_name("task.path=data/a b.txt")
    assert re.fullmatch(r"task\.path=data_a_b\.txt-[0-9a-f]{10}", odd)
    assert safe_name("task.path=data/a_b.txt") != odd  # the hash tells them apart
    long = safe_name("x." + "y" * 300 + "=1")
    assert len(long) == MAX_NAME and safe_name("x." + "y" * 300 + "=2") != long


def test_the_example_sweep_loads():
    examples = Path(__file__).resolve().parents[2] / "examples"
    sweep = load_sweep(examples / "sweep_letters.toml")
    assert len(sweep.runs) >= 4 and sweep.swept


def test_final_validation_reads_the_last_validation_record(tmp_path):
    run = RunDirectory(tmp_path)
    for record in ({"step": 5, "val_loss": 2.0}, {"step": 10, "val_loss": 1.0}, {"step": 12}):
        run.append_metrics(record)
    assert final_validation(run) == {"val_loss": 1.0}
