"""Checkpoints of a training run: atomic to write, verified before they are read.

A run keeps its checkpoints in one directory, ``RUN_DIR/checkpoints/``; ``directory`` below is
that directory. Each checkpoint is a sub-directory named after its step::

    checkpoints/
        step-00000100/
            model.safetensors      # the model's state dict
            training.safetensors   # optimizer tensors, RNG state (uint8), carried states...
            meta.json              # the caller's metadata + format, files, checksum
        latest                     # text: the name of the newest checkpoint

``meta.json`` holds the caller's metadata (step, epoch, optimizer param_groups, ...) plus
``"format": "rnnlab-checkpoint-1"``, ``"files"``, the sha256 of each tensor file, and
``"checksum"``, the sha256 of the canonical JSON (``sort_keys=True``, ``separators=(",", ":")``)
of everything else in meta. Loading checks all of them before it reads a tensor, and reads tensors
only with safetensors, never with pickle (``torch.load``), so a replaced file can fail to load but
cannot run code.

Saving writes a temporary sibling directory ``.tmp-<name>-<pid>``, fsyncs every file, renames the
directory into place and only then points ``latest`` at it, so a process killed at any moment
leaves the previous checkpoints intact; its leftover ``.tmp-*`` entries are ignored by
:func:`list_checkpoints` and removed by the next :func:`save_checkpoint`. A write that fails (a
full disk, a quota) removes what it wrote and raises :class:`rnnlab.errors.StorageError`; the
previous checkpoints are intact and ``latest`` still names one of them.

Example::

    tensors, optimizer_meta = optimizer_state_to_tensors(optimizer.state_dict())
    save_checkpoint(run_dir / "checkpoints", step, model.state_dict(),
                    {**tensors, "rng": torch.get_rng_state()},
                    {"step": step, "optimizer": optimizer_meta}, keep=3)
    checkpoint = load_checkpoint(run_dir / "checkpoints")  # the latest
    model.load_state_dict(checkpoint.model_state)
    optimizer.load_state_dict(
        optimizer_state_from_tensors(checkpoint.training_state, checkpoint.meta["optimizer"])
    )
"""

import errno
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rnnlab.errors import CheckpointError, StorageError

FORMAT = "rnnlab-checkpoint-1"
MODEL_FILE = "model.safetensors"
TRAINING_FILE = "training.safetensors"
META_FILE = "meta.json"
LATEST_FILE = "latest"
TMP_PREFIX = ".tmp-"

_NAME_RE = re.compile(r"step-(\d{8})")
_RESERVED_KEYS = ("format", "files", "checksum")
_STATE_PREFIX = "optimizer.state."
_GROUP_PREFIX = "optimizer.param_groups."
_MAX_LISTED = 5  # checkpoints an error message names before it says "and N more"
_OS_ERROR_RE = re.compile(r"os error (\d+)")


@dataclass(frozen=True)
class Checkpoint:
    """One loaded checkpoint.

    Attributes:
        name: The checkpoint's directory name, e.g. ``"step-00000100"``.
        model_state: The model's state dict, CPU tensors.
        training_state: The other tensors saved with it (optimizer state, RNG state, ...).
        meta: The caller's metadata, without the keys this module adds (``format``, ``files``,
            ``checksum``).
    """

    name: str
    model_state: dict[str, torch.Tensor]
    training_state: dict[str, torch.Tensor]
    meta: dict


def checkpoint_name(step: int) -> str:
    """Return the directory name of the checkpoint at ``step``, e.g. ``"step-00000100"``.

    Args:
        step: The optimiser step, in ``[0, 10**8)``.

    Raises:
        ValueError: If ``step`` is not an int in that range.
    """
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 10**8:
        raise ValueError(f"step must be an int in [0, 99999999], got {step!r}")
    return f"step-{step:08d}"


def _step_of(name: str) -> int | None:
    match = _NAME_RE.fullmatch(name)
    return int(match.group(1)) if match else None


def list_checkpoints(directory: Path) -> list[str]:
    """Return the names of the complete checkpoints in ``directory``, oldest step first.

    Only sub-directories named ``step-NNNNNNNN`` count; temporary ``.tmp-*`` entries left by an
    interrupted save do not.

    Args:
        directory: The run's checkpoint directory (``RUN_DIR/checkpoints``); it may not exist.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = [p.name for p in directory.iterdir() if _step_of(p.name) is not None and p.is_dir()]
    return sorted(names, key=lambda name: _step_of(name))


def latest_checkpoint(directory: Path) -> str | None:
    """Return the name of the newest checkpoint, or None if there is none.

    The newest is the one named in ``directory/latest``; if that file is missing, empty or names
    a checkpoint that does not exist, it is the listed checkpoint with the highest step.

    Args:
        directory: The run's checkpoint directory.
    """
    directory = Path(directory)
    try:
        name = (directory / LATEST_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if _step_of(name) is not None and (directory / name).is_dir():
        return name
    names = list_checkpoints(directory)
    return names[-1] if names else None


# ----------------------------------------------------------------------------------------------
# Saving


def _fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _canonical(meta: dict) -> str:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def _meta_checksum(meta: dict) -> str:
    body = {key: value for key, value in meta.items() if key != "checksum"}
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def _prepare_tensors(tensors: dict[str, torch.Tensor], what: str) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies with storage of their own, as safetensors requires."""
    prepared = {}
    for key, value in tensors.items():
        if not isinstance(key, str):
            raise TypeError(f"{what} keys must be str, got {type(key).__name__} {key!r}")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{what}[{key!r}] must be a torch.Tensor, got {type(value).__name__}")
        # clone() gives each tensor its own storage: safetensors refuses tensors that share one
        # (tied weights, views) and non-contiguous ones.
        prepared[key] = value.detach().cpu().clone(memory_format=torch.contiguous_format)
    return prepared


def _write_tensors(tensors: dict[str, torch.Tensor], path: Path) -> str:
    """Write ``tensors`` to ``path``, fsync it and return its sha256."""
    try:
        save_file(tensors, str(path))
    except SafetensorError as error:
        # safetensors reports a failed write (a full disk: "... (os error 28)") as its own
        # error; make it the OSError it is, so that it is handled as every other failed write.
        match = _OS_ERROR_RE.search(str(error))
        code = int(match.group(1)) if match else errno.EIO
        raise OSError(code, os.strerror(code), str(path)) from error
    with open(path, "r+b") as f:
        os.fsync(f.fileno())
    return _sha256_file(path)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _pid_is_running(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows; keep the entry
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_stale_temporaries(directory: Path) -> None:
    """Remove ``.tmp-*-<pid>`` entries whose writing process no longer runs."""
    for path in directory.iterdir():
        if not path.name.startswith(TMP_PREFIX):
            continue
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_is_running(int(pid)):
            _remove(path)


def save_checkpoint(
    directory: Path,
    step: int,
    model_state: dict[str, torch.Tensor],
    training_state: dict[str, torch.Tensor],
    meta: dict,
    keep: int | None = None,
) -> Path:
    """Write the checkpoint of ``step`` atomically, point ``latest`` at it, then prune.

    Everything is written into ``directory/.tmp-<name>-<pid>`` and fsynced, the directory is
    renamed into place (an existing checkpoint of the same name, e.g. after a resume re-reaches
    the step, is renamed aside first and removed once the new one is in place), and ``latest``
    is replaced atomically. Only then are the oldest checkpoints pruned.

    Args:
        directory: The run's checkpoint directory (``RUN_DIR/checkpoints``); created if missing.
        step: The optimiser step; names the checkpoint (:func:`checkpoint_name`).
        model_state: The model's state dict.
        training_state: Other tensors to keep (optimizer state, RNG state...); may be empty.
        meta: JSON-serialisable metadata; must not use the keys ``format``, ``files`` or
            ``checksum``, which this function adds.
        keep: If given, delete the oldest checkpoints so that ``keep`` remain; the one just
            written is never deleted.

    Returns:
        The path of the new checkpoint directory.

    Raises:
        ValueError: If ``step`` or ``keep`` is out of range, or ``meta`` uses a reserved key.
        TypeError: If a state dict holds something other than str → Tensor, or ``meta`` is not
            JSON-serialisable.
        StorageError: If a file cannot be written (the disk is full, ...). What this call wrote
            is removed; the earlier checkpoints are intact and ``latest`` names one of them.
    """
    name = checkpoint_name(step)
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise ValueError(f"keep must be None or an int >= 1, got {keep!r}")
    reserved = sorted(key for key in _RESERVED_KEYS if key in meta)
    if reserved:
        raise ValueError(f"meta must not contain the keys this module adds, got {reserved}")
    model_tensors = _prepare_tensors(model_state, "model_state")
    training_tensors = _prepare_tensors(training_state, "training_state")
    # Round-trip through JSON now, so that the checksum is computed over exactly what a load
    # will parse (tuples become lists, int keys become str) and bad meta fails before any write.
    caller_meta = json.loads(json.dumps(meta))

    directory = Path(directory)
    try:
        final = _write_checkpoint(directory, name, model_tensors, training_tensors, caller_meta)
    except OSError as error:
        raise _write_failed(directory, name, error) from error

    if keep is not None:
        names = list_checkpoints(directory)
        excess = len(names) - keep
        for old in names:
            if excess <= 0:
                break
            if old != name:
                _remove(directory / old)
                excess -= 1
    return final


def _write_checkpoint(
    directory: Path,
    name: str,
    model_tensors: dict[str, torch.Tensor],
    training_tensors: dict[str, torch.Tensor],
    caller_meta: dict,
) -> Path:
    """The writes of :func:`save_checkpoint`, in the order that keeps every step atomic."""
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(directory)
    pid = os.getpid()
    tmp = directory / f"{TMP_PREFIX}{name}-{pid}"
    _remove(tmp)
    final = directory / name
    aside = directory / f"{TMP_PREFIX}replaced-{name}-{pid}"
    try:
        tmp.mkdir()
        files = {
            MODEL_FILE: _write_tensors(model_tensors, tmp / MODEL_FILE),
            TRAINING_FILE: _write_tensors(training_tensors, tmp / TRAINING_FILE),
        }
        full_meta = {**caller_meta, "format": FORMAT, "files": files}
        full_meta["checksum"] = _meta_checksum(full_meta)
        _write_text(tmp / META_FILE, json.dumps(full_meta, indent=2, sort_keys=True) + "\n")
        _fsync_dir(tmp)

        _remove(aside)
        if final.exists():
            os.rename(final, aside)
        os.rename(tmp, final)
        _fsync_dir(directory)
        _remove(aside)
    except BaseException:
        # Put a replaced checkpoint back if the new one did not make it into place.
        if aside.exists() and not final.exists():
            os.rename(aside, final)
        _remove(tmp)
        _remove(aside)
        raise

    latest_tmp = directory / f"{TMP_PREFIX}{LATEST_FILE}-{pid}"
    try:
        _write_text(latest_tmp, name + "\n")
        os.replace(latest_tmp, directory / LATEST_FILE)
        _fsync_dir(directory)
    finally:
        _remove(latest_tmp)  # gone already once the replace succeeded
    return final


def _write_failed(directory: Path, name: str, error: OSError) -> StorageError:
    """The one-line error of a checkpoint that could not be written, and what is left."""
    reason = error.strerror or str(error) or type(error).__name__
    latest = latest_checkpoint(directory)
    run_dir = str(directory.parent) if directory.name == "checkpoints" else "RUN_DIR"
    if latest is None:
        left = "no checkpoint was written before it; make room, then start the run again"
    else:
        left = (
            f"the checkpoints written before are intact (latest: {latest}); make room, then "
            f"continue with `rnnlab resume {run_dir}`"
        )
    return StorageError(f"cannot write checkpoint {directory / name}: {reason}; {left}")


# ----------------------------------------------------------------------------------------------
# Loading


def _short(digest: object) -> str:
    return f"{str(digest)[:8]}…"


def _recovery_hint(directory: Path, bad: str | None) -> str:
    """Name the other checkpoints, newest first, and how to resume from one."""
    others = [name for name in reversed(list_checkpoints(directory)) if name != bad]
    if not others:
        return "no other checkpoint is available in this run; start a new run"
    run_dir = str(directory.parent) if directory.name == "checkpoints" else "RUN_DIR"
    listed = ", ".join(others[:_MAX_LISTED])
    if len(others) > _MAX_LISTED:
        listed += f" and {len(others) - _MAX_LISTED} more"
    return (
        f"checkpoints still available: {listed}; "
        f"resume from one with `rnnlab resume {run_dir} --checkpoint {others[0]}`"
    )


def _fail(directory: Path, name: str | None, problem: str) -> CheckpointError:
    where = directory / name if name is not None else directory
    return CheckpointError(f"checkpoint {where}: {problem}; {_recovery_hint(directory, name)}")


def _read_meta(directory: Path, name: str) -> dict:
    path = directory / name / META_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(directory, name, f"{META_FILE} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(directory, name, f"{META_FILE} cannot be read ({error})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        raise _fail(directory, name, f"{META_FILE} is not valid JSON") from None
    if not isinstance(meta, dict):
        raise _fail(directory, name, f"{META_FILE} is not a JSON object")
    if meta.get("format") != FORMAT:
        raise _fail(
            directory,
            name,
            f"{META_FILE} has format {meta.get('format')!r}, expected {FORMAT!r}",
        )
    expected = meta.get("checksum")
    got = _meta_checksum(meta)
    if expected != got:
        raise _fail(
            directory,
            name,
            f"{META_FILE} is corrupt or was modified: checksum expected {_short(expected)}, "
            f"got {_short(got)}",
        )
    files = meta.get("files")
    if not isinstance(files, dict):
        raise _fail(directory, name, f"{META_FILE} has no 'files' table of sha256 digests")
    return meta


def _verify_file(directory: Path, name: str, filename: str, files: dict) -> Path:
    path = directory / name / filename
    if filename not in files:
        raise _fail(directory, name, f"{META_FILE} lists no sha256 for {filename}")
    if not path.is_file():
        raise _fail(directory, name, f"{filename} is missing")
    got = _sha256_file(path)
    if got != files[filename]:
        raise _fail(
            directory,
            name,
            f"{filename} is corrupt or was modified: sha256 expected "
            f"{_short(files[filename])}, got {_short(got)}",
        )
    return path


def _load_tensors(directory: Path, name: str, path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise _fail(
            directory,
            name,
            f"{path.name} is truncated or not a safetensors file ({reason})",
        ) from None


def load_checkpoint(directory: Path, name: str | None = None) -> Checkpoint:
    """Verify and load a checkpoint.

    Checks, in order: the checkpoint directory exists; ``meta.json`` is a JSON object of this
    format; its checksum matches; both tensor files exist and match their sha256 in meta; then
    reads the tensors with safetensors (never pickle, so a file cannot run code).

    Args:
        directory: The run's checkpoint directory (``RUN_DIR/checkpoints``).
        name: The checkpoint, e.g. ``"step-00000050"``; None for the latest
            (:func:`latest_checkpoint`).

    Returns:
        The checkpoint, its tensors on the CPU.

    Raises:
        CheckpointError: If the checkpoint is missing, truncated, corrupted or tampered with. The
            one-line message names the checkpoint, the problem, and the other checkpoints
            available with the command to resume from one.
    """
    directory = Path(directory)
    if name is None:
        name = latest_checkpoint(directory)
        if name is None:
            state = "has no checkpoints" if directory.is_dir() else "does not exist"
            raise CheckpointError(f"checkpoint directory {directory} {state}")
    if _step_of(name) is None:
        raise _fail(directory, None, f"{name!r} is not a checkpoint name like 'step-00000100'")
    if not (directory / name).is_dir():
        raise _fail(directory, name, "does not exist")

    meta = _read_meta(directory, name)
    paths = [_verify_file(directory, name, f, meta["files"]) for f in (MODEL_FILE, TRAINING_FILE)]
    model_state, training_state = (_load_tensors(directory, name, path) for path in paths)
    caller_meta = {key: value for key, value in meta.items() if key not in _RESERVED_KEYS}
    return Checkpoint(name, model_state, training_state, caller_meta)


# ----------------------------------------------------------------------------------------------
# Optimizer state


def _reject_nested_tensors(value: Any, where: str) -> None:
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{where} holds a tensor inside a container; this is not supported")
    if isinstance(value, (list, tuple)):
        for item in value:
            _reject_nested_tensors(item, where)
    elif isinstance(value, dict):
        for item in value.values():
            _reject_nested_tensors(item, where)


def optimizer_state_to_tensors(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into flat tensors and JSON-able metadata.

    Per-parameter tensors become ``"optimizer.state.<index>.<key>"`` (dtypes kept, e.g. Adam's
    float32 ``step``); tensor-valued param-group entries (e.g. a tensor ``lr``) become
    ``"optimizer.param_groups.<group>.<key>"``. The metadata holds the param groups, the names of
    their tuple-valued entries (JSON has no tuples), and the non-tensor per-parameter values.

    Args:
        state_dict: ``torch.optim.Optimizer.state_dict()``:
            ``{"state": {int: {str: Tensor | number | None}}, "param_groups": [dict]}``.

    Returns:
        ``(tensors, meta)``; put ``tensors`` in the training state and ``meta`` in the
        checkpoint's metadata, and invert with :func:`optimizer_state_from_tensors`.

    Raises:
        TypeError: If a value is a container of tensors (e.g. LBFGS history).
    """
    tensors: dict[str, torch.Tensor] = {}
    values: dict[str, dict[str, Any]] = {}
    for index, param_state in state_dict["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_STATE_PREFIX}{int(index)}.{key}"] = value
            else:
                _reject_nested_tensors(value, f"optimizer state[{index}][{key!r}]")
                values.setdefault(str(int(index)), {})[key] = value
    groups = []
    tuple_keys = []
    for g, group in enumerate(state_dict["param_groups"]):
        plain = {}
        for key, value in group.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_GROUP_PREFIX}{g}.{key}"] = value
            else:
                _reject_nested_tensors(value, f"optimizer param_groups[{g}][{key!r}]")
                plain[key] = list(value) if isinstance(value, tuple) else value
        groups.append(plain)
        tuple_keys.append(sorted(key for key, value in group.items() if isinstance(value, tuple)))
    meta = {"param_groups": groups, "tuple_keys": tuple_keys, "state": values}
    return tensors, meta


def optimizer_state_from_tensors(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    """Rebuild an optimizer state dict from :func:`optimizer_state_to_tensors` output.

    Args:
        tensors: A dict holding the ``"optimizer.*"`` tensors; other keys are ignored.
        meta: The metadata returned with them (after a JSON round trip).

    Returns:
        A state dict for ``optimizer.load_state_dict``, with int parameter indices and tuples
        where the original had them.

    Raises:
        CheckpointError: If ``meta`` lacks the param groups or a tensor name is malformed.
    """
    try:
        groups = [dict(group) for group in meta["param_groups"]]
        tuple_keys = meta.get("tuple_keys", [[] for _ in groups])
        values = meta.get("state", {})
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"optimizer metadata is malformed: {error!r}") from None
    for group, keys in zip(groups, tuple_keys):
        for key in keys:
            group[key] = tuple(group[key])

    state: dict[int, dict[str, Any]] = {}
    for index, param_values in values.items():
        state.setdefault(int(index), {}).update(param_values)
    for name, tensor in tensors.items():
        if name.startswith(_STATE_PREFIX):
            index, sep, key = name[len(_STATE_PREFIX) :].partition(".")
            target = state.setdefault(int(index), {}) if index.isdigit() and sep else None
        elif name.startswith(_GROUP_PREFIX):
            index, sep, key = name[len(_GROUP_PREFIX) :].partition(".")
            ok = index.isdigit() and sep and int(index) < len(groups)
            target = groups[int(index)] if ok else None
        else:
            continue
        if target is None:
            raise CheckpointError(f"optimizer tensor name {name!r} is malformed")
        target[key] = tensor
    return {"state": dict(sorted(state.items())), "param_groups": groups}
