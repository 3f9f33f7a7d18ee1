"""run_under_pty with real child processes.

Most tests run the runner in a separate Python process (the "driver") whose fd 1 / fd 2 are pipes, so
what the runner mirrors can be compared with what its callback saw.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import trainboard.sdk.pty_runner as pty_runner
from trainboard.sdk.pty_runner import PtyRunResult, run_under_pty

SRC = str(Path(pty_runner.__file__).resolve().parents[2])

DRIVER = textwrap.dedent(
    """
    import base64, json, sys
    from trainboard.sdk.pty_runner import run_under_pty

    chunks = {"stdout": [], "stderr": []}
    both = []  # every chunk in arrival order, to place resizes by offset
    sizes = []

    def on_output(source, data):
        chunks[source].append(data)
        both.append(data)

    def on_resize(columns, lines):
        sizes.append([sum(map(len, both)), columns, lines])

    size = tuple(json.loads(sys.argv[2])) if sys.argv[2] != "null" else None
    result = run_under_pty(sys.argv[3:], on_output=on_output, winsize=size, on_resize=on_resize)
    with open(sys.argv[1], "w") as f:
        json.dump({
            "stdout": base64.b64encode(b"".join(chunks["stdout"])).decode(),
            "stderr": base64.b64encode(b"".join(chunks["stderr"])).decode(),
            "exit_code": result.exit_code,
            "signal": result.signal,
            "forwarded": result.forwarded_signal,
            "output": base64.b64encode(b"".join(both)).decode(),
            "sizes": sizes,
        }, f)
    """
)


@dataclass
class DriverRun:
    """What the driver's own fds received and what its callback saw."""

    mirrored_out: bytes
    mirrored_err: bytes
    captured_out: bytes
    captured_err: bytes
    result: PtyRunResult
    driver_returncode: int
    #: both streams' bytes in the order the callback saw them, and (offset, columns, lines) per resize
    captured: bytes = b""
    sizes: tuple[tuple[int, int, int], ...] = ()


@dataclass
class Driver:
    """Starts the driver; ``finish`` collects its report."""

    proc: subprocess.Popen[bytes]
    report: Path

    def finish(self, timeout: float = 60) -> DriverRun:
        out, err = self.proc.communicate(timeout=timeout)
        data = json.loads(self.report.read_text())
        return DriverRun(
            mirrored_out=out,
            mirrored_err=err,
            captured_out=base64.b64decode(data["stdout"]),
            captured_err=base64.b64decode(data["stderr"]),
            result=PtyRunResult(data["exit_code"], data["signal"], data["forwarded"]),
            driver_returncode=self.proc.returncode,
            captured=base64.b64decode(data["output"]),
            sizes=tuple(tuple(s) for s in data["sizes"]),
        )


StartDriver = Callable[..., Driver]


@pytest.fixture
def start_driver(tmp_path: Path) -> StartDriver:
    """Factory: ``start_driver(argv, winsize=None, stdin=DEVNULL, stdout=PIPE, extra_env=None)``."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    counter = iter(range(1000))

    def start(
        argv: Sequence[str],
        *,
        winsize: tuple[int, int] | None = None,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int = subprocess.PIPE,
        extra_env: dict[str, str] | None = None,
    ) -> Driver:
        report = tmp_path / f"report{next(counter)}.json"
        proc = subprocess.Popen(
            [sys.executable, str(script), str(report), json.dumps(winsize), *argv],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env | (extra_env or {}),
        )
        return Driver(proc, report)

    return start


def py(code: str) -> list[str]:
    """argv running ``code`` in a fresh Python."""
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_both_streams_are_terminals(start_driver: StartDriver) -> None:
    run = start_driver(py("import os, sys; print(os.isatty(1), os.isatty(2), sys.stdin.isatty())")).finish()
    assert run.mirrored_out == b"True True False\r\n"  # stdin: the driver's /dev/null
    assert run.result == PtyRunResult(0)


def test_stdout_and_stderr_kept_apart(start_driver: StartDriver) -> None:
    code = """
        import os
        for i in range(50):
            os.write(1, b"out%d " % i)
            os.write(2, b"err%d " % i)
    """
    run = start_driver(py(code)).finish()
    assert run.captured_out == b"".join(b"out%d " % i for i in range(50))
    assert run.captured_err == b"".join(b"err%d " % i for i in range(50))
    assert run.mirrored_out == run.captured_out
    assert run.mirrored_err == run.captured_err


def test_bytes_mirrored_exactly_with_newline_translation(start_driver: StartDriver) -> None:
    payload = b"plain\nbar 10%\rbar 20%\r\x1b[31mred\x1b[0m\tTab\x00NUL\xff\xfe\xc3(bad utf-8\n"
    run = start_driver(py(f"import os; os.write(1, {payload!r}); os.write(2, {payload!r})")).finish()
    expected = payload.replace(b"\n", b"\r\n")  # the pty's ONLCR, as on a real terminal
    assert run.captured_out == expected
    assert run.captured_err == expected
    assert run.mirrored_out == expected
    assert run.mirrored_err == expected


def test_five_megabyte_line_without_newline(start_driver: StartDriver) -> None:
    code = """
        import os, random, sys
        data = bytes(b for b in random.Random(7).randbytes(6_000_000) if b != 10)[:5_000_000]
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        sys.stderr.buffer.write(data[::-1])
    """
    run = start_driver(py(code)).finish()
    expected = bytes(b for b in random.Random(7).randbytes(6_000_000) if b != 10)[:5_000_000]
    assert len(run.captured_out) == 5_000_000
    assert run.captured_out == expected
    assert run.mirrored_out == expected
    assert run.captured_err == expected[::-1]
    assert run.mirrored_err == expected[::-1]


def test_final_traceback_is_not_lost(start_driver: StartDriver) -> None:
    code = """
        import sys
        sys.stdout.write("x" * 200_000)
        1 / 0
    """
    run = start_driver(py(code)).finish()
    assert run.result.exit_code == 1
    assert run.captured_out == b"x" * 200_000
    assert run.captured_err.startswith(b"Traceback (most recent call last):\r\n")
    assert run.captured_err.endswith(b"ZeroDivisionError: division by zero\r\n")
    assert run.mirrored_err == run.captured_err


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("raise SystemExit(0)", PtyRunResult(0)),
        ("raise SystemExit(3)", PtyRunResult(3)),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", PtyRunResult(137, signal.SIGKILL)),
    ],
)
def test_exit_code_propagated(start_driver: StartDriver, code: str, expected: PtyRunResult) -> None:
    assert start_driver(py(code)).finish().result == expected


def _wait_for(fd: int, *needles: bytes, timeout: float = 30) -> bytes:
    """Read ``fd`` (the driver's stdout) until every one of ``needles`` has shown up."""
    seen = b""
    deadline = time.monotonic() + timeout
    while not all(n in seen for n in needles):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {needles!r}; got {seen!r}"
        if select.select([fd], [], [], remaining)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"EOF before {needles!r}; got {seen!r}"
            seen += chunk
    return seen


def _stdout_fd(driver: Driver) -> int:
    assert driver.proc.stdout is not None
    return driver.proc.stdout.fileno()


def test_sigint_reaches_the_childs_process_group(start_driver: StartDriver, tmp_path: Path) -> None:
    grandchild = """
        import signal, sys, time
        def on_int(signum, frame):
            open(sys.argv[1], "w").write("grandchild got SIGINT")
            sys.exit(0)
        signal.signal(signal.SIGINT, on_int)
        print("gc-ready", flush=True)
        time.sleep(60)
    """
    child = f"""
        import subprocess, sys, time
        gc = subprocess.Popen([sys.executable, "-c", {textwrap.dedent(grandchild)!r}, {str(tmp_path / "gc")!r}])
        try:
            print("child-ready", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            gc.wait()
            print("child got SIGINT", flush=True)
            raise
    """
    driver = start_driver(py(child))
    seen = _wait_for(_stdout_fd(driver), b"gc-ready", b"child-ready")
    time.sleep(0.1)  # let the child reach its sleep
    driver.proc.send_signal(signal.SIGINT)
    run = driver.finish()
    assert b"child got SIGINT" in seen + run.mirrored_out
    assert (tmp_path / "gc").read_text() == "grandchild got SIGINT"
    # Python re-raises an uncaught KeyboardInterrupt as death by SIGINT, like a shell reports it.
    assert run.result == PtyRunResult(130, signal.SIGINT, signal.SIGINT)
    assert run.result.interrupted
    assert run.driver_returncode == 0  # the runner itself was not killed by the SIGINT


def test_sigterm_forwarded(start_driver: StartDriver) -> None:
    code = """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(9))
        print("ready", flush=True)
        time.sleep(60)
    """
    driver = start_driver(py(code))
    _wait_for(_stdout_fd(driver), b"ready")
    driver.proc.terminate()
    run = driver.finish()
    assert run.result == PtyRunResult(9, None, signal.SIGTERM)
    assert not run.result.interrupted


def test_explicit_window_size(start_driver: StartDriver) -> None:
    run = start_driver(py("import os; print(tuple(os.get_terminal_size()))"), winsize=(123, 45)).finish()
    assert run.mirrored_out == b"(123, 45)\r\n"


def test_without_a_terminal_the_size_comes_from_columns_and_lines(start_driver: StartDriver) -> None:
    argv = py("import os; print(tuple(os.get_terminal_size()))")
    run = start_driver(argv, extra_env={"COLUMNS": "100", "LINES": "30"}).finish()
    assert run.mirrored_out == b"(100, 30)\r\n"  # what tqdm (ioctl) and shutil ($COLUMNS) agree on
    assert run.sizes == ((0, 100, 30),)
    run = start_driver(argv, extra_env={"COLUMNS": "", "LINES": ""}).finish()
    assert run.sizes == ((0, 80, 24),)


def test_explicit_window_size_is_reported_once(start_driver: StartDriver) -> None:
    run = start_driver(py("print('hi')"), winsize=(123, 45)).finish()
    assert run.sizes == ((0, 123, 45),)


def test_window_size_of_parent_terminal_and_sigwinch(start_driver: StartDriver) -> None:
    code = """
        import os, signal, time
        def on_winch(signum, frame):
            print("resized", tuple(os.get_terminal_size()), flush=True)
            raise SystemExit(0)
        signal.signal(signal.SIGWINCH, on_winch)
        print("start", tuple(os.get_terminal_size()), flush=True)
        time.sleep(60)
    """
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    driver = start_driver(py(code), stdout=slave)
    os.close(slave)
    try:
        seen = _wait_for(master, b"start (111, 33)")
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
        driver.proc.send_signal(signal.SIGWINCH)  # the driver's terminal is not its controlling one
        seen += _wait_for(master, b"resized (132, 40)")
        run = driver.finish()
    finally:
        os.close(master)
    # the resize is recorded with the offset where output at the new size begins
    assert [size for _offset, *size in run.sizes] == [[111, 33], [132, 40]]
    assert run.sizes[0][0] == 0
    before = run.captured.index(b"start (111, 33)") + len(b"start (111, 33)")
    assert before <= run.sizes[1][0] <= run.captured.index(b"resized (132, 40)")


def test_stdin_is_inherited(start_driver: StartDriver) -> None:
    driver = start_driver(py("import sys; print(sys.stdin.read().upper())"), stdin=subprocess.PIPE)
    assert driver.proc.stdin is not None
    driver.proc.stdin.write(b"hello")
    driver.proc.stdin.close()
    driver.proc.stdin = None  # communicate() must not touch it again
    assert driver.finish().mirrored_out == b"HELLO\r\n"


def test_stdin_closed_becomes_dev_null() -> None:
    code = "import sys; print(repr(sys.stdin.read()))"
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-c", _in_process_driver(code)],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert proc.stdout == b"''\r\n", proc.stderr


def _in_process_driver(child_code: str) -> str:
    return (
        "import sys\n"
        "from trainboard.sdk.pty_runner import run_under_pty\n"
        f"sys.exit(run_under_pty([sys.executable, '-c', {child_code!r}], on_output=lambda s, b: None).exit_code)\n"
    )


def test_callback_error_does_not_stop_the_run(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken(source: str, chunk: bytes) -> None:
        calls.append(source)
        raise RuntimeError("callback broke")

    result = run_under_pty(py("print('a'); print('b')"), on_output=broken, mirror=False)
    assert result == PtyRunResult(0)
    assert len(calls) >= 1
    assert [r.getMessage() for r in caplog.records].count(
        "trainboard: output callback failed; output is still mirrored"
    ) == 1


def test_in_process_callback_order_and_no_fd_leak() -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()
    chunks: list[tuple[str, bytes]] = []
    code = "import os\nfor i in range(3):\n    os.write(1, b'%d' % i)\n"
    result = run_under_pty(py(code), on_output=lambda s, b: chunks.append((s, b)), mirror=False)
    assert result.exit_code == 0
    assert b"".join(b for s, b in chunks if s == "stdout") == b"012"
    with pytest.raises(FileNotFoundError):
        run_under_pty(["/nonexistent/command"], on_output=lambda s, b: None, mirror=False)
    if before:
        assert set(os.listdir("/proc/self/fd")) == before


def test_a_failing_runner_does_not_orphan_the_child() -> None:
    def fatal(source: str, chunk: bytes) -> None:
        raise SystemExit("caller gives up")

    code = "import time\nprint('hi', flush=True)\ntime.sleep(60)\n"
    started = time.monotonic()
    with pytest.raises(SystemExit):
        run_under_pty(py(code), on_output=fatal, mirror=False)
    assert time.monotonic() - started < 30  # the child was hung up on and reaped, not waited for


def test_tqdm_draws_in_place_as_on_a_terminal(start_driver: StartDriver) -> None:
    pytest.importorskip("tqdm")
    code = """
        import time
        from tqdm import tqdm
        for _ in tqdm(range(3), mininterval=0):
            time.sleep(0.01)
    """
    run = start_driver(py(code), winsize=(100, 30)).finish()
    assert run.result.exit_code == 0
    bars = run.captured_err.split(b"\r")
    assert len(bars) >= 4  # redrawn in place with \r, as tqdm does only on a terminal
    assert b"100%" in bars[-2]
    assert bars[-1] == b"\n"  # tqdm's closing newline, as \r\n (ONLCR)
    assert run.mirrored_err == run.captured_err
