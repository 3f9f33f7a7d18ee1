"""The parent of a local job's ``trainboard run``: it waits for it and writes its exit status to a file.

A local job outlives the server process that started it (its own session), but only that process can reap it and
learn its exit status; after a server restart the status would be unknown. This small wrapper — run by path with
the same interpreter, standard library only — is the job's first process: it starts the command in the same
process group, ignores the polite stops meant for the command (SIGTERM, SIGINT, SIGHUP reach the whole group;
the command decides), waits, writes ``{"exit_code", "signal", "ended_at"}`` atomically to the status file, then
ends the way the command ended (the same exit code, or the same signal), so a server that is still its parent
sees what it would have seen without the wrapper.

Usage: ``python local_reaper.py STATUS_FILE -- ARGV...``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

_POLITE = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _write(path: str, code: int) -> None:
    sig = -code if code < 0 else None
    status = {"exit_code": 128 + sig if sig else code, "signal": sig, "ended_at": time.time()}
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(status, out)
    os.replace(tmp, path)


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: local_reaper.py STATUS_FILE -- ARGV...", file=sys.stderr)
        return 2
    path, argv = args[0], args[2:]
    for sig in _POLITE:  # caught (not ignored): the command starts with the default handlers
        signal.signal(sig, lambda *_: None)
    try:
        proc = subprocess.Popen(argv)
    except OSError as exc:
        print(f"cannot start {argv[0]!r}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        _write(path, 127)
        return 127
    while True:
        try:
            code = proc.wait()
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
    _write(path, code)
    if code < 0:  # end by the same signal, as the command did
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code  # a signal that does not end a process by default (SIGCHLD, SIGURG, ...)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
