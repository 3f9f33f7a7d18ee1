"""The SDK's one bounded queue and one background drain thread.

The training thread only appends tuples to a deque (``metrics``, ``log_bytes``, ``op``). Every
``interval`` seconds (or sooner when much is queued) the drain thread turns what is queued into
journal lines — metric points get per-stream sequence numbers here — appends them to the on-disk
journal, then sends unacknowledged lines to the server in order over one keep-alive connection and
advances the journal's ack cursor after each acknowledged request. When the server is unreachable it
keeps journaling and retries with exponential backoff (1, 2, 4, 8 ... 30 s), warning once on stderr.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

from trainboard.sdk.replay import replay
from trainboard.sdk.spool import Journal, Record, encode
from trainboard.sdk.transport import Outcome, Reply, Transport

#: Points per metrics request at most (keeps each request well under the server's body limit).
MAX_POINTS_PER_OP = 200_000
#: Raw log bytes per request at most.
MAX_LOG_BYTES_PER_OP = 4 << 20
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0

_FLUSH = "flush"


class _BlockBuilder:
    """Accumulates metric rows sharing one key set into the columnar block encoding (see the server's
    ``metric_parse``): int64 steps, float64 timestamps, a row-major float64 value matrix, base64'd.
    Appending a row costs a few array appends instead of JSON-formatting every float."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.points = 0
        self._keys: tuple[str, ...] | None = None
        self._seq0 = 0
        self._steps = array("q")
        self._times = array("d")
        self._values = array("d")

    def add(self, seq: int, step: int, ts: float, values: dict[str, float]) -> None:
        keys = tuple(values)
        if keys != self._keys:
            self.close()
            self._keys, self._seq0 = keys, seq
        self._steps.append(step)
        self._times.append(ts)
        n = len(self._values)
        try:
            self._values.extend(values.values())
        except OverflowError:  # an int beyond float range: store it as +/-inf rather than lose the row
            del self._values[n:]
            self._values.extend(_as_float(v) for v in values.values())
        self.points += len(keys)

    def close(self) -> None:
        if self._keys is not None and self._steps:
            self.blocks.append(
                {
                    "keys": list(self._keys),
                    "seq0": self._seq0,
                    "steps": _b64(self._steps),
                    "timestamps": _b64(self._times),
                    "values": _b64(self._values),
                }
            )
        self._keys = None
        self._steps, self._times, self._values = array("q"), array("d"), array("d")

    def take(self) -> list[dict[str, Any]]:
        self.close()
        blocks, self.blocks, self.points = self.blocks, [], 0
        return blocks


def _as_float(v: float) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _b64(arr: array[Any]) -> str:
    if sys.byteorder != "little":
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


class Pipeline:
    """Queue -> journal -> server, on one daemon thread."""

    def __init__(
        self,
        *,
        run_id: str,
        stream: str,
        journal: Journal,
        transport: Transport,
        interval: float = 0.05,
        heartbeat_interval: float = 10.0,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.stream = stream
        self.journal = journal
        self.transport = transport
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self._warn = warn or (lambda msg: print(f"trainboard: {msg}", file=sys.stderr, flush=True))
        self._queue: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._stop = False
        self._seq = 0
        self._retry_at = 0.0
        self._backoff = BACKOFF_START
        self._warned_down = False
        self._warned_rejected: set[tuple[int | None, str]] = set()
        self._last_heartbeat = 0.0
        self.connected: bool | None = None  # unknown until the first request
        self._thread = threading.Thread(target=self._run, name="trainboard-sdk", daemon=True)
        self._thread.start()

    # ---- called from the training thread: append only ----
    def metrics(self, step: int, ts: float, values: dict[str, float]) -> None:
        q = self._queue
        q.append(("m", step, ts, values))
        if len(q) > 50_000:
            self._wake.set()

    def log_bytes(self, source: str, data: bytes, ts: float) -> None:
        self._queue.append(("l", source, data, ts))
        self._wake.set()  # terminal output goes out at once (people watch it live); bursts batch naturally

    def terminal_size(self, cols: int, rows: int) -> None:
        """The terminal is ``cols`` x ``rows`` from the next output byte on (sent as an empty raw chunk
        carrying ``size``, so the server places it at the right offset of the log)."""
        self._queue.append(("l", "stdout", b"", time.time(), {"cols": cols, "rows": rows}))
        self._wake.set()

    def log_record(self, ts: float, level: str, logger: str, message: str) -> None:
        self._queue.append(("r", ts, level, logger, message))
        self._wake.set()

    def op(self, method: str, path: str, body: dict[str, Any]) -> None:
        self._queue.append(("o", method, path, json.dumps(body, separators=(",", ":")).encode()))
        self._wake.set()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before this call is acknowledged; False on timeout."""
        done = threading.Event()
        self._queue.append((_FLUSH, done))
        self._wake.set()
        if self._retry_at > time.monotonic():
            self._retry_at = 0.0  # try once more right away
        return done.wait(timeout)

    def close(self, timeout: float) -> bool:
        """Flush (bounded by ``timeout``), then stop the thread. Returns whether all was acknowledged."""
        ok = self.flush(timeout)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=5.0)
        self.transport.close()
        self.journal.close()
        return ok

    @property
    def unacked_bytes(self) -> int:
        return self.journal.size - self.journal.acked

    # ---- the drain thread ----
    def _run(self) -> None:
        waiting: list[tuple[int, threading.Event]] = []
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                waiting.extend(self._drain())
                self._send()
                self._heartbeat()
            except Exception as exc:  # never let the thread die: training must go on
                self._warn(f"internal error in the upload thread (data stays spooled): {exc!r}")
                time.sleep(1.0)
            if waiting:
                still = []
                for offset, ev in waiting:
                    if self.journal.acked >= offset:
                        ev.set()
                    else:
                        still.append((offset, ev))
                waiting = still
            if self._stop:
                return

    def _drain(self) -> list[tuple[int, threading.Event]]:
        q = self._queue
        lines: list[bytes] = []
        flushes: list[threading.Event] = []
        builder = _BlockBuilder()
        chunks: list[dict[str, Any]] = []
        chunk_bytes = 0
        base = f"/api/runs/{self.run_id}"

        def emit_points() -> None:
            if builder.points:
                body = json.dumps({"stream": self.stream, "blocks": builder.take()}, separators=(",", ":"))
                lines.append(encode("POST", f"{base}/metrics", body.encode()))

        records: list[dict[str, Any]] = []

        def emit_records() -> None:
            if records:
                body = json.dumps({"stream": self.stream, "lines": records}, separators=(",", ":")).encode()
                lines.append(encode("POST", f"{base}/logs/batch", body))
                records.clear()

        def emit_chunks() -> None:
            nonlocal chunk_bytes
            if chunks:
                body = json.dumps({"stream": self.stream, "chunks": chunks}, separators=(",", ":")).encode()
                lines.append(encode("POST", f"{base}/logs/raw", body))
                chunks.clear()
                chunk_bytes = 0

        while True:
            try:
                item = q.popleft()
            except IndexError:
                break
            kind = item[0]
            if kind != "r" and records:
                emit_records()
            if kind == "m":
                if chunks:
                    emit_chunks()
                self._seq += 1
                builder.add(self._seq, item[1], item[2], item[3])
                if builder.points >= MAX_POINTS_PER_OP:
                    emit_points()
            elif kind == "l":
                emit_points()
                self._seq += 1
                data: bytes = item[2]
                chunks.append(
                    {"seq": self._seq, "source": item[1], "time": item[3], "data": base64.b64encode(data).decode()}
                )
                if len(item) > 4:  # terminal_size()
                    chunks[-1]["size"] = item[4]
                chunk_bytes += len(data)
                if chunk_bytes >= MAX_LOG_BYTES_PER_OP:
                    emit_chunks()
            elif kind == "r":
                emit_points()
                emit_chunks()
                self._seq += 1
                records.append(
                    {
                        "seq": self._seq,
                        "timestamp": item[1],
                        "level": item[2],
                        "logger": item[3],
                        "message": item[4],
                        "source": "sdk",
                    }
                )
            elif kind == "o":
                emit_points()
                emit_chunks()
                emit_records()
                lines.append(encode(item[1], item[2], item[3]))
            else:  # flush marker
                emit_points()
                emit_chunks()
                emit_records()
                flushes.append(item[1])
        emit_points()
        emit_chunks()
        emit_records()
        end = self.journal.append(lines)
        return [(end, ev) for ev in flushes]

    def _send(self) -> None:
        if self.journal.done or time.monotonic() < self._retry_at:
            return
        failed = replay(self.journal, self.transport, on_sent=self._sent)
        if failed is not None:
            self._went_down(failed.detail)

    def _sent(self, record: Record, reply: Reply) -> None:
        if reply.outcome is Outcome.REJECTED:
            key = (reply.status, record.path.rsplit("/", 1)[-1])
            if key not in self._warned_rejected:
                self._warned_rejected.add(key)
                self._warn(f"the server rejected {record.method} {record.path} (HTTP {reply.status}): {reply.detail}")
        self._came_back()

    def _went_down(self, detail: str) -> None:
        self.connected = False
        if not self._warned_down:
            self._warned_down = True
            self._warn(
                f"cannot reach {self.transport.base_url} ({detail}); training continues, data is "
                f"spooled in {self.journal.path.parent} and retried"
            )
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    def _came_back(self) -> None:
        if self.connected is False and self._warned_down:
            self._warn(f"reconnected to {self.transport.base_url}; uploading spooled data")
            self._warned_down = False
        self.connected = True
        self._backoff = BACKOFF_START

    def stop_heartbeats(self) -> None:
        """No more heartbeats: the run is ending (a late one must not look like a live process)."""
        self.heartbeat_interval = math.inf

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.connected and self.journal.done and now - self._last_heartbeat >= self.heartbeat_interval:
            self._last_heartbeat = now
            self.transport.send("POST", f"/api/runs/{self.run_id}/heartbeat")
