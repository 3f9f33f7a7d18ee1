"""syslog: RFC 5424 messages over TCP (octet-counted framing, RFC 6587 3.4.1) or UDP (one datagram each, RFC 5426).

``<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [trainboard@32473 project="p" run="r" rank="0" level="info"] text``:
MSGID is ``line`` or ``event``; the labels travel as structured data under the SD-ID ``trainboard@32473``
(32473 is the private enterprise number RFC 5612 sets aside for examples and documentation; no number is
registered for trainboard). The severity follows the level (error -> 3, warning -> 4, success/notice -> 5, info ->
6, debug and trace -> 7, critical -> 2).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.records import Record
from trainboard.server.export.runner import SendError

__all__ = ["SD_ID", "SyslogSink", "format_message", "syslog_severity"]

SD_ID = "trainboard@32473"
#: The largest UDP datagram sent; a longer message is cut (RFC 5426 allows receivers to truncate anyway).
MAX_DATAGRAM = 65_000
_SEVERITIES = ((50, 2), (40, 3), (30, 4), (25, 5), (20, 6))


def syslog_severity(level_no: int) -> int:
    for floor, number in _SEVERITIES:
        if level_no >= floor:
            return number
    return 7


def _sd_value(value: str) -> str:
    """A PARAM-VALUE: ``"``, ``\\`` and ``]`` escaped with a backslash (RFC 5424 6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _header_field(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, at most ``limit`` characters; ``-`` when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def format_message(record: Record, *, config: SinkConfig, hostname: str) -> bytes:
    """One RFC 5424 message (without framing)."""
    pri = config.facility * 8 + syslog_severity(record.level_no)
    stamp = datetime.fromtimestamp(record.time_ns / 1e9, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    params = " ".join(f'{name}="{_sd_value(record.labels[name])}"' for name in config.labels if record.labels.get(name))
    sd = f"[{SD_ID} {params}]" if params else "-"
    header = f"<{pri}>1 {stamp} {_header_field(hostname, 255)} {config.app_name} - {record.kind} {sd}"
    return f"{header} {record.text}".encode("utf-8", "replace")


def _open(sock: socket.socket) -> bool:
    """Whether a TCP connection to a receiver (which never sends) is still open: a closed one reads as EOF."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


class SyslogSink:
    """Sends to one syslog receiver (``tcp://host:port`` or ``udp://host:port``); reconnects after an error."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        parts = urlsplit(config.endpoint)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 514)
        self.tcp = parts.scheme == "tcp"
        self.hostname = socket.gethostname()
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        if self._sock is not None and self.tcp and not _open(self._sock):
            self.close()  # the receiver closed it (a restart): writing now would vanish into a dead socket
        if self._sock is None:
            if self.tcp:
                self._sock = socket.create_connection(self.address, timeout=self.config.timeout)
            else:
                family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
                self._sock.settimeout(self.config.timeout)
        return self._sock

    def send(self, records: Sequence[Record]) -> None:
        messages = [format_message(r, config=self.config, hostname=self.hostname) for r in records]
        try:
            sock = self._connect()
            if self.tcp:
                sock.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
            else:
                for message in messages:
                    sock.sendto(message[:MAX_DATAGRAM], self.address)
        except OSError as exc:
            self.close()
            # A TCP batch cut by a reset may have partly arrived: sending it again can repeat a few lines.
            raise SendError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
