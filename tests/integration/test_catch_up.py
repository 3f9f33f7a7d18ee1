"""A live client that falls behind is caught up from the database (stream/catch_up.py), through a real
``trainboard serve``: on the line WebSocket in place (``behind``, then the missed lines), on the SSE byte
stream by resuming from the offset its ``lagged`` event names. Either way, while the run goes on being
written, what the client received is exactly what is stored: no gap, nothing twice."""

from __future__ import annotations

import base64
import json
import socket
import threading

import httpx
from tests.support.servers import ServerProcess
from websockets.sync.client import connect

#: Small receive buffers make a client that stops reading fall behind after a few messages.
RCVBUF = 64 * 1024


def _slow_socket(server: ServerProcess) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.settimeout(120)
    sock.connect(("127.0.0.1", server.port))
    return sock


def _post_lines(http: httpx.Client, run: str, start: int, count: int, width: int) -> None:
    batch = [{"message": f"line {i:06d} " + "x" * width} for i in range(start, start + count)]
    assert http.post(f"/api/runs/{run}/logs/batch", json={"lines": batch}).status_code == 201


def _stored_lines(http: httpx.Client, run: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    after = -1
    while True:
        page = http.get(f"/api/runs/{run}/logs/lines", params={"limit": 10000, "after": after}).json()["lines"]
        out += [(ln["line_number"], ln["message"]) for ln in page]
        if len(page) < 10000:
            return out
        after = page[-1]["line_number"]


def test_a_line_socket_that_falls_behind_gets_every_stored_line_once(server: ServerProcess, http: httpx.Client) -> None:
    http.post("/api/runs", json={"id": "lag"}).raise_for_status()
    _post_lines(http, "lag", 0, 100, 100)
    url = server.url.replace("http://", "ws://") + "/api/runs/lag/logs/stream?after=-1"
    # no compression: the bytes on the wire are the bytes the server holds
    with connect(url, sock=_slow_socket(server), max_size=None, open_timeout=60, compression=None) as ws:
        ws.send(json.dumps({"type": "ping"}))
        # 12 MB of lines in 120 messages while the client reads nothing: its mailbox (1 MiB) overflows
        for start in range(100, 6100, 50):
            _post_lines(http, "lag", start, 50, 2000)

        def more() -> None:  # the run goes on while the client catches up
            for start in range(6100, 7100, 50):
                _post_lines(http, "lag", start, 50, 100)

        writer = threading.Thread(target=more)
        writer.start()
        received: list[tuple[int, str]] = []
        kinds: set[str] = set()
        while len(received) < 7100:
            msg = json.loads(ws.recv(timeout=120))
            kinds.add(msg["type"])
            if msg["type"] == "lines":
                received += [(ln["line_number"], ln["message"]) for ln in msg["lines"]]
        writer.join(120)
    assert "behind" in kinds  # it did fall behind: this is the catch-up path
    numbers = [n for n, _m in received]
    assert numbers == sorted(set(numbers)), "a line came twice or out of order"
    assert received == _stored_lines(http, "lag")


def _sse_events(buf: bytearray) -> list[dict[str, str]]:
    """Complete events at the start of ``buf`` (removed from it). The response is chunked: chunk-size lines
    are skipped (an event field always has a colon)."""
    out = []
    while b"\n\n" in buf:
        raw, _, rest = bytes(buf).partition(b"\n\n")
        buf[:] = rest
        fields: dict[str, str] = {}
        for line in raw.split(b"\n"):
            name, sep, value = line.strip(b"\r").partition(b":")
            if sep and name in (b"event", b"data", b"id"):
                fields[name.decode()] = value.decode().strip()
            elif b"event:" in line:
                fields["event"] = line.split(b"event:", 1)[1].decode().strip()
        if fields:
            out.append(fields)
    return out


def _append(http: httpx.Client, run: str, data: bytes) -> None:
    chunks = [{"source": "stdout", "data": base64.b64encode(data).decode()}]
    http.post(f"/api/runs/{run}/logs/raw", json={"chunks": chunks}).raise_for_status()


def test_an_sse_client_that_falls_behind_resumes_from_its_offset_with_every_stored_byte_once(
    server: ServerProcess, http: httpx.Client
) -> None:
    http.post("/api/runs", json={"id": "slow"}).raise_for_status()
    _append(http, "slow", b"before the client came\n")
    sock = _slow_socket(server)
    sock.sendall(b"GET /api/runs/slow/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    block = b"".join(b"%06d " % i + b"y" * 93 + b"\n" for i in range(4000))  # 400 kB
    for _ in range(40):  # 16 MB while the client reads nothing
        _append(http, "slow", block)
    received = bytearray()
    buf = bytearray(head.split(b"\r\n\r\n", 1)[1])
    resume_from = None
    while resume_from is None:
        chunk = sock.recv(1 << 20)
        assert chunk, "the stream ended without saying why"
        buf += chunk
        for event in _sse_events(buf):
            if event.get("event") == "log":
                received += base64.b64decode(event["data"])
                assert int(event["id"]) == len(received)
            elif event.get("event") == "lagged":
                resume_from = json.loads(event["data"])["resume_from"]
    sock.close()
    assert resume_from == len(received)

    def more() -> None:  # the run goes on while the client catches up, then ends
        for i in range(20):
            _append(http, "slow", b"after %d\n" % i * 1000)
        http.put("/api/runs/slow", json={"status": "completed", "exit_code": 0}).raise_for_status()

    writer = threading.Thread(target=more)
    writer.start()
    with httpx.stream(
        "GET", f"{server.url}/api/runs/slow/logs/stream", headers={"Last-Event-ID": str(resume_from)}, timeout=120
    ) as resp:
        buf = bytearray()
        done = False
        for part in resp.iter_bytes():
            buf += part
            for event in _sse_events(buf):
                if event.get("event") == "log":
                    received += base64.b64decode(event["data"])
                    assert int(event["id"]) == len(received)  # each byte once, in order
                elif event.get("event") == "done":
                    done = True
            if done:
                break
    writer.join(120)
    assert done
    assert bytes(received) == http.get("/api/runs/slow/logs").content
