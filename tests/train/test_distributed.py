"""Data-parallel training (rnnlab.train.distributed, rnnlab.train.launch) in two local processes.

Two processes of one thread each, joined through a file (gloo, no TCP port), train float64 GRU
networks in one launch (:func:`scenarios`: starting processes costs seconds); the tests compare
what they return. Every launch runs under a hard timeout, so that a hang fails.
"""

import contextlib
import json
import signal
from pathlib import Path

import pytest
import torch

import rnnlab
from rnnlab.cli import main
from rnnlab.errors import RnnlabError
from rnnlab.models.readout import Network
from rnnlab.tasks.base import Split, Task
from rnnlab.train.bptt import plan_epoch
from rnnlab.train.config import TrainingConfig
from rnnlab.train.distributed import DataParallel, World
from rnnlab.train.launch import launch
from rnnlab.train.loop import Callback
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import epoch_generator, fit

TIMEOUT = 240  # seconds for one launch: minutes more than it takes on a loaded machine
T = 12  # steps of the longest sequence


def sequences(count: int, seed: int) -> Split:
    """``count`` float64 sequences of 2 to T steps (zero padding after), the target a scaled
    running sum of the first input, the mask their valid steps."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, T + 1, (count,), generator=generator)
    mask = torch.arange(T)[None] < lengths[:, None]  # (N, T)
    x = torch.randn(count, T, 2, generator=generator, dtype=torch.float64) * mask[..., None]
    return Split(x, 0.3 * x[..., :1].cumsum(1), mask, lengths)


class VariableLengths(Task):
    """``count`` fixed training sequences of different lengths."""

    name = "variable_lengths"
    description = "fixed float64 sequences of 2 to 12 steps"
    stream = False
    loss = "mse"
    input_size = 2
    output_size = 1

    def __init__(self, count: int) -> None:
        self.count = count

    def splits(self) -> dict[str, Split]:
        return {"train": sequences(self.count, 0), "val": sequences(8, 1), "test": sequences(8, 2)}


class Stream(Task):
    """One long float64 sequence, cut into parallel streams whose state is carried (8 streams
    of 60 steps: 12 chunks of 5 a pass, so that step 10 is inside an epoch)."""

    name = "stream"
    description = "one float64 stream"
    stream = True
    loss = "mse"
    input_size = 2
    output_size = 1

    def splits(self) -> dict[str, Split]:
        def split(seed: int) -> Split:
            x = torch.randn(1, 480, 2, generator=torch.Generator().manual_seed(seed))
            return Split(x.double(), 0.5 * x[..., :1].double().roll(1, 1))

        return {"train": split(0), "val": split(1), "test": split(2)}


class WithUnused(Network):
    """A network with a parameter that never takes part in the output."""

    def __init__(self) -> None:
        super().__init__(rnnlab.GRU(2, 8), 1)
        self.unused = torch.nn.Parameter(torch.zeros(3))


class InterruptAt(Callback):
    """Ask for a stop after update ``step`` (in one process only: every process must stop)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, loop) -> None:
        if loop.state.step == self.step:
            loop.interrupted = True


def network(seed: int = 0) -> Network:
    torch.manual_seed(seed)
    return Network(rnnlab.GRU(2, 8), 1).double()


def training(batch_size: int, **options) -> TrainingConfig:
    return TrainingConfig(**{
        "max_steps": 20, "batch_size": batch_size, "lr": 0.01, "eval_every": 1000,
        "log_every": 5, "checkpoint_every": 5, **options,
    })  # fmt: skip


STREAM = {"bptt": "truncated", "chunk_length": 5}


def weights(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def scenarios(world: World, directory: str) -> dict:
    """Every data-parallel run of the tests, in one launch; rank 0 also trains the one-process
    references (batch 8 = 2 x 4)."""
    out = {}
    for name, normalisation in (("global", "global_tokens"), ("rank_mean", "rank_mean")):
        net = network()
        fit(net, VariableLengths(64), training(4), data_parallel=DataParallel(normalisation))
        out[name] = weights(net)

    net = network()
    result = fit(net, VariableLengths(65), training(4, max_steps=100, max_epochs=2),
                 data_parallel=DataParallel())  # fmt: skip
    out["uneven"] = (result.reason, result.step, result.epoch, weights(net))

    for name, (task, options) in {"sequences": (VariableLengths(64), {}),
                                  "stream": (Stream(), STREAM)}.items():  # fmt: skip
        whole, parts = (Path(directory) / f"{name}-{part}" for part in ("whole", "parts"))
        for path in (whole, parts):
            path.mkdir(exist_ok=True)
        net = network()
        fit(net, task, training(4, **options), RunDirectory(whole), data_parallel=DataParallel())
        stopped = fit(network(), task, training(4, **options), RunDirectory(parts),
                      [InterruptAt(10)] if world.rank == 1 else [],
                      data_parallel=DataParallel())  # fmt: skip
        resumed_net = network(seed=123)  # other weights: only the checkpoint can make them right
        resumed = fit(resumed_net, task, training(4, **options), RunDirectory(parts), resume=True,
                      data_parallel=DataParallel())  # fmt: skip
        ends = [(stopped.reason, stopped.step), (resumed.reason, resumed.step)]
        out[name] = {"whole": weights(net), "resumed": weights(resumed_net), "ends": ends}

    try:
        fit(WithUnused().double(), VariableLengths(64), training(4), data_parallel=DataParallel())
        out["unused"] = None
    except RnnlabError as error:
        out["unused"] = str(error)

    if world.main:  # one process, one thread, batch 8: what two processes of batch 4 must equal
        for name, task, options in (("global", VariableLengths(64), {}),
                                    ("stream", Stream(), STREAM)):  # fmt: skip
            net = network()
            fit(net, task, training(8, **options))
            out[f"reference_{name}"] = weights(net)
    return out


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    directory = tmp_path_factory.mktemp("distributed")
    return launch(scenarios, 2, (str(directory),), threads=1, timeout=TIMEOUT), directory


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise TimeoutError in the block after ``seconds`` (the launcher then kills its processes)."""

    def expire(signum, frame):
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def relative_difference(a: dict, b: dict) -> float:
    """The largest difference of a parameter over that parameter's largest value."""
    return max(float((a[k] - b[k]).abs().max() / b[k].abs().max()) for k in b)


def identical(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in b)


def test_two_processes_of_batch_4_train_as_one_process_of_batch_8(ranks):
    (first, second), _ = ranks
    assert identical(first["global"], second["global"])  # max abs diff 0
    assert relative_difference(first["global"], first["reference_global"]) < 1e-10
    assert not identical(first["global"], network().state_dict())  # it trained


def test_the_mean_of_each_process_own_mean_differs(ranks):
    (first, second), _ = ranks
    assert identical(first["rank_mean"], second["rank_mean"])
    assert relative_difference(first["rank_mean"], first["reference_global"]) > 1e-8


def test_uneven_data_leaves_one_sequence_out_and_finishes(ranks):
    (first, second), _ = ranks
    assert first["uneven"][:3] == second["uneven"][:3] == ("max_epochs", 16, 2)  # 64 // 8 a pass
    assert identical(first["uneven"][3], second["uneven"][3])


@pytest.mark.parametrize("task", ["sequences", "stream"])
def test_a_run_stopped_at_step_10_and_resumed_equals_one_that_never_stopped(ranks, task):
    (first, second), directory = ranks
    for rank in (first, second):
        assert rank[task]["ends"] == [("interrupted", 10), ("max_steps", 20)]
        assert identical(rank[task]["resumed"], rank[task]["whole"])
    assert identical(first[task]["whole"], second[task]["whole"])
    # Rank 0 alone wrote: every record once, the checkpoint of the stop among the kept ones.
    records = [RunDirectory(directory / f"{task}-{part}").read_metrics()
               for part in ("whole", "parts")]  # fmt: skip
    assert [r["step"] for r in records[0]] == [5, 10, 15, 20, 20]
    timing = ("wall_time", "tokens_per_s")
    assert [{k: v for k, v in r.items() if k not in timing} for r in records[1]] == [
        {k: v for k, v in r.items() if k not in timing} for r in records[0]
    ]
    kept = sorted(p.name for p in (directory / f"{task}-parts" / "checkpoints").glob("step-*"))
    assert kept == ["step-00000010", "step-00000015", "step-00000020"]


def test_a_stream_of_two_processes_equals_one_process_with_both_streams(ranks):
    (first, _), _ = ranks
    assert relative_difference(first["stream"]["whole"], first["reference_stream"]) < 1e-10


def test_a_parameter_without_gradient_is_named(ranks):
    (first, second), _ = ranks
    assert first["unused"] == second["unused"]
    assert "no gradient reached unused" in first["unused"]


def test_the_cli_trains_in_two_processes_and_one_writes(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(
        '[model]\nkind = "gru"\nhidden_size = 4\n'
        '[task]\nname = "adding"\nseq_len = 8\nnum_train = 33\nnum_val = 8\nnum_test = 8\n'
        "[training]\nmax_steps = 6\nbatch_size = 4\neval_every = 3\nlog_every = 2\n"
        "checkpoint_every = 3\n"
    )
    out = tmp_path / "run"
    with deadline(TIMEOUT):
        main(["train", str(config), "--nproc", "2", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert printed.count("run directory:") == 1
    assert "max_steps at step 6 (epoch 1)" in printed  # 32 of 33 sequences: 4 steps a pass
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "checkpoints", "config.toml", "metrics.jsonl",
    ]  # fmt: skip
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], "val_loss" in r) for r in records] == [
        (2, False), (3, True), (4, False), (6, False), (6, True),
    ]  # fmt: skip


def test_the_plan_of_two_processes_strides_the_global_batches_of_one():
    split = sequences(65, 0)
    one = plan_epoch(split, False, 8, "full", None, epoch_generator(0, 3))
    two = [plan_epoch(split, False, 4, "full", None, epoch_generator(0, 3), (r, 2)) for r in (0, 1)]
    assert len(two[0]) == len(two[1]) == 8 and len(one) == 9  # one sequence left out
    for whole, first, second in zip(one, *two):
        steps = first.x.shape[1], second.x.shape[1]
        assert torch.equal(whole.x[0::2, : steps[0]], first.x)  # each trimmed to its longest
        assert torch.equal(whole.x[1::2, : steps[1]], second.x)
        assert torch.equal(torch.cat([first.lengths, second.lengths]).sort().values,
                           whole.lengths.sort().values)  # fmt: skip


def test_the_world_of_torchrun_is_read_from_the_environment():
    assert World.from_environment({}) is None
    world = World.from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (world.rank, world.size, world.local_rank, world.main) == (3, 4, 1, False)
    with pytest.raises(RnnlabError, match=r"RANK must be in 0 \.\. WORLD_SIZE - 1 = 1; got 2"):
        World.from_environment({"RANK": "2", "WORLD_SIZE": "2"})


@pytest.mark.parametrize(
    ("environment", "options", "message"),
    [
        ({"RANK": "0", "WORLD_SIZE": "2"}, [], "leave --nproc out"),
        ({}, ["--set", "training.teacher_forcing=0.5"], "needs teacher_forcing = 1"),
    ],
    ids=["nproc_under_torchrun", "scheduled_sampling"],
)
def test_what_cannot_train_data_parallel_is_one_line_before_anything(
    monkeypatch, tmp_path, capsys, environment, options, message
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = Path(__file__).parents[2] / "examples" / "adding_gru.toml"
    with pytest.raises(SystemExit) as exited:
        main(["train", str(config), "--nproc", "2", "--out", str(tmp_path / "run"), *options])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_data_parallel_needs_a_process_group():
    with pytest.raises(RnnlabError, match=r"needs an initialised torch\.distributed process group"):
        DataParallel()
