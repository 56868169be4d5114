"""Starting the processes of data-parallel training: ``rnnlab train --nproc N``, or torchrun.

:func:`launch` starts N local processes with ``torch.multiprocessing`` (spawn), joins them in
one process group through a file in a temporary directory (no TCP port is opened), with
``torch.set_num_threads(cpus // N)`` each so that they do not oversubscribe the cores, and
returns what each one returned. On CPUs the backend is gloo, on GPUs NCCL (process ``r`` on
GPU ``r``).

Under torchrun (several machines, or one), each process reads its place from the environment
torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``;
:func:`torchrun_world`); torchrun sets ``OMP_NUM_THREADS=1`` unless it is set. For example,
on each of two machines::

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 --master-addr node0 --master-port 29500 \\
        -m rnnlab.cli train CONFIG --out /shared/runs/a     # --node-rank 1 on the other

The run directory must be on a file system every machine sees: rank 0 writes it, and on
resume every process reads its checkpoint.

:func:`fit_run_parallel` is what ``rnnlab train --nproc N`` and ``rnnlab resume --nproc N``
call: :func:`rnnlab.train.fit` in N processes (:mod:`rnnlab.train.distributed`).
"""

import os
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rnnlab.errors import RnnlabError
from rnnlab.train.build import build
from rnnlab.train.distributed import DataParallel, World
from rnnlab.train.interrupt import StopOnSignals
from rnnlab.train.progress import ProgressDisplay
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import FitResult, fit


def cpu_count() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def launch(
    function: Callable,
    nproc: int,
    args: Sequence = (),
    *,
    device: str = "cpu",
    threads: int | None = None,
    timeout: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> list:
    """Run ``function(world, *args)`` in ``nproc`` new local processes joined in one process
    group; return what each returned, in rank order.

    ``function`` must be importable by name (a module-level function), its arguments and
    return value picklable. Each process uses ``threads`` threads (default: the cores over
    ``nproc``) and, with ``device = "cuda"``, GPU ``rank``. Once ``should_stop()`` is true (it
    is polled here), every process's ``world.should_stop()`` is. A process that raises makes
    the others stop; the error is raised here (an :class:`~rnnlab.errors.RnnlabError` as it
    was raised). After ``timeout`` seconds the processes are killed and ``TimeoutError`` is
    raised, so that a hang cannot block forever.
    """
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1; got {nproc}")
    if device == "cuda" and nproc > torch.cuda.device_count():
        raise RnnlabError(
            f"--nproc {nproc} on cuda needs {nproc} GPUs; this machine has "
            f"{torch.cuda.device_count()}"
        )
    threads = threads or max(1, cpu_count() // nproc)
    stop = mp.get_context("spawn").Event()
    with tempfile.TemporaryDirectory(prefix="rnnlab-ddp-") as directory:
        context = mp.start_processes(
            _process, args=(nproc, directory, device, threads, stop, function, tuple(args)),
            nprocs=nproc, join=False, start_method="spawn",
        )  # fmt: skip
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not context.join(timeout=0.2, grace_period=2):
                if should_stop():
                    stop.set()
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the {nproc} data-parallel processes did not finish within {timeout} s"
                    )
        except (mp.ProcessRaisedException, mp.ProcessExitedException):
            error = _first_error(Path(directory), nproc)
            if error is None:
                raise
            raise error from None
        finally:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                process.join()
        return [_result(Path(directory), rank) for rank in range(nproc)]


def _process(index, nproc, directory, device, threads, stop, function, args) -> None:
    """One process of :func:`launch`: join the group, run ``function``, leave its result."""
    torch.set_num_threads(threads)
    if device == "cuda":
        torch.cuda.set_device(index)
    dist.init_process_group(
        "nccl" if device == "cuda" else "gloo", init_method=f"file://{directory}/rendezvous",
        rank=index, world_size=nproc,
    )  # fmt: skip
    try:
        result = function(World(index, nproc, index, stop), *args)
    except RnnlabError as error:
        _write(Path(directory) / f"error-{index}.pickle", error)
        raise
    finally:
        dist.destroy_process_group()
    _write(Path(directory) / f"result-{index}.pickle", result)


def _write(path: Path, value) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as file:
        pickle.dump(value, file)
    temporary.replace(path)  # whole or absent, if the process is killed while writing


def _first_error(directory: Path, nproc: int) -> RnnlabError | None:
    for rank in range(nproc):
        path = directory / f"error-{rank}.pickle"
        if path.exists():
            return pickle.loads(path.read_bytes())
    return None


def _result(directory: Path, rank: int):
    path = directory / f"result-{rank}.pickle"
    if not path.exists():  # a second Ctrl-C: it stopped at once
        raise RnnlabError(f"data-parallel process {rank} ended without a result")
    return pickle.loads(path.read_bytes())


def torchrun_world(device: str = "cpu") -> World | None:
    """The :class:`World` of this process if torchrun started it, with its process group
    joined (``env://``: ``MASTER_ADDR``, ``MASTER_PORT``); None otherwise."""
    world = World.from_environment()
    if world is None:
        return None
    if device == "cuda":
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo", init_method="env://")
    return world


def shared_run(world: World, run: RunDirectory | None) -> RunDirectory:
    """Rank 0's run directory in every process: rank 0 gives the one it created, the others
    open it once rank 0 has (the directory must be on a file system they all see)."""
    path = [str(run.path) if world.main else None]
    dist.broadcast_object_list(path, src=0)
    return run if world.main else RunDirectory.open(path[0])


def fit_run_parallel(
    run: RunDirectory,
    nproc: int,
    *,
    network: torch.nn.Module | None = None,
    resume: bool = False,
    checkpoint: str | None = None,
    device: str = "cpu",
    display: str = "auto",
    should_stop: Callable[[], bool] = lambda: False,
) -> FitResult:
    """Train the run's config in ``nproc`` local processes (:func:`launch`), as
    :func:`rnnlab.train.fit_run` does in one; returns rank 0's result.

    The result's network is ``network`` (the one the config builds; built afresh if None)
    holding the trained weights. ``display`` is the progress display's mode (rank 0 shows it).
    """
    run.release_lock()  # rank 0 takes it for the training
    summary = launch(
        _fit_process, nproc, (str(run.path), resume, checkpoint, device, display),
        device=device, should_stop=should_stop,
    )[0]  # fmt: skip
    if network is None:
        network = build(run.config(), device)[1]
    network.load_state_dict(summary.pop("weights"))
    return FitResult(network, **summary)


def _fit_process(world: World, path: str, resume: bool, checkpoint, device: str, display: str):
    """One process of :func:`fit_run_parallel`: build from the run's config and fit."""
    run = RunDirectory.open(path)
    config = run.config()
    task, network = build(config, device)
    # Ctrl-C reaches every process of the terminal's group: the launcher's says it heard it.
    with StopOnSignals(echo=lambda line: None) as stop:
        result = fit(
            network, task, config.training, run, resume=resume, checkpoint=checkpoint,
            device=next(network.parameters()).device.type,
            display=ProgressDisplay(display if world.main else "quiet"),
            should_stop=lambda: stop() or world.should_stop(), data_parallel=DataParallel(),
        )  # fmt: skip
    if not world.main:
        return None
    weights = {k: v.cpu() for k, v in result.network.state_dict().items()}
    return {"step": result.step, "epoch": result.epoch, "reason": result.reason,
            "metrics": result.metrics, "history": result.history, "weights": weights}  # fmt: skip
