"""A live distributed run in chromium (issue 27): four ranks write their terminals through the HTTP API while the run
page is open; the RANKS panel shows a grid of four rank terminals, each following its own rank live, the rank filter
shows only that rank's lines, the merged view labels every line with its rank, and the first failing rank is named.
Screenshots go to ``test-output/e2e/ranks-*.png``."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from tests.e2e.support import Dashboard, shot

pytestmark = pytest.mark.e2e

RANK_TEXT_JS = """(rank) => {
  const t = window.trainboardRanks && window.trainboardRanks.get(rank);
  if (!t) return null;
  const b = t.buffer.active;
  const out = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
  return out.join('\\n');
}"""


def write(http: httpx.Client, run_id: str, rank: int, data: bytes) -> None:
    chunk = {"source": "stdout", "data": base64.b64encode(data).decode(), "rank": rank}
    http.post(f"/api/runs/{run_id}/logs/raw", json={"chunks": [chunk]}).raise_for_status()


def wait_for(page: Any, fn: str, arg: Any, timeout: float = 20_000) -> None:
    page.wait_for_function(fn, arg=arg, timeout=timeout)


def test_rank_grid_and_filter_on_a_live_four_rank_run(dashboard: Dashboard, page: Any) -> None:
    http = httpx.Client(base_url=dashboard.url, timeout=30)
    http.post("/api/runs", json={"id": "ddp4", "name": "ddp-4-ranks"}).raise_for_status()
    for rank in range(4):
        record = {"node": f"n{rank // 2}", "local_rank": rank % 2, "world_size": 4, "launcher": "torchrun"}
        http.put(f"/api/runs/ddp4/ranks/{rank}", json=record | {"gpus": [rank % 2]}).raise_for_status()
        write(http, "ddp4", rank, b"\x1b[32mrank%d ready\x1b[0m\n" % rank)
    write(http, "ddp4", 0, b"<img src=x onerror=alert(1)> rank0 prints markup\n")  # shown as text, never as HTML

    page.goto(f"{dashboard.url}/runs/ddp4")
    panel = page.locator("section.p-ranks")
    panel.wait_for(timeout=20_000)
    page.locator(".p-ranks .rank-term").nth(3).wait_for(timeout=20_000)
    assert page.locator(".p-ranks .rank-term").count() == 4
    # live: each terminal follows its own rank, and only its rank
    for step in range(5):
        for rank in range(4):
            write(http, "ddp4", rank, b"rank%d step %d loss %.2f\n" % (rank, step, 1 / (step + 1)))
        time.sleep(0.2)
    for rank in range(4):
        wait_for(
            page, f"(r) => {{ const s = ({RANK_TEXT_JS})(r); return s && s.includes('rank' + r + ' step 4'); }}", rank
        )
        text = page.evaluate(RANK_TEXT_JS, rank)
        assert f"rank{rank} ready" in text
        assert not any(f"rank{other} step" in text for other in range(4) if other != rank), text
    shot(page, "ranks-grid")

    # one rank: only its lines, each labelled
    page.get_by_label("rank view").select_option("2")
    page.locator(".p-ranks .rank-line").first.wait_for(timeout=20_000)
    wait_for(
        page,
        "() => [...document.querySelectorAll('.p-ranks .rank-line')].some(e => e.textContent.includes('rank2 step 4'))",
        None,
    )
    labels = page.locator(".p-ranks .rank-line .rank-label").all_inner_texts()
    texts = page.locator(".p-ranks .rank-line .rank-text").all_inner_texts()
    assert set(labels) == {"[rank 2]"} and len(texts) == 6, (labels, texts)
    assert all(t.startswith("rank2 ") for t in texts)
    assert page.locator(".p-ranks .rank-lines-count").inner_text().startswith("rank 2 only")
    shot(page, "ranks-filter")

    # merged: every rank's lines, labelled; the markup stays text
    page.get_by_label("rank view").select_option("merged")
    wait_for(page, "() => document.querySelectorAll('.p-ranks .rank-line').length >= 25", None)
    labels = set(page.locator(".p-ranks .rank-line .rank-label").all_inner_texts())
    assert labels == {"[rank 0]", "[rank 1]", "[rank 2]", "[rank 3]"}
    assert page.locator(".p-ranks .rank-lines img").count() == 0
    assert page.get_by_text("<img src=x onerror=alert(1)> rank0 prints markup").count() == 1

    # step times: rank 3 logs its steps 60 % slower than the others
    t0 = time.time() - 100
    for rank in range(4):
        pace = 1.6 if rank == 3 else 1.0
        points = [{"step": s, "timestamp": t0 + s * pace, "metrics": {"loss": 1 / (s + 1)}} for s in range(10)]
        http.post("/api/runs/ddp4/metrics", json={"rank": rank, "points": points}).raise_for_status()
    page.get_by_label("rank view").select_option("steps")
    slow = page.locator(".p-ranks .rank-bar.slow")
    slow.wait_for(timeout=20_000)
    assert slow.count() == 1 and "rank 3" in slow.inner_text() and "+60" in slow.inner_text()
    assert page.locator(".p-ranks .rank-bar").count() == 4
    assert "straggler: rank 3 (+60%)" in page.locator(".p-ranks .rank-banner").inner_text()
    shot(page, "ranks-steps")

    # rank 2 fails first: the banner names it and opens it
    http.put("/api/runs/ddp4/ranks/2", json={"exit_code": 1, "ended_at": time.time(), "error": "ValueError: boom"})
    http.put("/api/runs/ddp4/ranks/0", json={"exit_code": 1, "ended_at": time.time() + 1, "error": "gloo timeout"})
    banner = page.locator(".p-ranks .rank-banner")
    banner.get_by_text("failed first").wait_for(timeout=20_000)
    assert "rank 2 (node n1) failed first: ValueError: boom" in banner.inner_text()
    page.get_by_role("button", name="open rank 2").click()
    page.locator(".p-ranks .rank-term.big[data-rank='2']").wait_for(timeout=20_000)
    shot(page, "ranks-failure")
    http.close()


def test_rank_grid_pages_through_many_ranks(dashboard: Dashboard, page: Any) -> None:
    http = httpx.Client(base_url=dashboard.url, timeout=30)
    http.post("/api/runs", json={"id": "wide"}).raise_for_status()
    for rank in range(40):
        http.put(f"/api/runs/wide/ranks/{rank}", json={"world_size": 40}).raise_for_status()
        write(http, "wide", rank, b"rank%d here\n" % rank)
    page.goto(f"{dashboard.url}/runs/wide")
    page.locator(".p-ranks .rank-term").first.wait_for(timeout=20_000)
    page.locator(".p-ranks [aria-label='terminals per page'] button", has_text="16").click()
    page.wait_for_function("() => document.querySelectorAll('.p-ranks .rank-term').length === 16", timeout=20_000)
    assert "page 1 of 3" in page.locator(".p-ranks .rank-pager").inner_text()
    page.get_by_label("next ranks").click()
    page.get_by_label("next ranks").click()
    page.wait_for_function("() => document.querySelectorAll('.p-ranks .rank-term').length === 8", timeout=20_000)
    assert page.locator(".p-ranks .rank-term").first.get_attribute("data-rank") == "32"
    wait_for(page, f"(r) => {{ const s = ({RANK_TEXT_JS})(r); return s && s.includes('rank39 here'); }}", 39)
    # only the terminals on screen stream
    assert page.evaluate("() => window.trainboardRanks.size") == 8
    shot(page, "ranks-paged")
    http.close()
