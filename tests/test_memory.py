"""The memory available to a new allocation, read from the system, with its fallbacks."""

import pytest

from rnnlab import memory


@pytest.fixture
def system(tmp_path, monkeypatch):
    """A fake /proc and /sys/fs/cgroup under tmp_path; nothing there until a test writes it."""
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(memory, "PROC_CGROUP", tmp_path / "cgroup")
    monkeypatch.setattr(memory, "CGROUP", tmp_path / "sys")
    monkeypatch.setattr(memory.os, "sysconf", lambda name: {"SC_AVPHYS_PAGES": 10,
                                                           "SC_PAGE_SIZE": 4096}[name])  # fmt: skip
    return tmp_path


def test_mem_available_is_read_from_meminfo(system):
    (system / "meminfo").write_text(
        "MemTotal:       32000000 kB\nMemFree:          100000 kB\nMemAvailable:   24140804 kB\n"
    )
    assert memory.available_memory() == 24140804 * 1024  # MemAvailable, not MemFree


def test_without_meminfo_free_pages_are_used_and_else_nothing_is_known(system, monkeypatch):
    assert memory.available_memory() == 10 * 4096
    (system / "meminfo").write_text("MemTotal: 1 kB\n")  # a kernel older than MemAvailable
    assert memory.available_memory() == 10 * 4096

    def no_sysconf(name):
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(memory.os, "sysconf", no_sysconf)
    assert memory.available_memory() is None


def test_a_container_limit_below_the_machine_is_what_is_available(system):
    (system / "meminfo").write_text("MemAvailable:   24000000 kB\n")
    (system / "cgroup").write_text("0::/job/42\n")
    group = system / "sys" / "job" / "42"
    group.mkdir(parents=True)
    (group / "memory.max").write_text("2000000000\n")
    (group / "memory.current").write_text("500000000\n")
    assert memory.available_memory() == 1_500_000_000
    (group / "memory.max").write_text("max\n")  # no limit
    assert memory.available_memory() == 24000000 * 1024


@pytest.mark.parametrize(
    "count, text",
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (23_600_000_000, "23.6 GB"), (4e16, "40.0 PB"),
     (4e19, "40000.0 PB")],
)  # fmt: skip
def test_format_bytes(count, text):
    assert memory.format_bytes(count) == text
