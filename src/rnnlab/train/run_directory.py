"""A run is a directory: the resolved config, the metrics log and the checkpoints.

::

    RUN_DIR/
      config.toml        the resolved config (every default filled in)
      metrics.jsonl      one JSON record per logged step or validation
      checkpoints/       step-00000100/ ... and `latest` (see rnnlab.train.checkpoint)
      .lock              held by the one process that trains in the directory; holds its pid

One process at a time trains in a run directory: :meth:`RunDirectory.create` takes an exclusive
``flock`` on ``.lock`` and :func:`rnnlab.train.fit` holds it until it returns or raises, and a
second process is refused with :class:`RunInUseError`. The kernel releases the lock when its
process ends, however it ends, so a run killed with SIGKILL leaves the directory free to resume.
(Where ``fcntl`` is missing, on Windows, nothing is locked.)
"""

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from rnnlab.errors import ConfigError, RnnlabError, StorageError
from rnnlab.rl.config import PolicyRunConfig
from rnnlab.tasks.files import require_directory
from rnnlab.train.config import RunConfig, load_any_config, save_config

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_FILE = ".lock"


class RunInUseError(RnnlabError):
    """Another process trains in this run directory: it holds the directory's lock."""


class RunDirectory:
    """The files of one run; see the module docstring."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.toml"
        self.metrics_path = self.path / "metrics.jsonl"
        self.checkpoints = self.path / "checkpoints"
        self.lock_path = self.path / LOCK_FILE
        self._lock_fd: int | None = None

    @classmethod
    def create(cls, path: str | Path, config: RunConfig | PolicyRunConfig) -> "RunDirectory":
        """Make a new run directory; refuse one that already holds a run or is in use.

        The returned run holds the directory's lock, taken before the directory is looked at,
        so that of two processes creating it at once exactly one does; :func:`rnnlab.train.fit`
        keeps it and releases it at its end (or call :meth:`release_lock`).
        """
        run = cls(path)
        run.path.mkdir(parents=True, exist_ok=True)
        run.acquire_lock()
        if run.config_path.exists():
            run.release_lock()
            raise ConfigError(
                f"{run.path} already holds a run; continue it with `rnnlab resume {run.path}` "
                f"or choose another --out"
            )
        run.checkpoints.mkdir(parents=True, exist_ok=True)
        save_config(config, run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunDirectory":
        """An existing run directory; a clear error if it is not one."""
        run = cls(path)
        require_directory(run.path, "run directory")  # missing, a file, a name too long
        if not run.config_path.is_file():
            raise RnnlabError(f"{run.path} is not a run directory: it has no config.toml")
        return run

    def config(self) -> RunConfig | PolicyRunConfig:
        """The run's resolved config: a supervised run's, or a policy run's (one with an
        ``[environment]``, :mod:`rnnlab.rl.config`)."""
        return load_any_config(self.config_path)

    # -- the lock ---------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """Whether this object holds the directory's lock."""
        return self._lock_fd is not None

    def acquire_lock(self) -> None:
        """Hold the directory's lock until :meth:`release_lock` or the end of the process.

        Does nothing if this object holds it already. Never waits: if another process holds
        it, raises :class:`RunInUseError` naming the directory and that process.
        """
        if self._lock_fd is not None or fcntl is None:
            return
        # O_CREAT without O_TRUNC: the pid of a holder must survive a refused process.
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"another run (pid {holder})" if holder.isdigit() else "another run"
            raise RunInUseError(
                f"{self.path} is in use: {who} holds its lock ({self.lock_path}); wait for it "
                f"to end or stop it, or choose another directory"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._lock_fd = fd

    def release_lock(self) -> None:
        """Let another process take the directory; nothing to do if this object holds none.

        The lock file stays: removing it would let two processes lock two different files.
        """
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            os.close(fd)  # closing the last descriptor of the file releases the flock

    @contextlib.contextmanager
    def lock(self) -> Iterator["RunDirectory"]:
        """Hold the lock inside the block (keeping one held already) and release it after."""
        self.acquire_lock()
        try:
            yield self
        finally:
            self.release_lock()

    def __del__(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            self.release_lock()

    def append_metrics(self, record: dict) -> None:
        """Add one record to metrics.jsonl, flushed so a killed run loses nothing written."""
        try:
            with self.metrics_path.open("a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")
                file.flush()
        except OSError as error:
            raise StorageError(
                f"cannot write {self.metrics_path}: {error.strerror or error}; the checkpoints "
                f"are intact: make room, then continue with `rnnlab resume {self.path}`"
            ) from error

    def read_metrics(self) -> list[dict]:
        if not self.metrics_path.exists():
            return []
        lines = self.metrics_path.read_text(encoding="utf-8").splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut short by a kill: it and anything after it are dropped
        return records

    def truncate_metrics(self, step: int) -> None:
        """Keep only the records up to ``step``: a resumed run rewrites what came after."""
        kept = [record for record in self.read_metrics() if record["step"] <= step]
        text = "".join(json.dumps(record) + "\n" for record in kept)
        temporary = self.metrics_path.with_suffix(".jsonl.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(self.metrics_path)
