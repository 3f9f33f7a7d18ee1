"""The LINES view as an engineer uses it (issue 28), in chromium against a real server: a bookmark's permalink
opens the run at line 40,000 of 50,000 (visible, highlighted, the time line at its moment) and the bookmark is
listed on the run page; a Python traceback shows its frames with the library ones folded and the exception line
emphasised; markup in a line is text; structured (JSON) lines are rows with their fields."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

LINES = 50_000
PER_CHUNK = 1_000
T0 = time.time() - 3600
EVIL = '<img src=x onerror="alert(document.domain)">'
TRACEBACK = [
    "epoch 3 starting",
    "Traceback (most recent call last):",
    '  File "/home/me/train.py", line 40, in <module>',
    "    main()",
    '  File "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1511, in _call_impl',
    "    return forward_call(*args, **kwargs)",
    '  File "/usr/lib/python3.11/functools.py", line 10, in wrapper',
    "    return f()",
    '  File "/home/me/model.py", line 7, in forward',
    "    raise ValueError(f'bad shape {x.shape}')",
    "ValueError: bad shape (3, 4)",
    f"note: {EVIL}",
    "{'loss': 0.25, 'learning_rate': 0.001, 'epoch': 3.0}",
]


def _raw(c: httpx.Client, run_id: str, texts: list[str], start: float, seq0: int = 0) -> None:
    chunks = []
    for k in range(0, len(texts), PER_CHUNK):
        data = "".join(t + "\n" for t in texts[k : k + PER_CHUNK]).encode()
        chunks.append(
            {
                "seq": seq0 + k // PER_CHUNK + 1,
                "source": "stdout",
                "time": start + k / PER_CHUNK,
                "data": base64.b64encode(data).decode(),
            }
        )
    for i in range(0, len(chunks), 10):
        c.post(f"/api/runs/{run_id}/logs/raw", json={"chunks": chunks[i : i + 10]}).raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    ensure_bundle()
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("lines") / "data", db_url=None).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60.0) as c:
            c.post("/api/runs", json={"id": "long", "name": "long run", "project": "e2e-lines"}).raise_for_status()
            _raw(c, "long", [f"step {i} loss {1 / (i + 1):.6f}" for i in range(LINES)], T0)
            points = [
                {"seq": s + 1, "step": s, "timestamp": T0 + s, "metrics": {"train/loss": 1 / (s + 1)}}
                for s in range(LINES // PER_CHUNK)
            ]
            c.post("/api/runs/long/metrics", json={"points": points}).raise_for_status()
            c.post("/api/runs", json={"id": "crash", "name": "crash", "project": "e2e-lines"}).raise_for_status()
            _raw(c, "crash", TRACEBACK, T0)
        yield proc
    finally:
        proc.stop()


def _line_number(server: ServerProcess, run_id: str, index: int) -> int:
    got = httpx.get(f"{server.url}/api/runs/{run_id}/logs/lines", params={"offset": index, "limit": 1}).json()
    return int(got["lines"][0]["line_number"])


def test_a_bookmark_url_opens_the_run_at_its_line_far_down(server: ServerProcess, page: Any) -> None:
    target = _line_number(server, "long", 40_000)
    mark = httpx.post(
        f"{server.url}/api/runs/long/bookmarks",
        json={"line_number": target, "note": "loss <b>plateau</b> starts here"},
        headers={"X-Trainboard": "1"},
    )
    assert mark.status_code == 201, mark.text
    url = mark.json()["url"]
    assert url == f"/runs/long?line={target}"

    page.goto(server.url + url)
    row = page.locator("[data-permalink=true]")
    row.wait_for(timeout=30_000)
    assert row.get_attribute("data-line") == str(target)
    assert "step 40000 loss" in row.inner_text()
    box, view = row.bounding_box(), page.get_by_test_id("lines").bounding_box()
    assert box and view and view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]
    assert page.get_by_role("tab", name="LINES").get_attribute("class") == "on"
    assert f"line {target}" in page.get_by_test_id("lines-permalink").inner_text()
    # the time line is at the line's moment: the lines view says which step, the terminal replays it
    assert "step 40 at" in page.get_by_test_id("lines-moment").inner_text()
    listed = page.get_by_test_id("bookmarks")
    assert "loss <b>plateau</b> starts here" in listed.inner_text()  # a note is text
    assert listed.locator("b").count() == 0
    shot(page, "lines-permalink-40000")

    page.get_by_role("tab", name="TERMINAL").click()
    page.get_by_test_id("moment-bar").wait_for(timeout=15_000)
    assert "step 40" in page.get_by_test_id("moment-bar").inner_text()

    # the bookmark list opens the same place; ✕ leaves it
    page.goto(server.url + "/runs/long")
    page.get_by_test_id("bookmarks").get_by_role("link", name=f"line {target:,}").click()
    page.locator(f"[data-permalink=true][data-line='{target}']").wait_for(timeout=30_000)
    assert page.url.endswith(url)


def test_a_traceback_folds_library_frames_and_markup_stays_text(server: ServerProcess, page: Any) -> None:
    first = _line_number(server, "crash", 0)
    page.goto(f"{server.url}/runs/crash?line={first + 10}")  # the exception line
    page.locator("[data-permalink=true]").wait_for(timeout=30_000)
    lines = page.get_by_test_id("lines")
    exc = lines.locator("[data-trace=exception]")
    assert exc.inner_text() == "ValueError: bad shape (3, 4)"
    assert exc.evaluate("e => getComputedStyle(e).fontWeight") in ("700", "bold")
    fold = lines.get_by_test_id("library-frames")
    assert fold.inner_text() == "▸ 2 library frames"
    assert "site-packages" not in lines.inner_text()
    user = lines.locator("[data-trace=frame][data-library=false]")
    assert user.count() == 2 and "/home/me/model.py" in user.nth(1).inner_text()
    # markup in a line is text; a printed dict is highlighted (highlight.js, loaded on first use)
    assert EVIL in lines.inner_text()
    assert lines.locator("img").count() == 0
    lines.locator("[data-code=python] .hljs-number").first.wait_for(timeout=10_000)
    shot(page, "lines-traceback-folded")
    fold.click()
    assert "site-packages/torch" in lines.inner_text()
    assert lines.locator("[data-trace=frame][data-library=true]").count() == 2
    shot(page, "lines-traceback-open")


def test_structured_lines_are_rows_with_fields(server: ServerProcess, page: Any, tmp_path: Path) -> None:
    """Needs the server side of structured lines (lines carry `fields`, `level`, `level_no`)."""
    structlog = pytest.importorskip("structlog")
    out: list[str] = []
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=_Sink(out)),
    )
    log = structlog.get_logger("train.data")
    log.info("epoch done", step=5, acc=0.91)
    log.warning("slow batch", seconds=3.2, rank=0)
    logging.addLevelName(25, "PROGRESS")
    out.append(json.dumps({"levelname": "PROGRESS", "levelno": 25, "name": "trainer", "message": "50% done"}))
    with httpx.Client(base_url=server.url, timeout=30.0) as c:
        c.post("/api/runs", json={"id": "json", "name": "json", "project": "e2e-lines"}).raise_for_status()
        _raw(c, "json", [*out, "plain tail line"], T0)
    page.goto(f"{server.url}/runs/json?line={_line_number(server, 'json', 0)}")
    rows = page.locator("[data-structured=true]")
    rows.first.wait_for(timeout=30_000)
    assert rows.count() == 3
    first = rows.first.inner_text()
    assert "epoch done" in first and "step=5" in first and "acc=0.91" in first and "{" not in first
    rows.first.get_by_role("button", name="▸ fields").click()
    table = page.get_by_test_id("fields-table").first
    assert "acc" in table.inner_text() and "0.91" in table.inner_text()
    options = page.get_by_label("level").locator("option").all_inner_texts()
    assert [o.rstrip("+") for o in options[1:]] == ["INFO", "PROGRESS", "WARNING"]
    shot(page, "lines-structured")


class _Sink:
    """A file for structlog's PrintLogger that keeps each printed line."""

    def __init__(self, out: list[str]) -> None:
        self.out = out

    def write(self, s: str) -> None:
        if s.strip():
            self.out.append(s.rstrip("\n"))

    def flush(self) -> None:
        pass


def test_time_and_offset_permalinks_and_bookmarking_from_the_view(server: ServerProcess, page: Any) -> None:
    lines = [f"step {i} loss {1 / (i + 1):.6f}\n" for i in range(LINES)]
    # ?t=: the last line printed by then (chunk 30 was written at T0 + 30)
    page.goto(f"{server.url}/runs/long?t={T0 + 30.5:.3f}")
    row = page.locator("[data-permalink=true][data-line]")
    row.wait_for(timeout=30_000)
    assert row.get_attribute("data-line") == str(_line_number(server, "long", 30_999))
    assert "step 30 at" in page.get_by_test_id("lines-moment").inner_text()
    # ?offset=: through its chunk's time, the first line of that chunk — and the view says it is not exact
    offset = len("".join(lines[:20_000]).encode()) + 5
    page.goto(f"{server.url}/runs/long?offset={offset}")
    page.locator(f"[data-permalink=true][data-line='{_line_number(server, 'long', 20_000)}']").wait_for(timeout=30_000)
    assert "do not record byte offsets" in page.get_by_test_id("lines-permalink").inner_text()

    # bookmark a line from the view with a note; the panel lists it; remove it there
    target = page.locator("[data-permalink=true]")
    target.hover()
    target.get_by_role("button", name="bookmark line").click()
    page.get_by_label("bookmark note").fill("offset <script>x</script> lands here")
    page.get_by_role("button", name="SAVE").click()
    listed = page.get_by_test_id("bookmarks")
    listed.get_by_text("offset <script>x</script> lands here").wait_for(timeout=15_000)
    shot(page, "lines-bookmarked-from-view")
    marks = httpx.get(f"{server.url}/api/runs/long/bookmarks").json()["bookmarks"]
    made = next(b for b in marks if b["note"].startswith("offset"))
    assert made["line_number"] == int(target.get_attribute("data-line") or -1)
    entry = listed.locator(f"[data-bookmark='{made['id']}']")
    entry.get_by_role("button", name="remove bookmark").click()
    entry.get_by_role("button", name="remove", exact=True).click()
    entry.wait_for(state="detached", timeout=15_000)

    # "link" copies the line's permalink (or shows it where the clipboard is not allowed)
    target.hover()
    target.get_by_role("button", name="copy link").click()
    said_note = page.get_by_test_id("lines-note").filter(has_text=re.compile(r"^link"))
    said_note.wait_for(timeout=10_000)
    said = said_note.inner_text()
    assert said.startswith("link to line") or said == f"link: {server.url}/runs/long?line={made['line_number']}"
