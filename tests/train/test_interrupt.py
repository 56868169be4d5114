"""Stopping on a signal: SIGTERM (a pre-emption) and SIGINT (Ctrl-C) checkpoint after the step."""

import os
import signal

import pytest
import torch

from rnnlab.train.checkpoint import latest_checkpoint, load_checkpoint
from rnnlab.train.interrupt import StopOnSignals
from rnnlab.train.loop import OnStep
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import fit_run
from tests.train.test_trainer import config, final_weights, metrics_without_timing, train

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals")


@pytest.mark.parametrize(
    "signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_the_first_signal_asks_to_stop_and_the_handlers_are_restored(signum, status):
    before = signal.getsignal(signum)
    lines = []
    with StopOnSignals(echo=lines.append) as stop:
        assert not stop()
        signal.raise_signal(signum)
        assert stop() and stop.signum == signum and stop.exit_status == status
    assert signal.getsignal(signum) is before
    assert len(lines) == 1 and "stopping after this step" in lines[0]


@pytest.mark.parametrize("signum, stops_with", [
    (signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit),
])  # fmt: skip
def test_a_second_signal_stops_at_once(signum, stops_with):
    with StopOnSignals(echo=lambda line: None):
        signal.raise_signal(signum)
        with pytest.raises(stops_with) as stopped:
            signal.raise_signal(signum)
    if stops_with is SystemExit:
        assert stopped.value.code == 143


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_checkpoints_after_the_step_and_resume_equals_one_run(tmp_path, signum):
    run_config = config(max_steps=20)
    whole, _ = train(tmp_path, "whole", run_config)
    run = RunDirectory.create(tmp_path / "parts", run_config)

    def signal_at_step_7(loop):
        if loop.state.step == 7:
            signal.raise_signal(signum)  # arrives while the step's bookkeeping runs

    with StopOnSignals(echo=lambda line: None) as stop:
        result = fit_run(run, run_config, callbacks=[OnStep(signal_at_step_7)], should_stop=stop)
    assert (result.reason, result.step, stop.exit_status) == ("interrupted", 7, 128 + signum)
    # A checkpoint of the step it stopped at, not only the regular ones (every 10 steps).
    assert load_checkpoint(run.checkpoints).name == "step-00000007"
    result = fit_run(run, run_config, resume=True)
    assert (result.reason, result.step) == ("max_steps", 20)
    a, b = final_weights(whole), final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_timing(whole) == metrics_without_timing(run)


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path):
    run_config = config(max_steps=20)  # a checkpoint every 10 steps
    whole, _ = train(tmp_path, "whole", run_config)
    run = RunDirectory.create(tmp_path / "parts", run_config)

    class KilledError(Exception):
        pass

    def kill_at_step_7(loop):
        if loop.state.step == 7:
            raise KilledError  # as SIGKILL: no handler runs, no checkpoint is written

    with pytest.raises(KilledError):
        fit_run(run, run_config, callbacks=[OnStep(kill_at_step_7)])
    assert latest_checkpoint(run.checkpoints) is None and run.read_metrics()  # steps 5 and 7
    result = fit_run(run, run_config, resume=True)
    assert (result.reason, result.step) == ("max_steps", 20)
    a, b = final_weights(whole), final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_timing(whole) == metrics_without_timing(run)
