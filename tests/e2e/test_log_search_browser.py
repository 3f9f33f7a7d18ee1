"""The log search page in chromium: a query across runs, matches marked, HTML in a line shown as text, paging
through the server's cursor, an error naming the position, and a hit opening its run at that line."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from tests.e2e.support import Dashboard, shot

T0 = 1_780_000_000.0


def _post_log(url: str, run: str, project: str, lines: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        c.post("/api/runs", json={"id": run, "name": f"{run}-name", "project": project}).raise_for_status()
        data = base64.b64encode(("\n".join(lines) + "\nend\n").encode()).decode()
        chunk = {"seq": 1, "source": "stdout", "time": T0, "data": data}
        c.post(f"/api/runs/{run}/logs/raw", json={"chunks": [chunk]}).raise_for_status()


def test_search_page_finds_marks_pages_and_opens_the_line(dashboard: Dashboard, page: Any) -> None:
    lines_a = [f"step {i} loss {1 / (i + 1):.4f}" for i in range(100)]
    for i in range(0, 100, 2):  # 50 matching lines in run a
        lines_a[i] = f"step {i}: NCCL timeout on rank {i % 8}, retrying"
    lines_a[41] = 'NCCL timeout <img src=x onerror="alert(1)"> <b>not bold</b>'
    lines_b = [f"epoch {i}" for i in range(30)]
    lines_b[7] = json.dumps({"event": "NCCL timeout in allreduce", "level": "error", "step": 7000, "logger": "dist"})
    _post_log(dashboard.url, "run-a", "vision", lines_a)
    _post_log(dashboard.url, "run-b", "nlp", lines_b)

    page.goto(dashboard.url + "/")
    page.get_by_test_id("topbar-logsearch").click()
    page.wait_for_url(re.compile(r"/logs/search$"))
    page.get_by_label("query").fill('"NCCL timeout"')
    page.get_by_role("button", name="SEARCH").click()
    page.wait_for_url(re.compile(r"/logs/search\?q=%22NCCL\+timeout%22$"))

    hits = page.get_by_test_id("logsearch-hit")
    hits.first.wait_for()
    assert hits.count() == 50  # 52 in all: a page of 50
    status = page.get_by_test_id("logsearch-status")
    assert "matches 1–50, newest first" in status.inner_text()
    assert "more on the next page" in status.inner_text()
    # run b's lines were stored last: newest first, its structured line leads, with its level and logger
    top = hits.first.inner_text()
    assert "run-b-name" in top and "NCCL timeout in allreduce" in top and "ERROR" in top and "dist" in top
    marks = hits.first.locator("mark").all_inner_texts()
    assert marks == ["NCCL timeout"]
    # markup in a line is text: no element made from it, no dialog (the page fixture fails on one)
    injected = page.locator("tr", has_text="not bold")
    assert injected.count() == 1 and injected.locator("img, b").count() == 0
    shot(page, "log-search-results")

    page.get_by_role("button", name="OLDER →").click()
    page.get_by_text("matches 51–52, newest first").wait_for()
    assert hits.count() == 2 and "the last page" in status.inner_text()
    assert page.get_by_role("button", name="OLDER →").is_disabled()
    page.get_by_role("button", name="← NEWER").click()
    page.get_by_text("matches 1–50, newest first").wait_for()

    # a project narrows it; a bad query says where it is wrong
    page.get_by_label("project").fill("nlp")
    page.get_by_role("button", name="SEARCH").click()
    page.get_by_text("matches 1–1, newest first").wait_for()
    page.get_by_label("project").fill("")
    page.get_by_label("query").fill("NCCL levle>=3")
    page.get_by_role("button", name="SEARCH").click()
    error = page.get_by_test_id("logsearch-error")
    error.wait_for()
    assert "at 5: unknown key 'levle'" in error.inner_text()
    shot(page, "log-search-error")

    # a hit opens its run at that line
    page.get_by_label("query").fill("allreduce")
    page.get_by_role("button", name="SEARCH").click()
    page.get_by_text("matches 1–1, newest first").wait_for()
    hits.first.locator("td").nth(4).click()
    page.wait_for_url(re.compile(r"/runs/run-b\?line=7$"))
