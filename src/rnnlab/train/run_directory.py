"""A run is a directory: the resolved config, the metrics log and the checkpoints.

::

    RUN_DIR/
      config.toml        the resolved config (every default filled in)
      metrics.jsonl      one JSON record per logged step or validation
      checkpoints/       step-00000100/ ... and `latest` (see rnnlab.train.checkpoint)
"""

import json
from pathlib import Path

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.train.config import RunConfig, load_config, save_config


class RunDirectory:
    """The files of one run; see the module docstring."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.toml"
        self.metrics_path = self.path / "metrics.jsonl"
        self.checkpoints = self.path / "checkpoints"

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "RunDirectory":
        """Make a new run directory; refuse one that already holds a run."""
        run = cls(path)
        if run.config_path.exists():
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
        if not run.path.is_dir():
            raise RnnlabError(f"run directory {run.path} does not exist")
        if not run.config_path.is_file():
            raise RnnlabError(f"{run.path} is not a run directory: it has no config.toml")
        return run

    def config(self) -> RunConfig:
        return load_config(self.config_path)

    def append_metrics(self, record: dict) -> None:
        """Add one record to metrics.jsonl, flushed so a killed run loses nothing written."""
        with self.metrics_path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")
            file.flush()

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
