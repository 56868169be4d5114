"""Sweeps: every point of a sweep file times every seed, each an ordinary run directory.

:func:`run_sweep` reads a sweep file (:mod:`rnnlab.train.sweep_config`), trains each of its
runs in ``OUT/<run name>/`` with :func:`rnnlab.train.trainer.fit_run`, and summarises the final
validation metrics of each point over its seeds::

    OUT/
      model.hidden_size=8,seed=0/      an ordinary run: config.toml, metrics.jsonl, checkpoints/
      model.hidden_size=8,seed=1/      (`rnnlab resume`, `evaluate` work on each)
      ...
      summary.csv  summary.json        every final val_* metric per point: n, mean, sd (ddof=1)
      summary.png                      the main metric against the swept value (or per point)

A run directory is the unit of work. Before anything runs, each is looked at: a run whose last
checkpoint says it finished is never redone, one with a checkpoint resumes from it (bit for
bit as if it had never stopped, as ``rnnlab resume`` does), one without a checkpoint starts
over, and a directory holding another config than the sweep's is refused. So a sweep that was
killed, or stopped with Ctrl-C, continues where it was when the same command runs again. (A run
that diverged stays unfinished: a re-run tries it again from its last good checkpoint.)

Where the runs are trained, each executor the same three calls (``submit``, ``request_stop``,
``close``):

* one run at a time in this process (``workers=1``), with ``threads_per_worker`` torch threads;
* local worker processes (``workers=N``, started with ``spawn``), each with
  ``threads_per_worker`` torch threads: ``N * threads_per_worker`` may not exceed the CPUs
  this process may use, so that the workers never oversubscribe the cores;
* Ray (``ray="local"`` starts a local Ray instance, ``ray=ADDRESS`` joins a running cluster):
  each run a Ray task that asks for ``cpus_per_run`` CPUs (and torch threads) and
  ``gpus_per_run`` GPUs (it trains on CUDA when that is above 0). On a cluster, ``OUT`` must be
  on a file system every node sees, and rnnlab installed on every node.

A run's numbers do not depend on the executor, only on its config and its thread count: the
tests check that runs on two workers equal the same runs made one after another, bit for bit.

Example::

    summary = run_sweep("examples/sweep_letters.toml", "runs/sweep", workers=2)
    summary.points[0].metrics["val_loss"].mean
"""

import concurrent.futures
import csv
import dataclasses
import io
import json
import math
import multiprocessing
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.train.build import build
from rnnlab.train.checkpoint import latest_checkpoint, load_checkpoint
from rnnlab.train.config import RunConfig
from rnnlab.train.interrupt import StopOnSignals
from rnnlab.train.progress import ProgressDisplay
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.sweep_config import PlannedRun, Sweep, load_sweep
from rnnlab.train.trainer import TrainingDivergedError, fit_run
from rnnlab.train.workers import available_cpus

# -- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """How one run of a sweep went in this call of :func:`run_sweep`.

    ``status`` is ``"skipped"`` (it had finished before), ``"finished"`` (it trained to its
    end now), ``"interrupted"`` (stopped with a checkpoint; a re-run resumes it) or
    ``"diverged"`` (``message`` says where; a re-run tries again from its last checkpoint).
    """

    name: str
    point: str
    seed: int
    status: str
    reason: str | None = None  # how the training ended: max_steps, early_stopping, ...
    step: int | None = None
    seconds: float = 0.0  # spent in this call
    metrics: dict[str, float] = field(default_factory=dict)  # the final validation
    message: str | None = None


def run_state(path: Path, config: RunConfig) -> str:
    """What the run directory ``path`` holds for a run of ``config``: ``"new"`` (nothing yet),
    ``"restart"`` (a config, but no checkpoint), ``"resume"`` (an unfinished checkpoint) or
    ``"finished"`` (its last checkpoint says it finished). A directory that holds a run of
    another config is a :class:`ConfigError`."""
    if not (path / "config.toml").is_file():
        return "new"
    run = RunDirectory.open(path)
    saved = run.config()
    if saved != config:
        raise ConfigError(
            f"{path} holds a run of another config ({_first_difference(saved, config)}); "
            f"remove it, or choose another --out"
        )
    name = latest_checkpoint(run.checkpoints)
    if name is None:
        return "restart"
    # The trainer saves its TrainState in every checkpoint; `finished` says why it ended.
    finished = load_checkpoint(run.checkpoints, name).meta["state"]["finished"]
    return "finished" if finished else "resume"


def train_run(
    path: str | Path,
    config: RunConfig,
    device: str = "cpu",
    should_stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Train the run of ``config`` in the directory ``path`` to its end: a new run, the
    continuation of an unfinished one, or nothing for a finished one (see :func:`run_state`).
    Returns ``status``, ``reason``, ``step``, ``metrics`` (the final validation) and
    ``seconds``, as plain data that crosses process boundaries."""
    path = Path(path)
    start = time.perf_counter()
    state = run_state(path, config)
    if state == "finished":
        return {"status": "skipped", "reason": None, "step": None, "metrics": {}, "seconds": 0.0}
    if state == "new":
        run = RunDirectory.create(path, config)  # holds the lock; fit releases it at its end
    else:
        run = RunDirectory.open(path)
        run.acquire_lock()
    try:  # a "restart" resumes too: fit starts a run without checkpoints again from step 0
        result = fit_run(
            run, config, resume=state != "new", device=device,
            display=ProgressDisplay("quiet"), should_stop=should_stop,
        )  # fmt: skip
    except TrainingDivergedError as error:
        return {
            "status": "diverged", "reason": "diverged", "step": None, "metrics": {},
            "seconds": time.perf_counter() - start, "message": str(error),
        }  # fmt: skip
    finally:
        run.release_lock()
    status = "interrupted" if result.reason == "interrupted" else "finished"
    return {
        "status": status, "reason": result.reason, "step": result.step,
        "metrics": dict(result.metrics), "seconds": time.perf_counter() - start,
    }  # fmt: skip


# -- executors ------------------------------------------------------------------------------------


class _InProcess:
    """One run at a time, in this process, with ``threads`` torch threads."""

    def __init__(self, threads: int, device: str, should_stop: Callable[[], bool]) -> None:
        self.capacity, self.threads, self.device = 1, threads, device
        self.should_stop = should_stop

    def submit(self, path: Path, config: RunConfig) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            future.set_result(train_run(path, config, self.device, self.should_stop))
        except Exception as error:
            future.set_exception(error)
        finally:
            torch.set_num_threads(threads)
        return future

    def request_stop(self) -> None:
        pass  # the run in progress reads should_stop itself

    def close(self) -> None:
        pass


# Set in each local worker process by its initializer.
_worker_stop = None


def _start_worker(threads: int, stop) -> None:
    """The initializer of a local worker process."""
    global _worker_stop
    # Ctrl-C at a terminal reaches every process of the group: an idle worker ignores it, a
    # training one stops after its step (train_run's StopOnSignals) and the sweep stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    _worker_stop = stop


def _train_in_worker(path: Path, config: RunConfig, device: str) -> dict:
    with StopOnSignals(echo=lambda line: None) as stopped:
        return train_run(path, config, device, lambda: stopped() or _worker_stop.is_set())


class _LocalWorkers:
    """``workers`` spawned processes, ``threads`` torch threads each."""

    def __init__(self, workers: int, threads: int, device: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.capacity, self.device = workers, device
        self.stop = context.Event()
        self.pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(threads, self.stop)
        )

    def submit(self, path: Path, config: RunConfig) -> concurrent.futures.Future:
        return self.pool.submit(_train_in_worker, path, config, self.device)

    def request_stop(self) -> None:
        self.stop.set()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _train_in_ray(path: str, config: RunConfig, device: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    with StopOnSignals(echo=lambda line: None) as stopped:
        return train_run(path, config, device, stopped)


class _Ray:
    """Each run a Ray task asking for ``cpus`` CPUs and ``gpus`` GPUs; on a local Ray
    instance of ``local_cpus`` CPUs (started here) or on the cluster at ``address``."""

    def __init__(self, address: str, cpus: int, gpus: float, local_cpus: int) -> None:
        try:
            import ray
        except ImportError:
            raise RnnlabError(
                "--ray needs the ray package: pip install 'rnnlab[ray]' (or ray itself)"
            ) from None
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            if address == "local":
                ray.init(num_cpus=local_cpus, include_dashboard=False)
            else:
                ray.init(address=address)
        self.device = "cuda" if gpus > 0 else "cpu"
        self.threads = cpus
        self.task = ray.remote(num_cpus=cpus, num_gpus=gpus)(_train_in_ray)
        self.capacity = math.inf  # Ray queues the runs and places them as resources free up
        self.refs: list = []

    def submit(self, path: Path, config: RunConfig) -> concurrent.futures.Future:
        ref = self.task.remote(str(path), config, self.device, self.threads)
        self.refs.append(ref)
        return ref.future()

    def request_stop(self) -> None:
        # A running task gets a KeyboardInterrupt's signal: its StopOnSignals checkpoints it.
        for ref in self.refs:
            self.ray.cancel(ref)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _executor(workers, threads_per_worker, ray, cpus_per_run, gpus_per_run, todo, should_stop):
    """The executor that the options ask for; a one-line error for a combination that
    oversubscribes the CPUs or mixes local and Ray options."""
    cpus = available_cpus()
    if ray is not None:
        if threads_per_worker is not None:
            raise ConfigError("--threads-per-worker is for local workers; with --ray it is "
                              "--cpus-per-run")  # fmt: skip
        if workers is not None and ray != "local":
            raise ConfigError("--workers is for local workers and --ray local; a cluster's "
                              "size is its own")  # fmt: skip
        local_cpus = cpus if workers is None else workers * cpus_per_run
        return _Ray(ray, cpus_per_run, gpus_per_run, local_cpus)
    if gpus_per_run:
        raise ConfigError("--gpus-per-run is for Ray tasks (--ray)")
    if cpus_per_run != 1:
        raise ConfigError("--cpus-per-run is for Ray tasks (--ray); locally it is "
                          "--threads-per-worker")  # fmt: skip
    if threads_per_worker is not None and threads_per_worker > cpus:
        raise ConfigError(f"--threads-per-worker {threads_per_worker} is more than the {cpus} "
                          f"CPUs this process may use")  # fmt: skip
    if workers is None:
        workers = max(1, min(todo, cpus // (threads_per_worker or 1)))
    threads = threads_per_worker or max(1, cpus // workers)
    if workers * threads > cpus:
        raise ConfigError(
            f"--workers {workers} x --threads-per-worker {threads} = {workers * threads} "
            f"threads on the {cpus} CPUs this process may use; lower one of them"
        )
    if workers == 1 or todo <= 1:
        return _InProcess(threads, "cpu", should_stop)
    return _LocalWorkers(min(workers, todo), threads, "cpu")


# -- the sweep ------------------------------------------------------------------------------------


def run_sweep(
    path: str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    ray: str | None = None,
    cpus_per_run: int = 1,
    gpus_per_run: float = 0.0,
    metric: str = "val_loss",
    on_run: Callable[[RunOutcome], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> "SweepSummary":
    """Run the sweep file at ``path`` into the directory ``out`` and summarise it.

    Args:
        path: The sweep file (:mod:`rnnlab.train.sweep_config`).
        out: The sweep's directory: one run directory per point and seed, and the summary.
        workers: Local runs at once (default: as many as the CPUs allow at
            ``threads_per_worker``, at most the runs to do); 1 trains in this process. With
            ``ray="local"``, the local Ray instance gets ``workers * cpus_per_run`` CPUs.
        threads_per_worker: torch threads of each local run (default: the CPUs shared out
            among the workers).
        ray: ``"local"`` to start a local Ray instance, or the address of a running cluster.
        cpus_per_run: With ``ray``, the CPUs (and torch threads) each run asks for.
        gpus_per_run: With ``ray``, the GPUs each run asks for; above 0 it trains on CUDA.
        metric: The main metric (a ``val_*`` metric) that ``summary.png`` draws.
        on_run: Called with each :class:`RunOutcome` as the run ends (or is skipped).
        should_stop: Polled while runs are in progress; once it is true no run starts, the
            running ones checkpoint and stop, and the summary holds the finished runs.

    Returns:
        The :class:`SweepSummary` of every run finished in ``out`` (also written there).

    Raises:
        ConfigError: A bad sweep file, base config or override (before anything runs), a
            directory of ``out`` holding another config, or options that oversubscribe the CPUs.
        RnnlabError: A run failed; its directory is named. The runs in progress are stopped
            with a checkpoint.
    """
    if not metric.startswith("val_"):
        raise ConfigError(f"--metric must name a validation metric (val_...); got {metric!r}")
    sweep = load_sweep(path)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a directory")
    states = {run.name: run_state(out / run.name, run.config) for run in sweep.runs}
    _check_builds(sweep, [run.name for run in sweep.runs if states[run.name] != "finished"])
    point_of = {run.name: point.name for point in sweep.points for run in point.runs}
    report = on_run or (lambda outcome: None)
    todo = []
    for run in sweep.runs:
        if states[run.name] == "finished":
            report(RunOutcome(run.name, point_of[run.name], run.seed, "skipped"))
        else:
            todo.append(run)
    if todo:
        executor = _executor(
            workers, threads_per_worker, ray, cpus_per_run, gpus_per_run, len(todo), should_stop
        )
        out.mkdir(parents=True, exist_ok=True)
        try:
            _run_all(executor, todo, out, point_of, report, should_stop)
        finally:
            executor.close()
    out.mkdir(parents=True, exist_ok=True)
    return summarise(sweep, out, metric)


def _check_builds(sweep: Sweep, names: list[str]) -> None:
    """Build the task and network of each point with runs to do, so that a combination that
    only the build refuses (a stream task with a bidirectional model, ...) fails before any
    run starts; the point is named in the error."""
    for point in sweep.points:
        runs = [run for run in point.runs if run.name in names]
        if runs:
            try:
                build(runs[0].config)
            except RnnlabError as error:
                raise type(error)(
                    f"{sweep.path} point {point.name or '(the base)'}: {error}"
                ) from None


def _run_all(executor, todo: list[PlannedRun], out: Path, point_of, report, should_stop) -> None:
    """Keep up to the executor's capacity of runs in flight until every run has ended."""
    waiting = list(reversed(todo))
    in_flight: dict[concurrent.futures.Future, PlannedRun] = {}
    stopping = False
    failure: BaseException | None = None
    while in_flight or (waiting and not stopping):
        while waiting and not stopping and len(in_flight) < executor.capacity:
            run = waiting.pop()
            in_flight[executor.submit(out / run.name, run.config)] = run
            stopping = stopping or should_stop()
        done, _ = concurrent.futures.wait(
            in_flight, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in done:
            run = in_flight.pop(future)
            try:
                result = future.result()
            except Exception as error:
                if not stopping or not _cancelled(error):
                    failure = failure or _failed(out / run.name, error)
                result = {"status": "interrupted"}
            if failure is None:
                try:
                    report(RunOutcome(run.name, point_of[run.name], run.seed, **result))
                except BaseException as error:
                    failure = error
        if failure is not None or (not stopping and should_stop()):
            if not stopping:
                executor.request_stop()
            stopping = True
    if failure is not None:
        raise failure


def _cancelled(error: BaseException) -> bool:
    """Whether ``error`` is Ray's report of a task cancelled by :meth:`_Ray.request_stop`."""
    return type(error).__name__ in ("TaskCancelledError", "CancelledError")


def _failed(path: Path, error: Exception) -> BaseException:
    """A failed run's error, naming its directory (one line for a user's mistake)."""
    if isinstance(error, RnnlabError):
        failure = type(error)(f"{path}: {error}")  # each takes one message
        failure.__cause__ = error
        return failure
    return error


def _first_difference(saved: RunConfig, wanted: RunConfig) -> str:
    saved_data, wanted_data = saved.model_dump(), wanted.model_dump()
    for section in wanted_data:
        for key in sorted(set(saved_data[section]) | set(wanted_data[section])):
            a, b = saved_data[section].get(key), wanted_data[section].get(key)
            if a != b:
                return f"{section}.{key} = {a!r} there, {b!r} in the sweep"
    return "its config differs"


# -- the summary ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one point over its finished seeds: ``sd`` with ddof = 1 (None for n = 1)."""

    n: int
    mean: float
    sd: float | None


@dataclass(frozen=True)
class PointSummary:
    """One point: its overrides, its runs (one per seed), the finished ones, their metrics."""

    name: str
    overrides: dict[str, Any]
    runs: list[str]
    finished: list[str]
    metrics: dict[str, MetricSummary]


@dataclass(frozen=True)
class SweepSummary:
    """The final validation metrics of a sweep's points over their seeds; see
    :func:`summarise`. ``files`` are the summary's files written in the sweep's directory."""

    path: Path
    out: Path
    metric: str
    swept: list[str]
    points: list[PointSummary]
    files: list[Path]

    @property
    def complete(self) -> bool:
        """Whether every run of every point has finished."""
        return all(len(p.finished) == len(p.runs) for p in self.points)

    @property
    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(name for p in self.points for name in p.metrics))

    def to_dict(self) -> dict:
        return {
            "sweep": str(self.path),
            "metric": self.metric,
            "swept": self.swept,
            "complete": self.complete,
            "points": [
                {
                    "name": p.name,
                    "overrides": p.overrides,
                    "runs": p.runs,
                    "finished": p.finished,
                    "metrics": {k: vars(m) for k, m in p.metrics.items()},
                }
                for p in self.points
            ],
        }

    def to_csv(self) -> str:
        """One row per point: its swept values, n, and each metric's mean and sd."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        names = self.metric_names
        writer.writerow(
            ["point", *self.swept, "n", *(f"{n}_{s}" for n in names for s in ("mean", "sd"))]
        )
        for p in self.points:
            row = [p.name, *(_text(p.overrides.get(key)) for key in self.swept)]
            row.append(len(p.finished))
            for name in names:
                m = p.metrics.get(name)
                row += ["", ""] if m is None else [repr(m.mean), "" if m.sd is None else repr(m.sd)]
            writer.writerow(row)
        return text.getvalue()

    def table(self):
        """The summary as a rich Table: a row per point, mean ± sd of each metric."""
        from rich.table import Table

        table = Table(title=f"{self.out}: final validation metrics, mean ± sd over seeds")
        keys = self.swept or ["point"]
        for key in keys:
            table.add_column(key)
        table.add_column("n", justify="right")
        for name in self.metric_names:
            table.add_column(name, justify="right", style="bold" if name == self.metric else None)
        for p in self.points:
            cells = [p.name or "(base)"] if not self.swept else [
                _text(p.overrides.get(key)) for key in keys
            ]  # fmt: skip
            cells.append(f"{len(p.finished)}/{len(p.runs)}")
            for name in self.metric_names:
                m = p.metrics.get(name)
                cells.append("" if m is None else _mean_sd(m))
            table.add_row(*cells)
        return table


def summarise(sweep: Sweep, out: Path, metric: str = "val_loss") -> SweepSummary:
    """Summarise the finished runs of ``sweep`` in ``out`` and write ``summary.csv``,
    ``summary.json`` and ``summary.png`` there: each point's final validation metrics (the
    last ``val_*`` record of each finished run's ``metrics.jsonl``), mean and sd over seeds.

    The figure draws ``metric`` against the swept key's value when the sweep varies one
    numeric key, as a bar per point otherwise; there is none while no run has finished.
    """
    points = []
    for point in sweep.points:
        finished, values = [], {}
        for run in point.runs:
            path = out / run.name
            if not (path / "config.toml").is_file() or run_state(path, run.config) != "finished":
                continue
            finished.append(run.name)
            for name, value in final_validation(RunDirectory(path)).items():
                values.setdefault(name, []).append(value)
        metrics = {name: _statistics(v) for name, v in values.items()}
        points.append(
            PointSummary(point.name, point.overrides, [r.name for r in point.runs], finished,
                         metrics)
        )  # fmt: skip
    summary = SweepSummary(sweep.path, out, metric, sweep.swept, points, files=[])
    files = [out / "summary.csv", out / "summary.json"]
    files[0].write_text(summary.to_csv(), encoding="utf-8")
    files[1].write_text(
        json.dumps(summary.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    measured = [p for p in points if metric in p.metrics]
    if measured:
        files.append(_figure(summary, measured, out / "summary.png"))
    elif any(p.finished for p in points):
        raise ConfigError(
            f"--metric {metric!r} is not measured by these runs; valid: "
            f"{', '.join(summary.metric_names)}"
        )
    return dataclasses.replace(summary, files=files)


def final_validation(run: RunDirectory) -> dict[str, float]:
    """The ``val_*`` metrics of the last validation record of ``run``'s metrics."""
    for record in reversed(run.read_metrics()):
        metrics = {k: v for k, v in record.items() if k.startswith("val_")}
        if metrics:
            return metrics
    return {}


def _statistics(values: list[float]) -> MetricSummary:
    array = np.asarray(values, dtype=np.float64)
    sd = float(np.std(array, ddof=1)) if len(array) > 1 else None
    return MetricSummary(len(array), float(np.mean(array)), sd)


def _figure(summary: SweepSummary, points: list[PointSummary], path: Path) -> Path:
    from rnnlab.report.sweep_figure import plot_sweep

    metric = summary.metric
    means = [p.metrics[metric].mean for p in points]
    sds = [p.metrics[metric].sd for p in points]
    key = summary.swept[0] if len(summary.swept) == 1 else None
    values = [p.overrides.get(key) for p in points] if key else None
    numeric = values is not None and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )
    if numeric:
        return plot_sweep(values, means, sds, metric, path, key=key)
    return plot_sweep([p.name or "(base)" for p in points], means, sds, metric, path)


def _mean_sd(m: MetricSummary) -> str:
    return f"{m.mean:.4g}" if m.sd is None else f"{m.mean:.4g} ± {m.sd:.2g}"


def _text(value: Any) -> str:
    """A swept value in a table cell: strings bare, other values as JSON (true, 0.01)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)
