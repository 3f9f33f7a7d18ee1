"""Debian's rsyslogd as a test's syslog receiver: started with its own configuration on free loopback ports
(TCP with RFC 6587 octet-counted framing, and UDP), writing each message it parsed (RFC 5424) to a file, one line
per message: ``severity|facility|app-name|msgid|structured-data|msg``. No system daemon is involved."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import IN_CI, free_port

RSYSLOGD = "/usr/sbin/rsyslogd"


@dataclass(frozen=True)
class Message:
    severity: int
    facility: int
    app_name: str
    msgid: str
    structured_data: str
    msg: str


@dataclass
class Rsyslog:
    """One rsyslogd; ``stop`` and ``start`` play an outage (same ports, same output file)."""

    work: Path
    tcp_port: int = field(default_factory=free_port)
    udp_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def out(self) -> Path:
        return self.work / "messages.log"

    def messages(self) -> list[Message]:
        if not self.out.exists():
            return []
        got = []
        for line in self.out.read_text(encoding="utf-8").splitlines():
            severity, facility, app, msgid, sd, msg = line.split("|", 5)
            got.append(Message(int(severity), int(facility), app, msgid, sd, msg))
        return got

    def start(self) -> None:
        conf = self.work / "rsyslog.conf"
        conf.write_text(
            f"""global(workDirectory="{self.work}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="{self.tcp_port}" address="127.0.0.1")
input(type="imudp" port="{self.udp_port}" address="127.0.0.1")
template(name="fields" type="string"
         string="%syslogseverity%|%syslogfacility%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
action(type="omfile" file="{self.out}" template="fields")
""",
            encoding="utf-8",
        )
        binary = shutil.which("rsyslogd") or RSYSLOGD
        with open(self.work / "stderr.log", "ab") as stderr:
            self.proc = subprocess.Popen(
                [binary, "-n", "-f", str(conf), "-i", str(self.work / "rsyslogd.pid")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {(self.work / 'stderr.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.tcp_port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("rsyslogd did not listen within 10 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextmanager
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    if not os.path.exists(shutil.which("rsyslogd") or RSYSLOGD):
        if IN_CI:
            pytest.fail("rsyslogd is not installed (scripts/test installs Debian's rsyslog)")
        pytest.skip("rsyslogd is not installed")
    work = tmp_path / "rsyslog"
    work.mkdir()
    box = Rsyslog(work)
    box.start()
    try:
        yield box
    finally:
        box.stop()
