"""The command line as a user meets it: help, list, mistakes, train, Ctrl-C, SIGKILL, resume."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab.train.checkpoint import load_checkpoint
from rnnlab.train.run_directory import RunDirectory

RNNLAB = [str(Path(sys.executable).parent / "rnnlab")]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# Long enough to be stopped part-way; checkpoints and logs often, so every path is exercised.
LONG_RUN = """
[model]
kind = "elman"
hidden_size = 10
nonlinearity = "sigmoid"
[task]
name = "letters"
num_consonants = 200
[training]
lr = 0.01
batch_size = 4
bptt = "truncated"
chunk_length = 10
max_steps = 3000
log_every = 5
eval_every = 100
checkpoint_every = 20
keep_checkpoints = 2
"""


def rnnlab(*args, cwd=None):
    return subprocess.run([*RNNLAB, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize(
    "command", [[], ["train"], ["resume"], ["evaluate"], ["list"], ["predict"], ["generate"]]
)
def test_every_help_shows_an_example(command):
    result = rnnlab(*command, "--help")
    assert result.returncode == 0
    assert "Example: rnnlab" in result.stdout


def test_bare_command_shows_help():
    result = rnnlab()
    assert result.returncode == 0 and "Commands:" in result.stdout


def test_list_names_tasks_and_models():
    result = rnnlab("list")
    assert result.returncode == 0
    for name in (
        "letters",
        "temporal_xor",
        "adding",
        "elman",
        "jordan",
        "gru",
        "lstm",
        "elman1990",
    ):
        assert f"  {name} " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.toml"], "error: config file missing.toml does not exist"),
        (["train", "bad.toml"], "error: bad.toml: unknown key 'hiden_size' in [model]"),
        (["train", "bad.toml", "--learning-rate", "3"], "error: No such option '--learning-rate'"),
        (
            ["train", "good.toml", "--set", "training.lr=fast"],
            "error: good.toml: training.lr: Input should be",
        ),
        (["resume", "no_such_run"], "error: run directory no_such_run does not exist"),
        (["evaluate", "no_such_run"], "error: run directory no_such_run does not exist"),
        (["evaluate", ".", "--split", "train"], "error: Invalid value for '--split'"),
        (["frobnicate"], "error: No such command 'frobnicate'"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "bad.toml").write_text(
        '[model]\nkind = "elman"\nhiden_size = 3\n[task]\nname = "letters"\n'
    )
    (tmp_path / "good.toml").write_text(
        '[model]\nkind = "gru"\nhidden_size = 3\n[task]\nname = "letters"\n'
    )
    result = rnnlab(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


def test_train_an_example_then_evaluate_as_json(tmp_path):
    out = tmp_path / "run"
    result = rnnlab("train", EXAMPLES / "lstm_adding.toml", "--out", out, "--quiet",
                    "--set", "training.max_steps=20", "--set", "task.num_train=256")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "max_steps at step 20" in result.stdout
    evaluated = rnnlab("evaluate", out, "--split", "test", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert set(metrics) == {"loss", "accuracy"}
    assert 0 < metrics["loss"] < 10
    again = rnnlab("train", EXAMPLES / "lstm_adding.toml", "--out", out)
    assert again.returncode == 2 and "already holds a run" in again.stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    directory = tmp_path_factory.mktemp("whole")
    (directory / "run.toml").write_text(LONG_RUN)
    result = rnnlab("train", directory / "run.toml", "--out", directory / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    return RunDirectory(directory / "run")


def start_and_stop(tmp_path, at_step: int, how: signal.Signals) -> tuple[RunDirectory, int]:
    (tmp_path / "run.toml").write_text(LONG_RUN)
    run = RunDirectory(tmp_path / "run")
    process = subprocess.Popen(
        [*RNNLAB, "train", tmp_path / "run.toml", "--out", run.path, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        records = run.read_metrics()
        if records and records[-1]["step"] >= at_step:
            break
        time.sleep(0.002)
    assert process.poll() is None, f"the run ended before step {at_step}: {process.stderr.read()}"
    process.send_signal(how)
    process.communicate(timeout=60)
    return run, process.returncode


def assert_same_run(run: RunDirectory, reference: RunDirectory, note: str) -> None:
    a, b = (
        load_checkpoint(run.checkpoints).model_state,
        load_checkpoint(reference.checkpoints).model_state,
    )
    assert all(torch.equal(a[k], b[k]) for k in b), f"weights differ ({note})"

    def stable(records):
        return [
            {k: v for k, v in r.items() if k not in ("wall_time", "tokens_per_s")} for r in records
        ]

    assert stable(run.read_metrics()) == stable(reference.read_metrics()), (
        f"metrics differ ({note})"
    )


def test_sigkill_at_a_random_step_then_resume_ends_identically(tmp_path, uninterrupted):
    at_step = random.randint(5, 1000)
    run, code = start_and_stop(tmp_path, at_step, signal.SIGKILL)
    assert code == -signal.SIGKILL
    result = rnnlab("resume", run.path, "--quiet")
    assert result.returncode == 0, f"{result.stderr} (killed at step {at_step})"
    assert "max_steps at step 3000" in result.stdout
    assert_same_run(run, uninterrupted, f"killed at step {at_step}")


def test_ctrl_c_checkpoints_then_resume_ends_identically(tmp_path, uninterrupted):
    run, code = start_and_stop(tmp_path, 333, signal.SIGINT)
    assert code == 130
    result = rnnlab("resume", run.path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert_same_run(run, uninterrupted, "interrupted with SIGINT")


def test_resume_reports_a_damaged_checkpoint_and_can_use_an_earlier_one(tmp_path, uninterrupted):
    run, _ = start_and_stop(tmp_path, 200, signal.SIGKILL)
    names = sorted(p.name for p in run.checkpoints.iterdir() if p.name.startswith("step-"))
    newest = run.checkpoints / names[-1] / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    result = rnnlab("resume", run.path)
    assert result.returncode == 2
    assert f"checkpoints still available: {names[-2]}" in result.stderr
    assert "Traceback" not in result.stderr
    result = rnnlab("resume", run.path, "--checkpoint", names[-2], "--quiet")
    assert result.returncode == 0, result.stderr
    assert_same_run(run, uninterrupted, f"resumed from {names[-2]}")


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.cli", "list"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "tasks:" in result.stdout
