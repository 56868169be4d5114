"""Checkpoints: bitwise round trips, atomic replacement, pruning, and refusal of damaged files."""

import hashlib
import json
import os
import pathlib
import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from rnnlab.errors import CheckpointError, StorageError
from rnnlab.train.checkpoint import (
    TMP_PREFIX,
    Checkpoint,
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    optimizer_state_from_tensors,
    optimizer_state_to_tensors,
    save_checkpoint,
)
from tests.train.faults import NO_SPACE, full_disk_at

DEAD_PID = 2**31 - 1  # above any Linux pid_max, so no process has it


def _bits(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.contiguous().reshape(-1).view(torch.uint8)


def assert_bitwise_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert torch.equal(_bits(a[key]), _bits(b[key])), key


def _states(seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(4, 3, generator=generator)
    model_state = {
        "weight_ih": weight,
        "weight_hh": torch.randn(3, 3, dtype=torch.float64, generator=generator),
        # NaN and -0.0 make "bitwise" mean more than torch.equal.
        "bias": torch.tensor([float("nan"), -0.0, 1.5]),
        # Shared storage and a non-contiguous view, both of which safetensors refuses as is.
        "tied": weight,
        "transposed": weight.t(),
    }
    training_state = {
        "rng": torch.get_rng_state(),
        "counts": torch.arange(5, dtype=torch.int64) * seed,
        "scalar": torch.tensor(3.0),
    }
    return model_state, training_state


def _save(directory: Path, step: int, keep: int | None = None) -> Path:
    model_state, training_state = _states(step)
    return save_checkpoint(directory, step, model_state, training_state, {"step": step}, keep)


@pytest.fixture
def checkpoints(tmp_path: Path) -> Path:
    return tmp_path / "run" / "checkpoints"


def test_checkpoint_name() -> None:
    assert checkpoint_name(100) == "step-00000100"


@pytest.mark.parametrize("step", [-1, 10**8, 1.0, True])
def test_checkpoint_name_rejects_bad_steps(step: object) -> None:
    with pytest.raises(ValueError, match="step must be an int"):
        checkpoint_name(step)


def test_round_trip_is_bitwise(checkpoints: Path) -> None:
    model_state, training_state = _states(7)
    meta = {"step": 7, "epoch": 0, "loss": 0.1 + 0.2, "history": [1.0, None], "note": "é"}
    path = save_checkpoint(checkpoints, 7, model_state, training_state, meta)
    assert path == checkpoints / "step-00000007"

    checkpoint = load_checkpoint(checkpoints)
    assert isinstance(checkpoint, Checkpoint)
    assert checkpoint.name == "step-00000007"
    assert_bitwise_equal(checkpoint.model_state, model_state)
    assert_bitwise_equal(checkpoint.training_state, training_state)
    assert checkpoint.meta == meta


def test_empty_training_state_round_trips(checkpoints: Path) -> None:
    model_state, _ = _states(1)
    save_checkpoint(checkpoints, 1, model_state, {}, {})
    checkpoint = load_checkpoint(checkpoints, "step-00000001")
    assert checkpoint.training_state == {}
    assert checkpoint.meta == {}


def test_meta_json_records_format_files_and_checksum(checkpoints: Path) -> None:
    path = _save(checkpoints, 3)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["format"] == "rnnlab-checkpoint-1"
    for filename in ("model.safetensors", "training.safetensors"):
        assert meta["files"][filename] == hashlib.sha256((path / filename).read_bytes()).hexdigest()
    body = {key: value for key, value in meta.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert meta["checksum"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_latest_and_list_order(checkpoints: Path) -> None:
    assert list_checkpoints(checkpoints) == []
    assert latest_checkpoint(checkpoints) is None
    for step in (100, 20, 3):  # the listing is by step, `latest` by time of writing
        _save(checkpoints, step)
    assert list_checkpoints(checkpoints) == ["step-00000003", "step-00000020", "step-00000100"]
    assert (checkpoints / "latest").read_text().strip() == "step-00000003"
    assert latest_checkpoint(checkpoints) == "step-00000003"
    assert load_checkpoint(checkpoints).name == "step-00000003"


@pytest.mark.parametrize("latest", ["missing", "empty", "names a removed checkpoint"])
def test_latest_falls_back_to_newest_listed(checkpoints: Path, latest: str) -> None:
    for step in (10, 20):
        _save(checkpoints, step)
    if latest == "missing":
        (checkpoints / "latest").unlink()
    elif latest == "empty":
        (checkpoints / "latest").write_text("")
    else:
        (checkpoints / "latest").write_text("step-00000030\n")
    assert latest_checkpoint(checkpoints) == "step-00000020"


def test_keep_prunes_the_oldest(checkpoints: Path) -> None:
    for step in (10, 20, 30, 40):
        _save(checkpoints, step, keep=2)
    assert list_checkpoints(checkpoints) == ["step-00000030", "step-00000040"]


def test_keep_never_prunes_the_checkpoint_just_written(checkpoints: Path) -> None:
    for step in (10, 20, 30):
        _save(checkpoints, step)
    _save(checkpoints, 5, keep=2)  # a resume re-trains from an early step
    assert list_checkpoints(checkpoints) == ["step-00000005", "step-00000030"]
    assert latest_checkpoint(checkpoints) == "step-00000005"


@pytest.mark.parametrize("keep", [0, -1, 1.5])
def test_keep_must_be_positive(checkpoints: Path, keep: object) -> None:
    with pytest.raises(ValueError, match="keep must be"):
        _save(checkpoints, 1, keep=keep)


@pytest.mark.parametrize("key", ["format", "files", "checksum"])
def test_meta_must_not_use_reserved_keys(checkpoints: Path, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        save_checkpoint(checkpoints, 1, {}, {}, {key: 1})


def test_saving_the_same_step_replaces_it(checkpoints: Path) -> None:
    _save(checkpoints, 10)
    model_state, training_state = _states(99)
    save_checkpoint(checkpoints, 10, model_state, training_state, {"step": 10, "again": True})
    checkpoint = load_checkpoint(checkpoints)
    assert checkpoint.meta == {"step": 10, "again": True}
    assert_bitwise_equal(checkpoint.model_state, model_state)
    assert sorted(p.name for p in checkpoints.iterdir()) == ["latest", "step-00000010"]


def test_stale_temporary_directory_is_ignored_then_removed(checkpoints: Path) -> None:
    _save(checkpoints, 100)
    # A process killed while writing step 200: half a file, no meta.json, `latest` not updated.
    stale = checkpoints / f".tmp-step-00000200-{DEAD_PID}"
    stale.mkdir()
    model_bytes = (checkpoints / "step-00000100" / "model.safetensors").read_bytes()
    (stale / "model.safetensors").write_bytes(model_bytes[: len(model_bytes) // 2])

    assert list_checkpoints(checkpoints) == ["step-00000100"]
    assert latest_checkpoint(checkpoints) == "step-00000100"
    assert load_checkpoint(checkpoints).name == "step-00000100"

    _save(checkpoints, 200)
    assert not stale.exists()
    assert list_checkpoints(checkpoints) == ["step-00000100", "step-00000200"]


def test_temporary_directory_of_a_running_process_is_kept(checkpoints: Path) -> None:
    _save(checkpoints, 100)
    running = checkpoints / f".tmp-step-00000200-{os.getppid()}"
    running.mkdir()
    _save(checkpoints, 300)
    assert running.exists()
    assert list_checkpoints(checkpoints) == ["step-00000100", "step-00000300"]


@pytest.mark.parametrize("step", [30, 20], ids=["new_step", "same_step_again"])
def test_a_full_disk_at_any_write_leaves_every_earlier_checkpoint_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    """The disk fills at the 1st, 2nd, ... write of a checkpoint (of a new step, or of step 20
    again, as after a resume from an earlier one) until one gets through whole."""
    new_model, new_training = _states(99)
    for k in range(1, 100):
        directory = tmp_path / f"full-at-{k}" / "checkpoints"
        _save(directory, 10)
        _save(directory, 20)
        before = {name: load_checkpoint(directory, name) for name in list_checkpoints(directory)}
        with full_disk_at(monkeypatch, k) as calls:
            try:
                save_checkpoint(directory, step, new_model, new_training, {"new": True}, keep=3)
            except StorageError as error:
                failure = str(error)
            else:
                failure = None
        if len(calls) < k:  # k is past the last write: every one of them has failed once
            assert failure is None
            break
        if failure is None:  # a failure that changes nothing (mkdir of what exists)
            assert load_checkpoint(directory).meta == {"new": True}
            continue

        assert failure.startswith(f"cannot write checkpoint {directory / checkpoint_name(step)}")
        assert NO_SPACE in failure and "\n" not in failure, failure
        assert f"rnnlab resume {directory.parent}" in failure
        # Nothing half-written is left, and every checkpoint there loads: the earlier ones as
        # they were, or (once it was whole and in place before the failure) the new one.
        assert not [p.name for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]
        assert set(before) <= set(list_checkpoints(directory))
        for name in list_checkpoints(directory):
            loaded = load_checkpoint(directory, name)
            if loaded.meta == {"new": True}:
                assert name == checkpoint_name(step)
                assert_bitwise_equal(loaded.model_state, new_model)
            else:
                assert_bitwise_equal(loaded.model_state, before[name].model_state)
                assert_bitwise_equal(loaded.training_state, before[name].training_state)
                assert loaded.meta == before[name].meta
        assert load_checkpoint(directory).name in list_checkpoints(directory)
        # Once there is room again, the same save goes through.
        save_checkpoint(directory, step, new_model, new_training, {"new": True}, keep=3)
        assert load_checkpoint(directory).meta == {"new": True}
    else:
        raise AssertionError("a checkpoint never got through: the fault injection is broken")
    # mkdir, two tensor files and meta.json (each written and fsynced), renames and `latest`.
    assert {"mkdir", "save_file", "open", "fsync", "rename", "replace"} <= set(calls)
    assert k > 12


# ----------------------------------------------------------------------------------------------
# Damaged checkpoints: each failure names the problem and the earlier checkpoint still usable.


def _rewrite_meta(path: Path, change, fix_checksum: bool) -> None:
    meta = json.loads((path / "meta.json").read_text())
    change(meta)
    if fix_checksum:
        body = {key: value for key, value in meta.items() if key != "checksum"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        meta["checksum"] = hashlib.sha256(canonical.encode()).hexdigest()
    (path / "meta.json").write_text(json.dumps(meta))


def _truncate(path: Path) -> None:
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray((path / "training.safetensors").read_bytes())
    data[-1] ^= 0x01
    (path / "training.safetensors").write_bytes(bytes(data))


def _edit_meta_value(path: Path) -> None:
    _rewrite_meta(path, lambda meta: meta.update(step=1), fix_checksum=False)


def _meta_not_json(path: Path) -> None:
    (path / "meta.json").write_text('{"step": 100,')


def _missing_file(path: Path) -> None:
    (path / "training.safetensors").unlink()


def _missing_meta(path: Path) -> None:
    (path / "meta.json").unlink()


def _wrong_format(path: Path) -> None:
    _rewrite_meta(path, lambda meta: meta.update(format="other-2"), fix_checksum=True)


def _truncated_with_fixed_checksums(path: Path) -> None:
    _truncate(path)
    digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    _rewrite_meta(path, lambda meta: meta["files"].update({"model.safetensors": digest}), True)


DAMAGE = {
    "truncated": (_truncate, "model.safetensors is corrupt or was modified: sha256 expected"),
    "flipped byte": (_flip_byte, "training.safetensors is corrupt or was modified"),
    "edited meta": (_edit_meta_value, "meta.json is corrupt or was modified: checksum"),
    "meta not json": (_meta_not_json, "meta.json is not valid JSON"),
    "missing file": (_missing_file, "training.safetensors is missing"),
    "missing meta": (_missing_meta, "meta.json is missing"),
    "wrong format": (_wrong_format, "format 'other-2', expected 'rnnlab-checkpoint-1'"),
    "truncated, checksums fixed": (_truncated_with_fixed_checksums, "not a safetensors file"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_checkpoint_raises_and_names_the_earlier_one(
    checkpoints: Path, damage: str
) -> None:
    _save(checkpoints, 50)
    damaged = _save(checkpoints, 100)
    corrupt, problem = DAMAGE[damage]
    corrupt(damaged)

    with pytest.raises(CheckpointError) as info:
        load_checkpoint(checkpoints)
    message = str(info.value)
    assert "\n" not in message
    assert str(damaged) in message
    assert problem in message
    run_dir = checkpoints.parent
    assert f"`rnnlab resume {run_dir} --checkpoint step-00000050`" in message

    earlier = load_checkpoint(checkpoints, "step-00000050")
    assert_bitwise_equal(earlier.model_state, _states(50)[0])


def test_missing_checkpoint_name_lists_the_available_ones(checkpoints: Path) -> None:
    _save(checkpoints, 50)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(checkpoints, "step-00000999")
    message = str(info.value)
    assert str(checkpoints / "step-00000999") in message
    assert "does not exist" in message
    assert "--checkpoint step-00000050" in message


@pytest.mark.parametrize("name", ["../step-00000050", "latest", "step-50"])
def test_bad_checkpoint_name_is_refused(checkpoints: Path, name: str) -> None:
    _save(checkpoints, 50)
    with pytest.raises(CheckpointError, match="is not a checkpoint name"):
        load_checkpoint(checkpoints, name)


@pytest.mark.parametrize("exists", [False, True])
def test_no_checkpoints_at_all(checkpoints: Path, exists: bool) -> None:
    if exists:
        checkpoints.mkdir(parents=True)
    state = "has no checkpoints" if exists else "does not exist"
    with pytest.raises(CheckpointError, match=state):
        load_checkpoint(checkpoints)


class _TouchOnUnpickle:
    """A pickle payload: unpickling it calls ``Path.touch(marker)``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_payload_is_never_executed(checkpoints: Path, tmp_path: Path) -> None:
    # The payload is live: unpickling it does create its marker.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(control)))
    assert control.exists()

    _save(checkpoints, 50)
    damaged = _save(checkpoints, 100)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_TouchOnUnpickle(marker))
    (damaged / "model.safetensors").write_bytes(payload)
    # A careful attacker makes meta.json consistent with the replaced file.
    digest = hashlib.sha256(payload).hexdigest()
    _rewrite_meta(damaged, lambda meta: meta["files"].update({"model.safetensors": digest}), True)

    with pytest.raises(CheckpointError, match="not a safetensors file") as info:
        load_checkpoint(checkpoints)
    assert "step-00000050" in str(info.value)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------
# Optimizer state


OPTIMIZERS = {
    "sgd-momentum": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=0.01),
    "adamw": lambda params: torch.optim.AdamW(params, lr=0.01, weight_decay=0.1),
    "rmsprop": lambda params: torch.optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True),
}


def _step(model: nn.Linear, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> None:
    optimizer.zero_grad()
    model(x).pow(2).mean().backward()
    optimizer.step()


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_optimizer_round_trip_continues_bitwise(checkpoints: Path, kind: str) -> None:
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(8, 3, generator=generator) for _ in range(5)]
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = OPTIMIZERS[kind](model.parameters())
    for x in inputs[:3]:
        _step(model, optimizer, x)

    tensors, optimizer_meta = optimizer_state_to_tensors(optimizer.state_dict())
    training_state = {**tensors, "rng": torch.get_rng_state()}
    save_checkpoint(
        checkpoints, 3, model.state_dict(), training_state, {"optimizer": optimizer_meta}
    )
    checkpoint = load_checkpoint(checkpoints)

    restored_model = nn.Linear(3, 2)
    restored_model.load_state_dict(checkpoint.model_state)
    restored = OPTIMIZERS[kind](restored_model.parameters())
    state_dict = optimizer_state_from_tensors(
        checkpoint.training_state, checkpoint.meta["optimizer"]
    )
    assert all(isinstance(index, int) for index in state_dict["state"])
    restored.load_state_dict(state_dict)
    assert restored.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]
    for index, param_state in optimizer.state_dict()["state"].items():
        restored_state = restored.state_dict()["state"][index]
        assert restored_state.keys() == param_state.keys()
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                assert_bitwise_equal({key: restored_state[key]}, {key: value})
            else:
                assert restored_state[key] == value

    for x in inputs[3:]:
        _step(model, optimizer, x)
        _step(restored_model, restored, x)
    assert_bitwise_equal(dict(restored_model.state_dict()), dict(model.state_dict()))


def test_optimizer_tensor_valued_group_entries_round_trip() -> None:
    state_dict = {
        "state": {0: {"step": torch.tensor(2.0), "count": 3, "buffer": None}},
        "param_groups": [{"lr": torch.tensor(0.01), "betas": (0.9, 0.99), "params": [0]}],
    }
    tensors, meta = optimizer_state_to_tensors(state_dict)
    assert sorted(tensors) == ["optimizer.param_groups.0.lr", "optimizer.state.0.step"]
    restored = optimizer_state_from_tensors(tensors, json.loads(json.dumps(meta)))
    assert restored["state"][0]["count"] == 3
    assert restored["state"][0]["buffer"] is None
    assert restored["param_groups"][0]["betas"] == (0.9, 0.99)
    assert torch.equal(restored["param_groups"][0]["lr"], torch.tensor(0.01))
