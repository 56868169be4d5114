"""The command line as a user meets it: help, list, mistakes, train, Ctrl-C, SIGTERM, SIGKILL,
resume, two runs on one directory, a full disk, a model too large for the machine."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab import cli
from rnnlab.train import callbacks
from rnnlab.train.checkpoint import list_checkpoints, load_checkpoint
from rnnlab.train.run_directory import RunDirectory
from tests.train.faults import NO_SPACE, full_disk_at

RNNLAB = [str(Path(sys.executable).parent / "rnnlab")]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# Long enough to be stopped part-way (the tests stop it at step 5 to 300, and it goes on for 100
# steps or more); checkpoints and logs often, so every path is exercised.
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
max_steps = 400
log_every = 5
eval_every = 100
checkpoint_every = 20
keep_checkpoints = 2
"""


def rnnlab(*args, cwd=None):
    return subprocess.run([*RNNLAB, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["train"],
        ["resume"],
        ["evaluate"],
        ["list"],
        ["predict"],
        ["generate"],
        ["sweep"],
        ["play"],
    ],
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
        (
            ["replicate", "bengio1994", "--workers", "2"],
            "error: bengio1994 trains its networks in one process; --workers serves elman1990, "
            "flipflop, neuro-tasks, munakata1997",
        ),
        (["replicate", "flipflop", "--workers", "0"], "error: Invalid value for '--workers'"),
        (["replicate", "flipflop", "--workers", "64"], "error: workers = 64 is more than the"),
        (
            ["replicate", "bengio1994", "--features", "x.npz", "--responses", "y.npz"],
            "error: bengio1994 makes its own data; --features and --responses serve guclu2017",
        ),
        (
            ["replicate", "guclu2017", "--features", "x.npz"],
            "error: --features needs --responses: give both .npz files of runs",
        ),
        (["replicate", "guclu2017", "--responses", "y.npz"], "error: --responses needs --features"),
        (
            ["replicate", "guclu2017", "--features", "x.npz", "--responses", "y.npz"],
            "error: features file x.npz does not exist",
        ),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, args, message, cli_in_process):
    (tmp_path / "bad.toml").write_text(
        '[model]\nkind = "elman"\nhiden_size = 3\n[task]\nname = "letters"\n'
    )
    (tmp_path / "good.toml").write_text(
        '[model]\nkind = "gru"\nhidden_size = 3\n[task]\nname = "letters"\n'
    )
    result = cli_in_process(*args, cwd=tmp_path)
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


def start_and_stop(tmp_path, at_step: int, how: signal.Signals) -> tuple[RunDirectory, int, str]:
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
    stdout, _ = process.communicate(timeout=60)
    return run, process.returncode, stdout


def stable_metrics(run: RunDirectory) -> list[dict]:
    """The metrics records of a run without what depends on the machine's speed."""
    return [
        {k: v for k, v in r.items() if k not in ("wall_time", "tokens_per_s")}
        for r in run.read_metrics()
    ]


def assert_same_run(run: RunDirectory, reference: RunDirectory, note: str) -> None:
    a, b = (
        load_checkpoint(run.checkpoints).model_state,
        load_checkpoint(reference.checkpoints).model_state,
    )
    assert all(torch.equal(a[k], b[k]) for k in b), f"weights differ ({note})"
    assert stable_metrics(run) == stable_metrics(reference), f"metrics differ ({note})"


def test_sigkill_at_a_random_step_then_resume_ends_identically(tmp_path, uninterrupted):
    at_step = random.randint(5, 300)
    run, code, _ = start_and_stop(tmp_path, at_step, signal.SIGKILL)
    assert code == -signal.SIGKILL
    result = rnnlab("resume", run.path, "--quiet")
    assert result.returncode == 0, f"{result.stderr} (killed at step {at_step})"
    assert "max_steps at step 400" in result.stdout
    assert_same_run(run, uninterrupted, f"killed at step {at_step}")


@pytest.mark.parametrize(
    "how, status",
    # SIGTERM takes the same handler as ctrl-c, with another status: under -m slow (22 s).
    [(signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)],
    ids=["ctrl_c", "sigterm"],
)
def test_a_signal_checkpoints_then_resume_ends_identically(tmp_path, uninterrupted, how, status):
    run, code, stdout = start_and_stop(tmp_path, 150, how)
    assert code == status  # 128 + the signal's number
    step = int(re.search(r"^interrupted at step (\d+) ", stdout, re.MULTILINE).group(1))
    assert step >= 150 and f"continue with: rnnlab resume {run.path}" in stdout
    assert load_checkpoint(run.checkpoints).name == f"step-{step:08d}"  # after the current step
    result = rnnlab("resume", run.path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert_same_run(run, uninterrupted, f"interrupted with {how.name} at step {step}")


def test_two_trains_on_one_directory_at_once_one_runs_the_other_refuses(tmp_path, uninterrupted):
    (tmp_path / "run.toml").write_text(LONG_RUN)
    run = RunDirectory(tmp_path / "run")
    command = [*RNNLAB, "train", tmp_path / "run.toml", "--out", run.path, "--quiet"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in processes) and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = [p for p in processes if p.poll() is not None]
        assert len(refused) == 1, "neither run was refused within 60 s"
        (loser,) = refused
        (winner,) = [p for p in processes if p is not loser]
        _, stderr = loser.communicate(timeout=10)
        assert loser.returncode == 2, stderr
        assert stderr.splitlines() == [
            f"error: {run.path} is in use: another run (pid {winner.pid}) holds its lock "
            f"({run.path / '.lock'}); wait for it to end or stop it, or choose another directory"
        ]
        # Hold the winner still once it trains (a stopped process keeps its lock), so that it
        # cannot reach the end of the run, however fast the machine, before resume has tried.
        deadline = time.monotonic() + 60
        while not run.read_metrics() and winner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        winner.send_signal(signal.SIGSTOP)
        assert winner.poll() is None, "the winner ended before it could be held"
        # `rnnlab resume` takes the same lock, so it cannot join the run either.
        resumed = rnnlab("resume", run.path, "--quiet")
        assert resumed.returncode == 2 and "is in use: another run" in resumed.stderr
        assert winner.poll() is None
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
    assert winner.returncode == 143, winner.stderr
    # Nothing was corrupted: the run is, record for record, the start of an undisturbed one (the
    # refused train wrote nothing into it), every checkpoint loads, and it is free to resume.
    records = stable_metrics(run)
    assert len(records) > 0 and records == stable_metrics(uninterrupted)[: len(records)]
    for name in list_checkpoints(run.checkpoints):
        load_checkpoint(run.checkpoints, name)
    assert load_checkpoint(run.checkpoints).meta["state"]["step"] >= records[-1]["step"]
    with RunDirectory.open(run.path).lock() as free:
        assert free.locked


def test_resume_reports_a_damaged_checkpoint_and_can_use_an_earlier_one(tmp_path, uninterrupted):
    run, _, _ = start_and_stop(tmp_path, 200, signal.SIGKILL)
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


# A few steps of a tiny network, a checkpoint every third: the disk fills at step 6's.
TINY_RUN = """
[model]
kind = "elman"
hidden_size = 4
[task]
name = "letters"
num_consonants = 30
[training]
batch_size = 2
bptt = "truncated"
chunk_length = 5
max_steps = 9
log_every = 3
eval_every = 100
checkpoint_every = 3
"""


def disk_full_at_step(monkeypatch, at_step: int, k: int, calls: list[str]):
    """The checkpoint callback's save_checkpoint, on a disk that fills at the k-th write of step
    ``at_step``'s checkpoint; the writes made for it go to ``calls``."""
    save = callbacks.save_checkpoint

    def save_on_a_filling_disk(directory, step, *args, **kwargs):
        if step != at_step:
            return save(directory, step, *args, **kwargs)
        with full_disk_at(monkeypatch, k) as made:
            try:
                return save(directory, step, *args, **kwargs)
            finally:
                calls.extend(made)

    return save_on_a_filling_disk


# The write calls of step 6's checkpoint, in order (rnnlab.train.checkpoint._write_checkpoint):
# the checkpoint directory and the temporary one, each tensor file saved, reopened and fsynced,
# meta.json written and fsynced, the temporary directory fsynced and renamed into place, the
# checkpoint directory fsynced, then `latest` written, fsynced and replaced atomically.
STEP_6_WRITES = (
    "mkdir", "mkdir",
    "save_file", "open", "fsync",
    "save_file", "open", "fsync",
    "open", "fsync",
    "fsync", "rename", "fsync",
    "open", "fsync", "replace", "fsync",
)  # fmt: skip
# Where the default run fills the disk: the first write (of the checkpoint directory, which
# exists: its failure changes nothing) and the first that fails (the temporary directory), the
# first of each kind, one in the middle, the write just after the rename (the checkpoint is in
# place, `latest` does not name it yet) and the last; k = len + 1 is past the last write, where
# the checkpoint gets through. `pytest -m slow` fills it at every other write too.
FULL_AT = {1, 2, len(STEP_6_WRITES) // 2 + 1, STEP_6_WRITES.index("rename") + 2}
FULL_AT |= {STEP_6_WRITES.index(kind) + 1 for kind in STEP_6_WRITES}
FULL_AT |= {len(STEP_6_WRITES), len(STEP_6_WRITES) + 1}


@pytest.fixture(scope="module")
def whole_tiny_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("whole_tiny")
    (directory / "run.toml").write_text(TINY_RUN)
    cli.main(["train", str(directory / "run.toml"), "--out", str(directory / "run"), "--quiet"])
    return directory / "run.toml", RunDirectory(directory / "run")


@pytest.mark.parametrize(
    "k",
    [
        k if k in FULL_AT else pytest.param(k, marks=pytest.mark.slow)
        for k in range(1, len(STEP_6_WRITES) + 2)
    ],
)
def test_a_full_disk_at_any_write_of_a_checkpoint_is_one_line_and_the_run_resumes(
    tmp_path, monkeypatch, capsys, whole_tiny_run, k
):
    """The k-th write of the step-6 checkpoint fails, as a full disk would fail it."""
    config, whole = whole_tiny_run
    calls = []
    out = tmp_path / f"full-at-{k}"
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(callbacks, "save_checkpoint", disk_full_at_step(patch, 6, k, calls))
        try:
            cli.main(["train", str(config), "--out", str(out), "--quiet"])
            status = 0
        except SystemExit as exit:
            status = exit.code
    stderr = capsys.readouterr().err
    # The writes are those above, so k names the one that failed (and the fault injection
    # reached it); past the last one the checkpoint went through.
    assert tuple(calls[:k]) == STEP_6_WRITES[:k], "update STEP_6_WRITES"
    run = RunDirectory(out)
    if k > len(STEP_6_WRITES):
        assert status == 0, stderr
        assert_same_run(run, whole, "no write failed")
        return
    if status == 0:  # a failure that changes nothing (mkdir of what exists)
        assert STEP_6_WRITES[k - 1] == "mkdir", stderr
        assert_same_run(run, whole, f"write {k} of step 6 failed")
        return
    assert status == 2
    assert stderr.startswith(f"error: cannot write checkpoint {run.checkpoints}/step-00000006")
    assert len(stderr.splitlines()) == 1 and NO_SPACE in stderr and "Traceback" not in stderr
    assert f"continue with `rnnlab resume {out}`" in stderr
    for name in list_checkpoints(run.checkpoints):  # every checkpoint there loads
        load_checkpoint(run.checkpoints, name)
    cli.main(["resume", str(out), "--quiet"])
    assert_same_run(run, whole, f"write {k} of step 6 failed, then resumed")


def test_a_model_too_large_for_the_machine_is_refused_before_allocation(tmp_path, cli_in_process):
    result = cli_in_process("train", EXAMPLES / "elman_letters.toml", "--out", tmp_path / "big",
                    "--set", "model.hidden_size=100000000")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(
        # 1e8 x 1e8 recurrent weights, 1e8 x 6 input weights, 2e8 biases, a 6 x 1e8 readout
        "error: [model] is too large for this machine: 10,000,001,400,000,006 parameters take "
        "40,000,005,600,000,024 bytes (40.0 PB) as float32, but only "
    )
    assert "of memory is available" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "big").exists()  # nothing left behind: the same --out works again


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.cli", "list"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "tasks:" in result.stdout
