"""trainboard-loadavg: an example ``trainboard.system_sources`` plugin (see the README)."""

from __future__ import annotations

import os

import psutil

TRAINBOARD_API = 1


class LoadAverage:
    """The host's load average, and threads / open file descriptors of the run's processes."""

    name = "loadavg"

    def status(self) -> str:
        return "detected: os.getloadavg" if hasattr(os, "getloadavg") else "not detected: no os.getloadavg here"

    def read(self, pids: frozenset[int]) -> dict[str, float]:
        out: dict[str, float] = {}
        try:
            one, five, fifteen = os.getloadavg()
        except (AttributeError, OSError):
            return out
        out.update({"sys/loadavg/1m": one, "sys/loadavg/5m": five, "sys/loadavg/15m": fifteen})
        threads = fds = 0
        counted = 0
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                threads += proc.num_threads()
                fds += proc.num_fds()
                counted += 1
            except (psutil.Error, AttributeError):
                continue
        if counted:
            out["sys/loadavg/proc_threads"] = float(threads)
            out["sys/loadavg/proc_fds"] = float(fds)
        return out
