"""No client takes more than its share (server/http/limits.py, protocol.py, stream/, store/metrics.py, store/paging.py),
through real servers: stream caps on every stream route, header and body deadlines, a slow SSE client cut off
with a reason and resumed by offset, huge metric batches that do not hold other writes back, and a slow
download that does not pin the SQLite write-ahead log."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from trainboard.wire import MAX_BATCH_KEYS

STREAM_PATHS = ("/ws", "/api/runs/r1/logs/stream#ws", "/api/runs/r1/logs/stream")


@contextmanager
def open_stream(server: ServerProcess, path: str, source: str = "127.0.0.1") -> Iterator[int]:
    """Hold one stream open from ``source`` (a loopback address); yields 101/200, or the refusal's status."""
    if path.endswith("#ws") or path == "/ws":
        sock = socket.create_connection(("127.0.0.1", server.port), source_address=(source, 0))
        url = server.url.replace("http://", "ws://") + path.removesuffix("#ws")
        try:
            with connect(url, sock=sock, open_timeout=10):
                yield 101
        except InvalidStatus as exc:
            assert exc.response.headers["Retry-After"].isdigit()
            assert json.loads(exc.response.body)["detail"]
            yield exc.response.status_code
        return
    transport = httpx.HTTPTransport(local_address=source)
    with (
        httpx.Client(base_url=server.url, transport=transport, timeout=10) as client,
        client.stream("GET", path) as resp,
    ):
        if resp.status_code != 200:
            resp.read()
            assert resp.headers["Retry-After"].isdigit() and resp.json()["detail"]
        yield resp.status_code


def test_stream_caps_per_client_and_in_total(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server("--max-streams-per-client", "3", "--max-streams", "5")
    with server.client() as http:
        http.post("/api/runs", json={"id": "r1"}).raise_for_status()
    with ExitStack() as held:
        for path in STREAM_PATHS:  # one of each kind from 127.0.0.1
            assert held.enter_context(open_stream(server, path)) in (101, 200)
        for path in STREAM_PATHS:  # the client's share is taken: every kind refused with 429
            with open_stream(server, path) as status:
                assert status == 429, path
        for path in STREAM_PATHS[:2]:  # another client still gets streams, up to the total
            assert held.enter_context(open_stream(server, path, "127.0.0.2")) in (101, 200)
        for path in STREAM_PATHS:
            with open_stream(server, path, "127.0.0.3") as status:
                assert status == 503, path
        with server.client() as http:  # plain requests are not streams
            assert http.get("/api/runs/r1").status_code == 200
    with open_stream(server, "/ws", "127.0.0.3") as status:  # released when closed
        assert status == 101


def _read_until_closed(sock: socket.socket, limit: float = 60.0) -> bytes:
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects, sends nothing
        b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # headers a byte at a time, never finished
        b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"name": ',  # a body that never completes
    ],
    ids=["nothing", "half-headers", "half-body"],
)
def test_half_open_requests_are_timed_out(make_server: Callable[..., ServerProcess], sent: bytes) -> None:
    server = make_server("--header-timeout", "1", "--body-timeout", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(sent)
        if sent:  # keep trickling: a byte now and then must not keep it open
            for _ in range(3):
                time.sleep(0.3)
                try:
                    sock.sendall(b"a")
                except OSError:
                    break
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"not received within 1 s" in answer
    with server.client() as http:
        assert http.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("request_line", "said"),
    [
        (b"GET /api/runs?q=" + b"%F1" * 30_000 + b" HTTP/1.1", b"longer than 65535 bytes"),  # beyond the parser
        (b"GET /api/runs HTTP/9.x", b"malformed HTTP request"),
    ],
    ids=["url-too-long", "malformed"],
)
def test_a_request_the_parser_refuses_gets_a_json_400(
    make_server: Callable[..., ServerProcess], request_line: bytes, said: bytes
) -> None:
    """uvicorn answers these before the app in plain text; the API's documented 400 is JSON (schemathesis)."""
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
        answer = _read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"content-type: application/json" in head.lower()
    assert said in json.loads(body)["detail"].encode()


def _append(http: httpx.Client, run: str, data: bytes) -> None:
    chunks = [{"source": "stdout", "data": base64.b64encode(data).decode()}]
    http.post(f"/api/runs/{run}/logs/raw", json={"chunks": chunks}).raise_for_status()


def test_a_client_that_stops_reading_is_cut_off_with_a_reason_and_resumes(
    server: ServerProcess, http: httpx.Client
) -> None:
    """A subscriber holds at most its mailbox's bytes: one that stops reading while far more than that is
    appended gets ``event: lagged`` with the offset to resume from, and resuming gives every byte once."""
    http.post("/api/runs", json={"id": "slow"}).raise_for_status()
    line = b"0123456789" * 10 + b"\n"
    block = line * 4000  # 404 kB per append
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(b"GET /api/runs/slow/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    sent = b""
    for _ in range(100):  # 40 MB while the client reads nothing
        _append(http, "slow", block)
        sent += block
    received = bytearray()
    buf = head.split(b"\r\n\r\n", 1)[1]
    resume_from = None
    sock.settimeout(60)
    while resume_from is None:
        chunk = sock.recv(1 << 20)
        assert chunk, "the stream ended without saying why"
        buf += chunk
        for event in _events(buf):
            if event.get("event") == "log":
                received += base64.b64decode(event["data"])
                assert int(event["id"]) == len(received)
            elif event.get("event") == "lagged":
                info = json.loads(event["data"])
                assert "too slow" in info["reason"]
                resume_from = info["resume_from"]
        buf = buf[buf.rfind(b"\n\n") + 2 :] if b"\n\n" in buf else buf
    sock.close()
    assert resume_from == len(received) < len(sent)
    http.put("/api/runs/slow", json={"status": "completed", "exit_code": 0}).raise_for_status()
    with httpx.stream(
        "GET", f"{server.url}/api/runs/slow/logs/stream", headers={"Last-Event-ID": str(resume_from)}, timeout=60
    ) as resp:
        for event in _events_of(resp):
            if event.get("event") == "log":
                received += base64.b64decode(event["data"])
            elif event.get("event") == "done":
                break
    assert bytes(received) == sent


def _events(buf: bytes) -> list[dict[str, str]]:
    """The complete events in ``buf`` (chunked framing stripped crudely: chunk-size lines are ignored)."""
    out = []
    for raw in buf.split(b"\n\n")[:-1]:
        fields: dict[str, str] = {}
        for line in raw.split(b"\n"):
            line = line.strip(b"\r")
            name, sep, value = line.partition(b":")
            if sep and name in (b"event", b"data", b"id"):
                fields[name.decode()] = value.decode().strip()
            elif b"event:" in line:  # a chunk-size line glued in front
                fields["event"] = line.split(b"event:", 1)[1].decode().strip()
        if fields:
            out.append(fields)
    return out


def _events_of(resp: httpx.Response) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    for line in resp.iter_lines():
        if not line:
            if fields:
                yield fields
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value.strip()


def test_a_huge_metric_batch_does_not_hold_other_runs_writes_back(server: ServerProcess, http: httpx.Client) -> None:
    """The largest batch allowed is written in parts: another run's write is committed while the batch
    is still being written (before: it waited for the whole batch)."""
    for run in ("heavy", "normal"):
        http.post("/api/runs", json={"id": run}).raise_for_status()
    keys = [f"layer{j // 100}/p{j % 100}" for j in range(MAX_BATCH_KEYS)]
    body = json.dumps({"points": [{"step": s, "metrics": dict.fromkeys(keys, s * 0.5)} for s in range(60)]})
    done = threading.Event()

    def heavy() -> None:
        with server.client() as c:
            c.post("/api/runs/heavy/metrics", content=body, headers={"content-type": "application/json"})
        done.set()

    thread = threading.Thread(target=heavy)
    thread.start()
    try:
        while not http.get("/api/runs/heavy/metrics", params={"keys": keys[0]}).json()["metrics"]:
            assert not done.is_set(), "the batch finished before its first part was seen"
            time.sleep(0.01)
        ack = http.post("/api/runs/normal/metrics", json={"points": [{"step": 1, "metrics": {"loss": 0.5}}]})
        assert ack.status_code == 200
        assert not done.is_set(), "the other run's write waited for the whole batch"
        seen = http.get("/api/runs/heavy/metrics", params={"keys": keys[-1]}).json()["metrics"]
        assert not seen, "the last part was committed before the other write"
    finally:
        thread.join(600)
    latest = http.get("/api/runs/heavy/metrics", params={"keys": f"{keys[0]},{keys[-1]}"}).json()["metrics"]
    assert latest[keys[-1]]["count"] == 60 and latest[keys[0]]["count"] == 60


def test_a_big_batch_of_lines_does_not_hold_other_runs_writes_back(server: ServerProcess, http: httpx.Client) -> None:
    """``POST /logs/batch`` with ~20 MB of lines is stored in parts of about 1 MiB: another run's line is
    committed while the batch is still being written; every line arrives once, in order, and sending the
    same batch again (same stream and seqs) adds nothing."""
    for run in ("chatty", "calm"):
        http.post("/api/runs", json={"id": run}).raise_for_status()
    lines = [{"seq": i, "message": f"line {i:06d} " + "x" * 2000} for i in range(10_000)]  # about 20 MB
    batch = {"stream": "sdk-1", "lines": lines}
    done = threading.Event()
    answers: list[httpx.Response] = []

    def upload() -> None:
        try:
            with server.client() as c:
                answers.append(c.post("/api/runs/chatty/logs/batch", json=batch, timeout=600))
        finally:
            done.set()

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        while not http.get("/api/runs/chatty/logs/lines", params={"limit": 1}).json()["lines"]:
            assert not done.is_set(), "the batch finished before its first part was seen"
            time.sleep(0.01)
        assert http.post("/api/runs/calm/logs", json={"message": "still here"}).status_code == 201
        assert not done.is_set(), "the other run's line waited for the whole batch"
    finally:
        thread.join(600)
    assert answers and answers[0].status_code == 201 and answers[0].json() == {"added": 10_000}
    again = http.post("/api/runs/chatty/logs/batch", json=batch)
    assert again.status_code == 201 and again.json() == {"added": 0}
    stored: list[str] = []
    params: dict[str, int] = {"limit": 5000}
    while page := http.get("/api/runs/chatty/logs/lines", params=params).json()["lines"]:
        stored += [line["message"] for line in page]
        params["after"] = page[-1]["line_number"]
    assert stored == [line["message"] for line in lines]


def test_a_response_blocked_on_a_client_that_reads_nothing_is_closed(make_server: Callable[..., ServerProcess]) -> None:
    """``--write-stall-timeout``: a stream whose client stopped reading (socket buffers full) is closed after
    that long, which releases its share of the stream cap; a client that reads slowly but steadily for
    longer than the timeout is never cut."""
    server = make_server("--write-stall-timeout", "1", "--max-streams-per-client", "1")
    with server.client() as http:
        http.post("/api/runs", json={"id": "r1"}).raise_for_status()
        for _ in range(8):
            _append(http, "r1", b"0123456789abcdef" * 65_536)  # 8 MB of history
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    stalled.sendall(b"GET /api/runs/r1/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert stalled.recv(100).startswith(b"HTTP/1.1 200")  # then it reads nothing
    with open_stream(server, "/api/runs/r1/logs/stream") as status:
        assert status == 429  # the stalled stream still holds this client's only share
    deadline = time.monotonic() + 15
    while True:
        with open_stream(server, "/api/runs/r1/logs/stream") as status:
            if status == 200:
                break
        assert time.monotonic() < deadline, "the stalled stream was never closed"
        time.sleep(0.25)
    stalled.close()
    # a steady slow reader (about 160 kB/s for 3 s, longer than the timeout) gets every byte
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        slow.sendall(b"GET /api/runs/r1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        got = b""
        started = time.monotonic()
        while part := slow.recv(16 * 1024):
            got += part
            if time.monotonic() - started < 3:
                time.sleep(0.1)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) == 8 * 1024 * 1024


def test_a_slow_download_does_not_pin_the_write_ahead_log(server: ServerProcess, http: httpx.Client) -> None:
    if server.db_url:
        pytest.skip("the write-ahead log is SQLite's")
    http.post("/api/runs", json={"id": "dl"}).raise_for_status()
    http.post("/api/runs", json={"id": "busy"}).raise_for_status()
    for start in range(0, 400_000, 100_000):
        lines = [{"message": f"line {i} " + "x" * 40} for i in range(start, start + 100_000)]
        http.post("/api/runs/dl/logs/batch", json={"lines": lines}).raise_for_status()
    wal = Path(server.data_dir) / "trainboard.db-wal"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.sendall(b"GET /api/runs/dl/logs/download?format=txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")  # then it reads nothing for a while
    largest = 0
    for batch in range(60):  # about 60 MB of pages written while the download waits
        points = [{"step": batch * 20_000 + i, "metrics": {"a": i * 0.5, "b": i * 0.25}} for i in range(20_000)]
        http.post("/api/runs/busy/metrics", json={"points": points}).raise_for_status()
        largest = max(largest, wal.stat().st_size if wal.exists() else 0)
    sock.settimeout(60)
    got = 0
    while chunk := sock.recv(1 << 20):
        got += len(chunk)
        if chunk.endswith(b"0\r\n\r\n"):
            break
    sock.close()
    assert got > 16_000_000  # the whole download arrived
    assert largest < 32 * 1024 * 1024, f"WAL grew to {largest} bytes during a slow download"


def _peak_rss_while_appending(server: ServerProcess, *, idle_client: bool, total: int) -> int:
    """Peak resident memory of the server while ``total`` bytes of output are appended to one run."""
    import psutil

    assert server.proc is not None
    proc = psutil.Process(server.proc.pid)
    block = (b"step 000123 loss 0.123456 lr 0.000100 " * 2 + b"\n") * 13_000  # about 1 MB of lines
    with server.client() as http, ExitStack() as stack:
        http.post("/api/runs", json={"id": "big"}).raise_for_status()
        if idle_client:
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=30))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.sendall(b"GET /api/runs/big/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")  # attached; it never reads again
        peak = proc.memory_info().rss
        for _ in range(total // len(block)):
            _append(http, "big", block)
            peak = max(peak, proc.memory_info().rss)
    return peak


def test_a_never_reading_client_costs_a_bounded_amount_of_memory(make_server: Callable[..., ServerProcess]) -> None:
    """Stated bound: with a never-reading SSE client attached, the server's peak memory while 100 MB are
    appended exceeds the peak of the same append without it by less than 48 MB (its mailbox is 1 MiB, the
    rest is socket buffers and noise). Before, its queue held 512 messages of any size: all 100 MB; a queue
    holding even half of what passed it fails the bound. (150 MB measured the same peaks, 140/147 MB, at
    half again the suite's time.)"""
    alone = _peak_rss_while_appending(make_server(), idle_client=False, total=100_000_000)
    watched = _peak_rss_while_appending(make_server(), idle_client=True, total=100_000_000)
    assert watched - alone < 48 * 1024 * 1024, f"{(watched - alone) / 1e6:.0f} MB more with a client that never reads"


def test_a_big_log_upload_does_not_hold_other_runs_writes_back(server: ServerProcess, http: httpx.Client) -> None:
    """An upload of many chunks (what a chatty ``trainboard run`` sends after a pause) is appended in parts
    of about 1 MiB: another run's write is committed while the upload is still being written, and every
    byte arrives once, in order."""
    for run in ("loud", "quiet"):
        http.post("/api/runs", json={"id": run}).raise_for_status()
    piece = (b"epoch 1 step 123 loss 0.5 " * 3 + b"\n") * 800  # about 64 kB
    chunks = [
        {"seq": i, "source": "stdout", "data": base64.b64encode(piece).decode()} for i in range(300)
    ]  # about 19 MB (26 MB as base64 JSON)
    done = threading.Event()

    def upload() -> None:
        try:
            with server.client() as c:
                c.post("/api/runs/loud/logs/raw", json={"stream": "s", "chunks": chunks}).raise_for_status()
        finally:
            done.set()

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        while int(http.get("/api/runs/loud/logs", params={"limit": 0}).headers["X-Log-Size"]) == 0:
            assert not done.is_set(), "the upload finished before its first part was seen"
            time.sleep(0.01)
        assert http.post("/api/runs/quiet/logs", json={"message": "still here"}).status_code == 201
        assert not done.is_set(), "the other run's write waited for the whole upload"
    finally:
        thread.join(600)
    stored = b""
    while page := http.get("/api/runs/loud/logs", params={"offset": len(stored)}).content:
        stored += page
    assert stored == piece * 300
    again = http.post("/api/runs/loud/logs/raw", json={"stream": "s", "chunks": chunks}).json()
    assert again["appended"] == 0 and again["duplicates"] == 300  # a re-sent upload is still a no-op
