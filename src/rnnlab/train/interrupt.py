"""Stopping a run cleanly on a signal: Ctrl-C (SIGINT) or a pre-emption (SIGTERM).

SLURM and Kubernetes pre-empt a job with SIGTERM and send SIGKILL after a grace period
(SLURM's ``KillWait``, Kubernetes' ``terminationGracePeriodSeconds``, 30 s by default). Inside
``with StopOnSignals() as stop:`` the first SIGINT or SIGTERM only records the request;
:func:`rnnlab.train.fit`, given ``should_stop=stop``, checkpoints after the current step and
returns with reason ``"interrupted"``. The process then exits with :attr:`exit_status`,
128 + the signal number as a shell reports a process stopped by a signal (130 for SIGINT, 143
for SIGTERM), so that a scheduler sees the run was stopped, not finished. A second signal stops
at once: ``KeyboardInterrupt`` for SIGINT, ``SystemExit(128 + N)`` for the others. Either way the
checkpoints on disk are whole, as they are written atomically (:mod:`rnnlab.train.checkpoint`).

Example::

    with StopOnSignals() as stop:
        result = fit(run, config, should_stop=stop)
    if result.reason == "interrupted":
        sys.exit(stop.exit_status)
"""

import signal
import sys
import threading
from collections.abc import Callable


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class StopOnSignals:
    """A context manager that turns signals into a request to stop after the current step.

    Args:
        signals: The signals to catch; SIGINT and SIGTERM by default.
        echo: Where to say that the request was heard (default: a line on stderr).

    Handlers are installed on entry and the previous ones restored on exit, only in the main
    thread (Python delivers signals there alone); elsewhere the request is never set.
    """

    def __init__(
        self,
        signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
        echo: Callable[[str], None] = _to_stderr,
    ) -> None:
        self.signals = tuple(signals)
        self.echo = echo
        self.signum: int | None = None  # the first signal received
        self._previous: dict[int, object] = {}

    def __call__(self) -> bool:
        """True once a signal has asked the run to stop: the ``should_stop`` of ``fit``."""
        return self.signum is not None

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, the status a shell gives a process a signal stopped."""
        if self.signum is None:
            raise RuntimeError("no signal was received")
        return 128 + self.signum

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:  # a second signal: stop now, from the last checkpoint
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        self.signum = signum
        if signum == signal.SIGINT:
            self.echo("\nstopping after this step (Ctrl-C again to stop at once)")
        else:
            name = signal.Signals(signum).name
            self.echo(f"\n{name} received: stopping after this step ({name} again to stop at once)")

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
