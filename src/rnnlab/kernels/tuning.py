"""Which loop serves a call, chosen by measurement on the machine it runs on.

The size rules of :mod:`rnnlab.kernels.dispatch` were measured on one machine; on another of the
same kind they picked a loop up to 2x slower than torch.nn. So where a call could run more than
one way (the compiled loop, the loop of torch calls, torch's own fused kernel where it serves
the configuration), the first call of each *shape class* times every candidate on a short
probe of that shape, forward and, when gradients are on, backward, and the fastest is used from
then on. A shape class is the family and its options, layers, directions, I, H, B, the dtype,
the probe's length (:func:`probe_steps` of T), and whether the call records, has
``lengths``, trains and takes gradients.

The choices are kept in one JSON file per machine in the user's cache directory
(``$RNNLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnnlab``, else ``~/.cache/rnnlab``), named after
a fingerprint of the processor, its cores, torch's threads, the torch and rnnlab versions and
a digest of the kernels' source files: another machine, another torch, another rnnlab or a
changed loop (an edit in a source tree keeps the version) measures afresh. ``RNNLAB_TUNE=0``
turns the measurement off (the size rules decide, as before), and so does
``path="reference"``; the test suite runs with it off, so that no test's numbers depend on
which loop was faster that minute.

A probe changes nothing a user can see: it runs on random inputs of its own (drawn from a
generator of its own), inside ``torch.random.fork_rng`` and with the layer's own noise
generator put back, and it takes gradients with ``torch.autograd.grad``, which leaves every
parameter's ``.grad`` alone. A candidate must be faster than the size rules' choice by
:data:`MARGIN` to replace it, so timing noise does not flip a choice between near ties.
"""

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

PROBE_STEPS = 64  # a probe's length at least: T where T is shorter
MAX_PROBE_STEPS = 1024  # at most
PROBE_ELEMENTS = 2**22  # a longer probe's steps times B times H at most


def probe_steps(T: int, batch_size: int, hidden_size: int) -> int:
    """How many steps a call of length ``T`` is probed on, and the length its shape class
    names: T up to :data:`PROBE_STEPS`; above, the largest power of two up to T, at most
    :data:`MAX_PROBE_STEPS`, halved while steps * B * H exceeds :data:`PROBE_ELEMENTS` (but not
    below :data:`PROBE_STEPS`).

    A short probe misjudges long sequences: it is dominated by what a call costs once (about
    1.5 ms forward and backward on the compiled loop), not by what each step costs. The LSTM at
    (T, B, H) = (1000, 1, 20) with gradients measured 1.29 ms on oneDNN's kernel against 1.41
    on the compiled loop at 64 steps, 3.11 against 3.17 at 256, and 12.2 against 6.0 ms at
    1000 steps."""
    if T <= PROBE_STEPS:
        return T
    steps = PROBE_STEPS
    while steps * 2 <= min(T, MAX_PROBE_STEPS):
        steps *= 2
    while steps > PROBE_STEPS and steps * batch_size * hidden_size > PROBE_ELEMENTS:
        steps //= 2
    return steps


ROUNDS = 5  # timed rounds per candidate, interleaved, after one untimed warm-up each
MARGIN = 0.05  # a candidate must be this much faster than the size rules' choice


def enabled() -> bool:
    """False where ``RNNLAB_TUNE=0``: the size rules decide."""
    value = os.environ.get("RNNLAB_TUNE", "1")
    if value not in ("0", "1"):
        raise ValueError(f"RNNLAB_TUNE must be 0 or 1; got {value!r}")
    return value == "1"


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def _software_and_processor() -> dict[str, object]:
    try:
        version = importlib.metadata.version("rnnlab")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        version = "unknown"
    return {"processor": _processor(), "machine": platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "rnnlab": version,
            "kernels": _kernels_digest()}  # fmt: skip


def _kernels_digest() -> str:
    """A digest of this package's source files: the loops a choice was measured on."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint() -> dict[str, object]:
    """What the choices depend on besides the call: the machine and the software."""
    return {**_software_and_processor(), "torch_threads": torch.get_num_threads()}


@functools.cache
def _cache_file(root: str | None, xdg: str | None, threads: int) -> Path:
    if root is None:
        root = Path(xdg) / "rnnlab" if xdg else Path.home() / ".cache" / "rnnlab"
    digest = hashlib.sha256(json.dumps(fingerprint(), sort_keys=True).encode()).hexdigest()
    return Path(root) / f"dispatch-{digest[:16]}.json"


def cache_file() -> Path:
    """This machine's file of choices (see the module docstring)."""
    environ = os.environ
    return _cache_file(
        environ.get("RNNLAB_CACHE_DIR"), environ.get("XDG_CACHE_HOME"), torch.get_num_threads()
    )


_loaded: dict[Path, dict[str, dict]] = {}


def _choices(path: Path) -> dict[str, dict]:
    if path not in _loaded:
        try:
            held = json.loads(path.read_text(encoding="utf-8"))
            _loaded[path] = held.get("choices", {}) if isinstance(held, dict) else {}
        except (OSError, ValueError):
            _loaded[path] = {}  # none yet, or unreadable: measure afresh
    return _loaded[path]


def _save(path: Path, choices: dict[str, dict]) -> None:
    """Write the choices atomically; a cache that cannot be written is kept in memory only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        body = {"fingerprint": fingerprint(), "choices": choices}
        partial.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass


def choose(key: str, candidates: list[str], default: str, run: Callable[[str], float]) -> str:
    """The candidate that serves shape class ``key``: the one kept for it, else the fastest
    of ``candidates`` by ``run(candidate)`` (seconds of one probe), measured now and kept.
    ``default`` (the size rules' choice, one of ``candidates``) stays unless another is
    :data:`MARGIN` faster."""
    path = cache_file()
    choices = _choices(path)
    kept = choices.get(key)
    if kept is not None and kept.get("choice") in candidates:
        return kept["choice"]
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:
        run(candidate)  # warm-up: compiled code loads, buffers grow
    times: dict[str, list[float]] = {candidate: [] for candidate in candidates}
    for _ in range(ROUNDS):
        for candidate in candidates:
            times[candidate].append(run(candidate))
    medians = {candidate: statistics.median(t) for candidate, t in times.items()}
    best = min(medians, key=medians.get)
    choice = best if medians[best] < (1 - MARGIN) * medians[default] else default
    choices[key] = {"choice": choice, "seconds": medians, "measured": time.time()}
    _save(path, choices)
    return choice


def forget() -> None:
    """Drop the choices read into this process (the file stays): the next call reads it again."""
    _loaded.clear()
