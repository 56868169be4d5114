"""How much memory this machine can still give, to refuse a model before allocating it.

Asking the allocator for 40 PB fails with a traceback from deep inside torch; a network's
parameter count is known from its config (:func:`rnnlab.models.config.parameter_count`), so the size
can be compared with what is available first.
"""

import os
from pathlib import Path

MEMINFO = Path("/proc/meminfo")
PROC_CGROUP = Path("/proc/self/cgroup")  # this process's control group
CGROUP = Path("/sys/fs/cgroup")  # cgroup v2: a container's (Kubernetes, SLURM) own limit


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use now, or None where the system cannot say.

    The smallest of: Linux's ``MemAvailable`` (free memory plus the caches it can drop),
    ``os.sysconf`` free pages where there is no ``/proc/meminfo``, and the room left under this
    process's cgroup v2 limit (``memory.max - memory.current``), which is what a container can
    really use.
    """
    candidates = [_meminfo_available(), _cgroup_available()]
    if candidates[0] is None:
        candidates[0] = _sysconf_available()
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def format_bytes(count: int | float) -> str:
    """``count`` bytes in the largest unit that keeps a number >= 1: ``"40.0 PB"``."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _meminfo_available() -> int | None:
    try:
        text = MEMINFO.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            parts = value.split()  # "24140804 kB"
            if parts and parts[0].isdigit():
                return int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return None


def _sysconf_available() -> int | None:
    try:
        pages, page_size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows), or no such name
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def _cgroup_available() -> int | None:
    try:
        line = PROC_CGROUP.read_text(encoding="ascii").splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    if not line.startswith("0::"):  # cgroup v1, whose limits are elsewhere: not read
        return None
    group = CGROUP / line[3:].lstrip("/")
    try:
        limit = (group / "memory.max").read_text(encoding="ascii").strip()
        used = (group / "memory.current").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not (limit.isdigit() and used.isdigit()):  # "max": no limit
        return None
    return max(int(limit) - int(used), 0)
