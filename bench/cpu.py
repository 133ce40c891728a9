"""CPU time used by each part of a benchmark run (app server, PostgreSQL, load client), from /proc.

Wall-clock samplers count time spent waiting; these are the kernel's own user + system times,
so "ms of CPU per submission" for each part adds up to what the machine spent.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float, float] | None:
    """(command name, parent pid, own CPU s, reaped children's CPU s) of a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it ended meanwhile
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # Fields after the name, counted from 0: ppid is 1, utime 11, stime 12, cutime 13, cstime 14.
    own = (int(fields[11]) + int(fields[12])) / TICK
    children = (int(fields[13]) + int(fields[14])) / TICK
    return name, int(fields[1]), own, children


def _processes() -> dict[int, tuple[str, int, float, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


@dataclass(frozen=True)
class CpuSnapshot:
    server: float  # gunicorn master, workers, and workers that have exited
    postgres: float  # every PostgreSQL process, and backends that have exited
    client: float  # this process (the load generator)


def snapshot(server_pid: int) -> CpuSnapshot:
    processes = _processes()
    server = postgres = 0.0
    for pid, (name, ppid, own, children) in processes.items():
        if pid == server_pid or ppid == server_pid:
            server += own + (children if pid == server_pid else 0.0)
        elif name.startswith("postgres"):
            # The postmaster (whose parent is not PostgreSQL) counts the backends that exited.
            postmaster = processes.get(ppid, ("",))[0] != "postgres"
            postgres += own + (children if postmaster else 0.0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot(server, postgres, usage.ru_utime + usage.ru_stime)


def per_request_ms(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request for each part between two snapshots."""
    if not requests:
        return {}
    parts = {
        "server": after.server - before.server,
        "postgres": after.postgres - before.postgres,
        "client": after.client - before.client,
    }
    return {name: round(seconds / requests * 1000, 2) for name, seconds in parts.items()}
