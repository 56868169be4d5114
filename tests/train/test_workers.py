"""Independent jobs on local worker processes: the results of every job, in order, as if run
here; the thread count each worker was given; errors that name what was asked."""

import os
import time

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.train.workers import available_cpus, plan_workers, run_jobs

two_cpus = pytest.mark.skipif(available_cpus() < 2, reason="two workers need two CPUs")


def seeded_training(seed: int, steps: int) -> tuple[int, int, list[float]]:
    """A small seeded fit of a linear model: the worker's process id and thread count, and
    the losses (the same numbers wherever it runs on one thread)."""
    torch.manual_seed(seed)
    w = torch.zeros(3, requires_grad=True)
    x, y = torch.randn(32, 3), torch.randn(32)
    optimizer = torch.optim.SGD([w], lr=0.1)
    losses = []
    for _ in range(steps):
        loss = ((x @ w - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return os.getpid(), torch.get_num_threads(), losses


def failing(value: int) -> int:
    if value == 2:
        raise ValueError(f"job {value} fails")
    if value < 0:  # a job that would run for minutes
        time.sleep(-value)
    return value


@two_cpus
def test_jobs_on_two_workers_equal_the_same_jobs_here():
    jobs = [(seed, 20) for seed in range(3)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = run_jobs(seeded_training, jobs, workers=1)
    finally:
        torch.set_num_threads(threads)
    there = run_jobs(seeded_training, jobs, workers=2, threads=1)
    assert [losses for _, _, losses in there] == [losses for _, _, losses in here]
    assert {pid for pid, _, _ in there} - {os.getpid()}, "the jobs ran in other processes"
    assert os.getpid() not in {pid for pid, _, _ in there}
    assert all(n == 1 for _, n, _ in there)
    assert here[0][2] != here[1][2]  # the seeds differ: the comparison can fail


@two_cpus
def test_a_failing_job_stops_the_others_at_once():
    start = time.monotonic()
    with pytest.raises(ValueError, match="job 2 fails"):
        run_jobs(failing, [(-120,), (2,), (-120,)], workers=2, threads=1)
    assert time.monotonic() - start < 60, "it waited for the running job"


def test_one_worker_runs_here_and_raises_as_is():
    assert run_jobs(failing, [(1,), (3,)]) == [1, 3]
    with pytest.raises(ValueError, match="job 2 fails"):
        run_jobs(failing, [(2,)])


def test_the_plan_shares_the_cpus_out(monkeypatch):
    monkeypatch.setattr("rnnlab.train.workers.available_cpus", lambda: 4)
    assert plan_workers(10) == (4, 1)
    assert plan_workers(2) == (2, 2)
    assert plan_workers(10, workers=3) == (3, 1)
    assert plan_workers(1, workers=4) == (1, torch.get_num_threads())  # one job: here
    with pytest.raises(RnnlabError, match="workers = 5 is more than the 4 CPU"):
        plan_workers(10, workers=5)
    with pytest.raises(RnnlabError, match="workers must be an integer >= 1; got 0"):
        plan_workers(10, workers=0)
    with pytest.raises(RnnlabError, match="3 workers x 2 threads is more than the 4 CPU"):
        run_jobs(failing, [(1,)] * 3, workers=3, threads=2)
