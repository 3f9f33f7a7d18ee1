"""Points per second from the SDK until durable in the server's SQLite (server in its own process).

Logs 1,000,000 points (100,000 steps x 10 keys) as fast as the loop can, then ``finish()`` waits for
the server's acknowledgement (sent after commit, synchronous=FULL). Target: >= 500,000 points/s.

Four servers in one run, so the ratios are measured under the same machine load: ``before`` stores as
the code did before issue 16 (raw segments, no pyramid, no compaction), ``no compaction`` compresses and
keeps the pyramid but leaves small sealed segments as written, ``after`` is the server as shipped,
``no-tail-rewrite`` writes every small append as a segment of its own instead of extending the open tail.

    .venv/bin/python bench/ingest.py [--variants before,no-compaction,after,no-tail-rewrite] [--reps 3]

``--against REV`` compares instead the working tree's server with git revision ``REV``'s (its ``src``
exported, on ``PYTHONPATH``), both as shipped, side by side in one run, repetitions alternating between
them: metric points per second (the SDK, ``--steps`` steps x 10 keys) and raw terminal bytes per second
(``POST /logs/raw`` of 64 KB chunks of 100-column lines, what ``trainboard run`` sends, ``--raw-mb`` MB),
plus the working tree without any write-path subscriber (the alert engine off: what the write path itself
costs) and with one more, no-op, subscriber registered (``TRAINBOARD_SUBSCRIBERS``):

    .venv/bin/python bench/ingest.py --against e987259^ [--reps 5] [--steps 20000] [--raw-mb 16]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from _server import CLI, env_with_code, revision_src, serve_process, served
from trainboard import TrainingMonitor

STEPS = 100_000
KEYS = [f"k{i}" for i in range(10)]
VARIANTS = ("before", "no-compaction", "after", "no-tail-rewrite")


@contextlib.contextmanager
def server(variant: str) -> Iterator[tuple[str, Path]]:
    """(url, data dir) of ``trainboard serve`` in a process of its own, storing as ``variant`` says."""
    with tempfile.TemporaryDirectory(prefix="tb-ingest-") as tmp:
        data = Path(tmp)
        with serve_process((sys.executable, __file__, "--serve", variant), data, wait=60) as url:
            yield url, data


def serve(variant: str, argv: list[str]) -> None:
    """Run the CLI (``argv``) with the store patched as ``variant`` says (in the server's process)."""
    import metric_storage
    from trainboard.cli import main

    ctx: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
        "before": metric_storage.before_issue_16,
        "no-compaction": metric_storage.no_compaction,
        "after": contextlib.nullcontext,
        "no-tail-rewrite": metric_storage.no_tail_rewrite,
    }
    if variant == "no-subscribers":  # the working tree with no write-path subscriber (the alert engine off)
        from trainboard.server.alerts import service as alert_service

        alert_service.start = lambda state: []
        variant = "after"
    sys.argv = ["trainboard", *argv]
    with ctx[variant]():
        main()


def measure(variant: str, reps: int) -> list[float]:
    rates = []
    with server(variant) as (url, data):
        for rep in range(reps):
            mon = TrainingMonitor(
                f"ingest-{rep}",
                dashboard_url=url,
                data_dir=data / "client",
                system_metrics=False,
                capture_output=False,
                flush_timeout=600,
            )
            t0 = time.perf_counter()
            for step in range(STEPS):
                mon.log_metrics({k: step + j * 0.5 for j, k in enumerate(KEYS)}, step=step)
            loop_s = time.perf_counter() - t0
            assert mon.finish()
            total = time.perf_counter() - t0
            count = httpx.get(
                f"{url}/api/runs/{mon.run_id}/metrics", params={"keys": "k9", "max_points": 10}, timeout=60
            ).json()["metrics"]["k9"]["count"]
            assert count == STEPS, count
            rates.append(STEPS * len(KEYS) / total)
            print(
                f"  {variant:13} run {rep}: loop {loop_s:.2f} s, durable after {total:.2f} s "
                f"-> {rates[-1]:,.0f} points/s"
            )
    return rates


def noop_subscriber() -> object:
    """A write-path subscriber that does nothing (what registering one costs ingest)."""
    from trainboard.server.ingest.subscribers import subscriber

    return subscriber("bench-noop", lambda change: None)


@contextlib.contextmanager
def code_server(src: Path | None, *, subscribed: bool = False, bare: bool = False) -> Iterator[tuple[str, Path]]:
    """(url, data dir) of ``trainboard serve`` running ``src``'s code (``None``: this checkout's; ``bare``:
    without any write-path subscriber, the alert engine's included)."""
    env = env_with_code(src) if src is not None else dict(os.environ)
    program = (sys.executable, __file__, "--serve", "no-subscribers") if bare else CLI
    if subscribed:
        here = str(Path(__file__).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), here) if p)
        env["TRAINBOARD_SUBSCRIBERS"] = "ingest:noop_subscriber"
    with (
        tempfile.TemporaryDirectory(prefix="tb-ingest-") as tmp,
        served(program, Path(tmp), wait=180, env=env) as (url, _p),
    ):
        yield url, Path(tmp)


def metric_rate(url: str, data: Path, name: str, steps: int) -> float:
    """Points per second from the SDK's first ``log_metrics`` until the server acknowledged all of them."""
    mon = TrainingMonitor(
        name, dashboard_url=url, data_dir=data / "client", system_metrics=False, capture_output=False, flush_timeout=600
    )
    t0 = time.perf_counter()
    for step in range(steps):
        mon.log_metrics({k: step + j * 0.5 for j, k in enumerate(KEYS)}, step=step)
    assert mon.finish()
    return steps * len(KEYS) / (time.perf_counter() - t0)


def raw_rate(url: str, name: str, megabytes: int) -> float:
    """Raw terminal bytes per second through ``POST /logs/raw`` (64 KB chunks, one request each, in order)."""
    line = ("x" * 90 + " step {:06d}\n").format
    chunk_lines = 64 * 1024 // len(line(0))
    headers = {"X-Trainboard": "1"}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
        run_id = client.post("/api/runs", json={"name": name}).json()["id"]
        total = 0
        t0 = time.perf_counter()
        seq = 0
        while total < megabytes * 1024 * 1024:
            data = "".join(line(seq * chunk_lines + i) for i in range(chunk_lines)).encode()
            chunk = {"seq": seq, "source": "stdout", "data": base64.b64encode(data).decode()}
            response = client.post(f"/api/runs/{run_id}/logs/raw", json={"stream": "bench", "chunks": [chunk]})
            response.raise_for_status()
            total += len(data)
            seq += 1
        return total / (time.perf_counter() - t0)


def against(rev: str, reps: int, steps: int, raw_mb: int) -> None:
    """This checkout's server vs revision ``rev``'s, side by side (see the module docstring)."""
    rates: dict[str, dict[str, list[float]]] = {}
    with (
        revision_src(rev) as old_src,
        code_server(old_src) as old,
        code_server(None, bare=True) as bare,
        code_server(None) as new,
        code_server(None, subscribed=True) as sub,
    ):
        servers = {rev: old, "no subscriber": bare, "working tree": new, "with a subscriber": sub}
        for rep in range(reps):
            for label, (url, data) in servers.items():
                got = rates.setdefault(label, {"metric": [], "raw": []})
                got["metric"].append(metric_rate(url, data, f"m-{rep}", steps))
                got["raw"].append(raw_rate(url, f"r-{rep}", raw_mb))
                print(f"  {label:17} rep {rep}: {got['metric'][-1]:,.0f} points/s, {got['raw'][-1] / 1e6:.1f} MB/s raw")
    base = {kind: statistics.median(rates[rev][kind]) for kind in ("metric", "raw")}
    for label, got in rates.items():
        metric, raw = statistics.median(got["metric"]), statistics.median(got["raw"])
        print(
            f"ingest {label:17}: metrics {metric:,.0f} points/s ({metric / base['metric']:.3f}x {rev}), "
            f"raw log {raw / 1e6:.2f} MB/s ({raw / base['raw']:.3f}x {rev}) (medians of {reps})"
        )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--against", metavar="REV", help="compare with git revision REV's server (see above)")
    ap.add_argument("--steps", type=int, default=20_000, help="with --against: metric steps per repetition")
    ap.add_argument("--raw-mb", type=int, default=16, help="with --against: raw log megabytes per repetition")
    args = ap.parse_args()
    if args.against:
        against(args.against, args.reps, args.steps, args.raw_mb)
        return
    medians = {}
    for variant in args.variants.split(","):
        medians[variant] = statistics.median(measure(variant, args.reps))
    for variant, rate in medians.items():
        ratio = f" ({rate / medians['before']:.2f}x before)" if "before" in medians else ""
        print(f"ingest {variant:13}: {rate:,.0f} points/s durable (median of {args.reps}){ratio}; target >= 500,000")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
