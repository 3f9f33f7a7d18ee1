"""Server memory with one Server-Sent-Events client that never reads while 500 MB of terminal output is
appended, against the same append with no client attached.

Each subscriber's mailbox is bounded in bytes (1 MiB by default): the stream falls behind, the server
stops queueing for it and ends it with ``event: lagged`` (the client would resume from that offset), so
the server holds at most about the mailbox plus the socket buffers for it. No assertions: it prints the
peak resident memory of the server process in both cases.
"""

from __future__ import annotations

import base64
import socket
import threading
import time

import httpx
import psutil

from _server import running_server

TOTAL = 500 * 1000 * 1000
BLOCK = (b"step 000123 loss 0.123456 lr 0.000100 " * 2 + b"\n") * 13_000  # about 1 MB of printed lines


def server_process(url: str) -> psutil.Process:
    port = url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        cmd = child.cmdline()
        if "serve" in cmd and port in cmd:
            return child
    raise RuntimeError("server process not found")


def append_all(url: str, proc: psutil.Process, attach: bool) -> tuple[float, float, str]:
    """(MB/s, peak RSS in MB, how the idle client's stream ended)."""
    client = httpx.Client(base_url=url, timeout=300, headers={"X-Trainboard": "1"})
    client.post("/api/runs", json={"id": "r"}).raise_for_status()
    sock = None
    if attach:
        host, port = url.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET /api/runs/r/logs/stream HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        time.sleep(0.5)
    peak = proc.memory_info().rss
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    payload = {"chunks": [{"source": "stdout", "data": base64.b64encode(BLOCK).decode()}]}
    t0 = time.perf_counter()
    sent = 0
    while sent < TOTAL:
        client.post("/api/runs/r/logs/raw", json=payload).raise_for_status()
        sent += len(BLOCK)
    rate = sent / (time.perf_counter() - t0) / 1e6
    stop.set()
    sampler.join()
    ending = ""
    if sock is not None:  # what the idle client finds when it finally reads
        sock.settimeout(5)
        tail = b""
        try:
            while chunk := sock.recv(1 << 20):
                tail = (tail + chunk)[-65536:]
                if b"event: lagged" in tail:
                    ending = "event: lagged"
                    break
            else:
                ending = ending or "closed by the server"
        except TimeoutError:
            ending = "still open, nothing more to read"
        except ConnectionResetError:
            ending = "reset by the server (write stall)"
        sock.close()
    client.close()
    return rate, peak / 1e6, ending


def main() -> None:
    results = {}
    for attach in (False, True):
        with running_server() as (url, _data):
            proc = server_process(url)
            results[attach] = append_all(url, proc, attach)
    for attach, (rate, peak, ending) in results.items():
        who = "one never-reading SSE client" if attach else "no stream attached         "
        note = f"; its stream: {ending}" if attach else ""
        print(f"{TOTAL / 1e6:.0f} MB appended, {who}: peak server RSS {peak:.0f} MB ({rate:.1f} MB/s){note}")
    print(f"difference: {results[True][1] - results[False][1]:+.0f} MB")


if __name__ == "__main__":
    main()
