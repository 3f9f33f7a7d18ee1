"""OutputCapture, run inside a child Python whose real fd 1 / fd 2 the test reads."""

from __future__ import annotations

import ast
import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import trainboard.sdk.capture as capture_module

SRC = str(Path(capture_module.__file__).resolve().parents[2])

PRELUDE = textwrap.dedent(
    """
    import atexit, base64, json, os, subprocess, sys, time
    from trainboard.sdk.capture import OutputCapture

    chunks = {"stdout": [], "stderr": []}

    def _report():  # registered first, so it runs after the capture's own atexit stop()
        with open(sys.argv[1], "w") as f:
            json.dump({k: base64.b64encode(b"".join(v)).decode() for k, v in chunks.items()}, f)

    atexit.register(_report)
    capture = OutputCapture(lambda source, chunk: chunks[source].append(chunk))
    """
)


@dataclass
class ScriptRun:
    """What reached the child's real fds, and what its capture callback saw."""

    real_out: bytes
    real_err: bytes
    seen_out: bytes
    seen_err: bytes
    returncode: int


RunScript = Callable[..., ScriptRun]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}


def _report(path: Path) -> tuple[bytes, bytes]:
    data = json.loads(path.read_text())
    return base64.b64decode(data["stdout"]), base64.b64decode(data["stderr"])


@pytest.fixture
def run_script(tmp_path: Path) -> RunScript:
    """Factory: ``run_script(body)`` runs PRELUDE + body with fd 1 / fd 2 on pipes."""
    counter = iter(range(1000))

    def run(body: str, *, timeout: float = 60) -> ScriptRun:
        n = next(counter)
        script, report = tmp_path / f"script{n}.py", tmp_path / f"report{n}.json"
        script.write_text(PRELUDE + textwrap.dedent(body))
        proc = subprocess.run(
            [sys.executable, str(script), str(report)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env=_env(),
        )
        seen_out, seen_err = _report(report)
        return ScriptRun(proc.stdout, proc.stderr, seen_out, seen_err, proc.returncode)

    return run


def test_python_c_level_and_child_process_output_is_caught(run_script: RunScript) -> None:
    run = run_script(
        """
        print("before")
        sys.stdout.flush()
        capture.start()
        print("py out")
        print("py err", file=sys.stderr)
        os.write(1, b"fd out\\n")
        os.write(2, b"fd err\\n")
        subprocess.run(["sh", "-c", "echo child out; echo child err >&2"], check=True)
        sys.stdout.write("no newline")
        capture.stop()
        print("after")
        """
    )
    assert run.returncode == 0, run.real_err
    assert run.seen_out == b"py out\nfd out\nchild out\nno newline"
    assert run.seen_err == b"py err\nfd err\nchild err\n"
    assert run.real_out == b"before\n" + run.seen_out + b"after\n"
    assert run.real_err == run.seen_err


def test_binary_bytes_and_a_large_line_round_trip(run_script: RunScript) -> None:
    run = run_script(
        """
        payload = b"\\x00NUL\\xff\\xfe\\xc3(\\x1b[31mred\\x1b[0m\\rbar\\t" + bytes(range(256)) * 20_000
        with capture:
            os.write(1, payload)
            sys.stderr.buffer.write(payload[::-1])
        """
    )
    payload = b"\x00NUL\xff\xfe\xc3(\x1b[31mred\x1b[0m\rbar\t" + bytes(range(256)) * 20_000
    assert run.seen_out == payload
    assert run.real_out == payload
    assert run.seen_err == payload[::-1]
    assert run.real_err == payload[::-1]


def test_capture_left_running_is_drained_at_exit(run_script: RunScript) -> None:
    run = run_script(
        """
        capture.start()
        for i in range(1000):
            print("line", i)  # block-buffered: most of it is flushed only at exit
        raise SystemExit(4)
        """
    )
    expected = b"".join(b"line %d\n" % i for i in range(1000))
    assert run.returncode == 4
    assert run.seen_out == expected
    assert run.real_out == expected


def test_uncaught_exception_traceback_is_caught(run_script: RunScript) -> None:
    run = run_script("capture.start()\n1 / 0\n")
    assert run.returncode == 1
    assert run.seen_err.endswith(b"ZeroDivisionError: division by zero\n")
    assert run.real_err == run.seen_err


def test_callback_errors_never_reach_the_script(run_script: RunScript) -> None:
    run = run_script(
        """
        def broken(source, chunk):
            raise ValueError("boom")
        with OutputCapture(broken):
            for i in range(3):
                os.write(1, b"%d\\n" % i)
                time.sleep(0.05)
        print("script went on")
        """
    )
    assert run.returncode == 0
    assert run.real_out.count(b"trainboard: output capture callback failed (ValueError('boom'))") == 1
    assert (
        run.real_out.replace(
            b"trainboard: output capture callback failed (ValueError('boom')); output still shown\n", b""
        )
        == b"0\n1\n2\nscript went on\n"
    )


def test_start_stop_idempotent_restartable_and_restores_fds(run_script: RunScript) -> None:
    run = run_script(
        """
        ids = lambda: [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (1, 2)]
        original = ids()
        capture.stop()  # not started: nothing happens
        assert ids() == original
        capture.start(); capture.start()
        assert capture.active and ids() != original
        os.write(1, b"one ")
        capture.stop(); capture.stop()
        assert not capture.active and ids() == original
        os.write(1, b"uncaptured ")
        with capture:
            os.write(1, b"two")
        assert ids() == original
        """
    )
    assert run.returncode == 0, run.real_err
    assert run.seen_out == b"one two"
    assert run.real_out == b"one uncaptured two"


def test_not_started_touches_nothing(run_script: RunScript) -> None:
    run = run_script(
        """
        import threading
        before = [os.fstat(fd).st_ino for fd in (1, 2)]
        unused = OutputCapture(lambda s, b: None)
        assert [os.fstat(fd).st_ino for fd in (1, 2)] == before
        assert threading.active_count() == 1
        print("untouched")
        """
    )
    assert run.returncode == 0, run.real_err
    assert run.real_out == b"untouched\n"
    assert run.seen_out == b""


def test_stop_does_not_wait_for_a_child_that_keeps_the_stream(run_script: RunScript) -> None:
    run = run_script(
        """
        capture.start()
        child = subprocess.Popen(["sh", "-c", "echo early; sleep 1; echo late"])
        deadline = time.monotonic() + 20
        while b"early" not in b"".join(chunks["stdout"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        t = time.monotonic()
        capture.stop()
        os.write(2, b"stop took %.3f\\n" % (time.monotonic() - t))
        child.wait()
        """
    )
    assert run.returncode == 0
    took = float(run.real_err.split()[-1])
    assert took < 1.0
    assert run.seen_out == b"early\n"
    assert run.real_out == b"early\nlate\n"  # still teed to the terminal after stop()


def _read_until(fd: int, needle: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {needle!r}; got {seen!r}"
        if select.select([fd], [], [], remaining)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            assert chunk, f"EOF before {needle!r}; got {seen!r}"
            seen += chunk
    return seen


def test_terminal_stays_a_terminal_and_gets_bytes_unchanged(tmp_path: Path) -> None:
    body = """
        capture.start()
        print("tty", os.isatty(1), os.isatty(2), tuple(os.get_terminal_size(1)))
        subprocess.run(["sh", "-c", "test -t 1 && echo child-tty"], check=True)
        os.write(1, b"\\x1b[32mgreen\\x1b[0m bar\\r")
        capture.stop()
        print("done")
    """
    script, report = tmp_path / "script.py", tmp_path / "report.json"
    script.write_text(PRELUDE + textwrap.dedent(body))
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, str(script), str(report)], stdout=slave, stderr=slave, env=_env())
    os.close(slave)
    try:
        seen = _read_until(master, b"done\r\n")
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    written = b"tty True True (100, 30)\nchild-tty\n\x1b[32mgreen\x1b[0m bar\r"
    seen_out, _ = _report(report)
    assert seen_out == written  # as the program wrote it
    # The real terminal applies its own ONLCR once, exactly as without capture.
    assert seen == written.replace(b"\n", b"\r\n") + b"done\r\n"


def test_capture_module_imports_only_the_standard_library() -> None:
    """The capture (and the tee it shares with the PTY runner) need nothing outside the standard library."""
    sdk = Path(capture_module.__file__).parent
    for name in ("capture.py", "tee.py", "notices.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse((sdk / name).read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        ours = {"__future__", "trainboard.sdk.tee", "trainboard.sdk.notices"}
        outside = {m for m in imported - ours if m.split(".")[0] not in sys.stdlib_module_names}
        assert outside == set(), name


def test_start_without_free_fds_warns_and_leaves_streams_alone(run_script: RunScript) -> None:
    run = run_script(
        """
        import resource
        ids = lambda: [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (1, 2)]
        original = ids()
        highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 3, hard))  # room for a dup, not a pipe
        capture.start()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert not capture.active and ids() == original
        print("still works")
        """
    )
    assert run.returncode == 0, run.real_err
    assert b"RuntimeWarning: trainboard: output capture is off" in run.real_err
    assert run.real_out == b"still works\n"
    assert run.seen_out == b""
