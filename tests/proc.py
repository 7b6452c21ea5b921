"""What the tests read of processes, from Linux's /proc: one parser for /proc/PID/stat."""

import os
import time
from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state first, then the parent's id, ...),
    or None once the process is gone. The name, in parentheses, may itself hold spaces."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has already stopped)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (0 once it is gone)."""
    fields = stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> set[int]:
    """The processes whose parent is pid."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below pid (a server's job processes among them)."""
    found, stack = [], list(children(pid))
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children(current))
    return found


def is_spawned_worker(pid: int) -> bool:
    """A multiprocessing 'spawn' worker (not its resource tracker)."""
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_until(condition, seconds: float, every: float = 0.2):
    """Poll condition() until it returns something true (returned) or `seconds` pass (its last value)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
