"""A disk that fills at the k-th write: the calls that write a checkpoint, failed one at a time.

``rnnlab.train.checkpoint`` writes through ``os.mkdir`` (``Path.mkdir``), safetensors'
``save_file``, ``open`` for writing, ``os.fsync``, ``os.rename`` and ``os.replace``. Inside
``with full_disk_at(monkeypatch, k) as calls:`` the k-th of those calls fails as a full disk
fails it (``OSError(ENOSPC)``; safetensors' own error for ``save_file``, as it reports one) and
the others go through; ``calls`` lists the calls made, so a caller knows when ``k`` has passed
the last write.
"""

import contextlib
import errno
import os
from collections.abc import Iterator

import pytest
from safetensors import SafetensorError

from rnnlab.train import checkpoint

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@contextlib.contextmanager
def full_disk_at(monkeypatch: pytest.MonkeyPatch, k: int) -> Iterator[list[str]]:
    """Fail the ``k``-th write call (1-based) made inside the block; see the module docstring."""
    calls: list[str] = []

    def failing(name, real, error):
        def call(*args, **kwargs):
            calls.append(name)
            if len(calls) == k:
                raise error
            return real(*args, **kwargs)

        return call

    def full(name):
        return OSError(errno.ENOSPC, NO_SPACE, name)

    real_open = open
    failing_open = failing("open", real_open, full("open"))

    def open_for_writing_fails(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            return failing_open(file, mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    full_safetensors = SafetensorError(
        f"Error while serializing: I/O error: {NO_SPACE} (os error {errno.ENOSPC})"
    )
    with monkeypatch.context() as patch:
        patch.setattr(
            checkpoint, "save_file", failing("save_file", checkpoint.save_file, full_safetensors)
        )
        patch.setattr(checkpoint, "open", open_for_writing_fails, raising=False)
        for name in ("mkdir", "fsync", "rename", "replace"):
            patch.setattr(os, name, failing(name, getattr(os, name), full(name)))
        yield calls
