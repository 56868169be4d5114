"""Independent jobs on local worker processes: the seeds and networks of a study, side by side.

A study trains its networks one after another, and at the sizes studies use (H of tens to a
hundred or two, batches of tens) one network does not keep two cores busy: its steps are
short, dependent and mostly single-threaded, and torch's second thread costs more in
synchronisation than it gives. Measured on the 2-core development machine (quiet): the
context-dependent integration network of ``neuro-tasks --quick`` (N = 100, B = 50) trains at
32 ms an update on 2 threads alone and at 35 ms on 1 thread while the random-dots network
trains beside it on the other core, so the two together take the time of the longer one.

:func:`run_jobs` calls ``function(*job)`` for every job and returns the results in the jobs'
order: here, one after another, with ``workers=1``; else on ``workers`` processes started with
``spawn`` (a fresh interpreter: no state of this process leaks into a job), each with
``threads`` torch threads, ``workers * threads`` no more than the CPUs this process may use.
``function`` must be importable (a module's top-level function) and the jobs and results
picklable. A job's numbers depend on its arguments and on its thread count (a matrix product
may sum in another order on another number of threads; the measured loop choice of
:mod:`rnnlab.kernels.tuning` is per thread count too), not on the process it ran in.

:class:`rnnlab.train.sweep` has its own executors (checkpoints, resumption, Ray); this is the
plain map a study needs.
"""

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rnnlab.errors import RnnlabError


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def plan_workers(jobs: int, workers: int | None = None) -> tuple[int, int]:
    """``(workers, threads)`` for ``jobs`` jobs: ``workers`` as asked (default: as many as the
    CPUs and the jobs allow), the CPUs shared out among them as torch threads."""
    cpus = available_cpus()
    if workers is None:
        workers = max(1, min(cpus, jobs))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise RnnlabError(f"workers must be an integer >= 1; got {workers!r}")
    if workers > cpus:
        raise RnnlabError(
            f"workers = {workers} is more than the {cpus} CPU(s) this process may use; "
            "processes beyond the cores only slow each other down"
        )
    workers = min(workers, max(jobs, 1))
    threads = max(1, cpus // workers) if workers > 1 else torch.get_num_threads()
    return workers, threads


def cpu_seconds() -> float:
    """The CPU time of this process and of its ended child processes (the workers, once their
    pool is closed), user and system."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _start(threads: int) -> None:
    torch.set_num_threads(threads)


def run_jobs(function: Callable[..., Any], jobs: Sequence[tuple], workers: int = 1,
             threads: int | None = None) -> list[Any]:  # fmt: skip
    """``[function(*job) for job in jobs]``, on ``workers`` local processes of ``threads`` torch
    threads each (see the module docstring); the first exception in any job is raised here as
    soon as it happens, after the other jobs are cancelled and the workers stopped."""
    jobs = [tuple(job) for job in jobs]
    if workers == 1:
        return [function(*job) for job in jobs]
    threads = threads or max(1, available_cpus() // workers)
    if workers * threads > available_cpus():
        raise RnnlabError(
            f"{workers} workers x {threads} threads is more than the {available_cpus()} CPU(s) "
            "this process may use"
        )
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(function, *job) for job in jobs]
        try:  # the first failure ends the map, whichever job it is
            done, _ = concurrent.futures.wait(
                futures, return_when=concurrent.futures.FIRST_EXCEPTION
            )
            for future in done:
                if future.exception() is not None:
                    raise future.exception()
            return [future.result() for future in futures]
        except BaseException:
            _stop(pool)
            raise


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel the jobs not started and end the running ones now: leaving the pool would wait
    for every running job to finish (minutes of training whose result nobody reads)."""
    processes = list((pool._processes or {}).values())  # no public way before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
