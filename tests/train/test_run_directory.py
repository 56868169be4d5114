"""The run directory: one process trains in it at a time, and a full disk is named."""

import os
import subprocess
import sys

import pytest

from rnnlab.errors import ConfigError, StorageError
from rnnlab.train.config import parse_config
from rnnlab.train.loop import OnStep
from rnnlab.train.run_directory import RunDirectory, RunInUseError
from rnnlab.train.trainer import fit_run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock")

CONFIG = parse_config(
    {
        "model": {"kind": "elman", "hidden_size": 4},
        "task": {"name": "letters", "num_consonants": 30},
        "training": {"max_steps": 4, "eval_every": 2, "checkpoint_every": 2, "batch_size": 2},
    }
)


def test_a_created_run_is_locked_until_released(tmp_path):
    run = RunDirectory.create(tmp_path / "run", CONFIG)
    assert run.locked and run.lock_path.read_text() == f"{os.getpid()}\n"
    other = RunDirectory.open(tmp_path / "run")  # reading a run takes no lock
    with pytest.raises(RunInUseError) as refused:
        other.acquire_lock()  # flock: another open file, refused even in the same process
    message = str(refused.value)
    assert message.startswith(f"{run.path} is in use: another run (pid {os.getpid()})")
    assert "\n" not in message and not other.locked
    assert run.lock_path.read_text() == f"{os.getpid()}\n"  # the refused one wrote nothing
    run.release_lock()
    other.acquire_lock()
    assert other.locked


def test_creating_a_run_in_use_is_refused_and_changes_nothing(tmp_path):
    holder = RunDirectory(tmp_path / "run")
    holder.path.mkdir()
    holder.acquire_lock()
    with pytest.raises(RunInUseError, match="is in use"):
        RunDirectory.create(tmp_path / "run", CONFIG)
    assert sorted(p.name for p in holder.path.iterdir()) == [".lock"]  # no config, no checkpoints
    holder.release_lock()
    RunDirectory.create(tmp_path / "run", CONFIG).release_lock()
    with pytest.raises(ConfigError, match="already holds a run"):  # free, but taken
        RunDirectory.create(tmp_path / "run", CONFIG)


def test_fit_holds_the_lock_while_it_trains_and_releases_it_after(tmp_path):
    run = RunDirectory.create(tmp_path / "run", CONFIG)
    seen = []

    def try_to_take_the_run(loop):
        try:
            RunDirectory.open(tmp_path / "run").acquire_lock()
        except RunInUseError:
            seen.append(loop.state.step)

    assert fit_run(run, CONFIG, callbacks=[OnStep(try_to_take_the_run)]).reason == "max_steps"
    assert seen == [1, 2, 3, 4]  # refused at every step
    assert not run.locked
    with RunDirectory.open(tmp_path / "run").lock() as again:  # free once fit returned
        assert again.locked
        with pytest.raises(RunInUseError):  # resume takes the same lock
            fit_run(RunDirectory.open(tmp_path / "run"), CONFIG, resume=True)


def test_the_lock_of_a_killed_process_is_free(tmp_path):
    RunDirectory.create(tmp_path / "run", CONFIG).release_lock()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom rnnlab.train.run_directory import RunDirectory\n"
         "run = RunDirectory.open(sys.argv[1]); run.acquire_lock(); print('held', flush=True)\n"
         "time.sleep(60)", str(tmp_path / "run")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunInUseError, match=f"pid {holder.pid}"):
            RunDirectory.open(tmp_path / "run").acquire_lock()
    finally:
        holder.kill()  # SIGKILL: no handler, no clean-up runs
        holder.wait(timeout=30)
        holder.stdout.close()
    run = RunDirectory.open(tmp_path / "run")
    run.acquire_lock()
    assert run.locked


def test_a_full_disk_while_logging_is_one_clear_error(tmp_path):
    run = RunDirectory.create(tmp_path / "run", CONFIG)
    run.metrics_path.mkdir()  # any write to it fails, as to a full disk
    with pytest.raises(StorageError, match=f"cannot write {run.metrics_path}: Is a directory"):
        run.append_metrics({"step": 1})
