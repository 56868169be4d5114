"""How a run shows its progress: a rich progress bar on a terminal, plain lines otherwise."""

import sys
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ProgressDisplay:
    """Progress of a training run.

    ``mode`` is ``"bar"`` (a rich bar with loss and speed, for a terminal), ``"lines"`` (one
    plain line per logged step on stderr, for logs and pipes) or ``"quiet"`` (nothing).
    ``"auto"`` picks the bar when stderr is a terminal.
    """

    def __init__(self, mode: str = "auto") -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode
        self._bar: Progress | None = None
        self._task = None

    def start(self, total_steps: int, step: int) -> None:
        if self.mode == "bar":
            self._bar = Progress(
                TextColumn("training"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("train", total=total_steps, completed=step, status="")
        elif self.mode == "lines":
            self.message(f"training from step {step} to at most {total_steps}")

    def update(self, record: dict) -> None:
        """Show a metrics record: a logged step moves the bar, a validation prints a line."""
        text = "  ".join(
            f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in record.items()
            if key not in ("step", "epoch", "wall_time") and isinstance(value, int | float | str)
        )
        is_validation = any(key.startswith("val_") for key in record)
        if self._bar is not None:
            if is_validation:
                self._bar.console.print(f"step {record['step']}  {text}")
            else:
                status = f"loss {record['loss']:.4g}  {record['tokens_per_s']:,.0f} tokens/s"
                self._bar.update(self._task, completed=record["step"], status=status)
        elif self.mode == "lines":
            self.message(f"step {record['step']} epoch {record['epoch']}  {text}")

    def message(self, text: str) -> None:
        if self.mode == "quiet":
            return
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
