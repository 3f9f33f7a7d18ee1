"""Rich values in chromium (issue 29): a real SDK script logs histograms, images, text and a 10,000-row table while
the server is down; ``trainboard sync`` uploads its journal; the run page's RICH panel shows each type — a
histogram-over-steps heatmap, an image strip with a step slider, text (never read as HTML) with a diff between two
steps, a virtualised table with a diff. Screenshots go to ``test-output/e2e/rich-*.png``."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.support import ensure_bundle, shot
from tests.support.cli import cli
from tests.support.servers import ServerProcess
from trainboard.sdk.rich import png_bytes

pytestmark = pytest.mark.e2e

STEPS = 30
SCRIPT = r"""
import sys
import numpy as np, torch
import trainboard
mon = trainboard.TrainingMonitor("rich-e2e", dashboard_url=sys.argv[1], data_dir=sys.argv[2], system_metrics=False,
                                 capture_output=False, flush_timeout=0.5)
print(mon.run_id, flush=True)
rows = [[f"prompt {i}", f"answer {i}", i, i / 10] for i in range(10_000)]
for step in range(30):
    values = {"loss": 1 / (step + 1),
              "weights": trainboard.Histogram(torch.randn(50_000) * (1 + step / 10) + step / 5, copy=True)}
    if step < 20:
        img = np.zeros((32, 48, 3), dtype=np.uint8)
        img[:, :, 0] = 10 * step
        img[8:24, 8 + step : 24 + step, 1] = 255
        values["samples/digit"] = trainboard.Image(img, caption=f"sample {step}")
    values["generation"] = trainboard.Text(
        f"step {step}\nthe prompt\n<img src=x onerror=alert(1)> answer {step % 3}\nthe end")
    if step in (10, 20):
        if step == 20:
            rows[5] = ["prompt 5", "a better answer", 5, 0.9]
        values["evals"] = trainboard.Table(columns=["prompt", "generation", "id", "reward"], rows=rows)
    mon.log_metrics(values, step=step)
mon.finish()
"""


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    """The run, logged while its server was down and uploaded by ``trainboard sync``."""
    ensure_bundle()
    server = ServerProcess(data_dir=tmp_path / "server", db_url=None)
    client = tmp_path / "client"
    env = {**os.environ, "TRAINBOARD_BACKGROUND_UPLOAD": "0"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.url, str(client)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0 and "trainboard sync" in done.stderr, done.stderr
    run_id = done.stdout.strip()
    server.start()
    try:
        sent = cli("sync", "--data", str(client), "--url", server.url, timeout=300)
        assert sent.returncode == 0, sent.stderr
        yield server, run_id
    finally:
        server.stop()


TWO_PIXELS = base64.b64encode(png_bytes(np.full((1, 2, 3), 200, dtype=np.uint8))).decode()


def choose(page: Any, key: str) -> None:
    page.get_by_label("rich key").select_option(key)


FRAMES_JS = """async () => {
  const grid = document.querySelector('.rich-grid');
  const gaps = [];
  let last = performance.now();
  let done = false;
  const tick = (t) => { gaps.push(t - last); last = t; if (!done) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  for (let i = 0; i <= 60; i++) {
    grid.scrollTop = (grid.scrollHeight - grid.clientHeight) * i / 60;
    await new Promise((r) => requestAnimationFrame(r));
  }
  done = true;
  await new Promise((r) => setTimeout(r, 50));
  return {max: Math.max(...gaps.slice(1)), frames: gaps.length, rows: grid.querySelectorAll('[role=row]').length};
}"""


def test_each_rich_type_is_shown_after_an_offline_run_is_synced(page: Any, synced: tuple[ServerProcess, str]) -> None:
    server, run_id = synced
    index = {k["key"]: k for k in httpx.get(f"{server.url}/api/runs/{run_id}/rich", timeout=30).json()["keys"]}
    assert [len(index[k]["steps"]) for k in ("weights", "samples/digit", "generation", "evals")] == [30, 20, 30, 2]
    other = {  # a second run to compare with: an image at step 7 only, a text at step 28
        "values": [
            {"key": "samples/digit", "step": 7, "kind": "image", "image": {"format": "png", "data": TWO_PIXELS}},
            {"key": "generation", "step": 28, "kind": "text", "text": {"text": "step 28\nanother model's answer"}},
        ]
    }
    with httpx.Client(base_url=server.url, timeout=30, headers={"X-Trainboard": "1"}) as http:
        assert http.post("/api/runs", json={"id": "other-run", "name": "other-run"}).status_code in (200, 201)
        assert http.post("/api/runs/other-run/rich", json=other).status_code == 200
    page.goto(f"{server.url}/runs/{run_id}")
    panel = page.get_by_role("region", name="RICH · rich-e2e")
    panel.wait_for(timeout=30_000)

    # histogram over steps: a heatmap with something drawn, the steps it covers said
    choose(page, "weights")
    panel.locator(".rich-hist-note", has_text=f"{STEPS} steps").wait_for()
    lit = page.evaluate(
        """() => { const c = document.querySelector('.rich-heatmap');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 40) lit++; return [lit, c.width * c.height]; }"""
    )
    assert 0.05 * lit[1] < lit[0] < 0.95 * lit[1], lit  # a band that moves, not an empty or a full canvas
    shot(page, "rich-histogram")

    # image strip: every step a thumbnail loaded from the server, the slider and a click choose the large one
    choose(page, "samples/digit")
    thumbs = panel.locator(".rich-thumb img")
    thumbs.first.wait_for()
    assert thumbs.count() == 20
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rich-thumb img')].every((i) => i.complete && i.naturalWidth === 48)"
    )
    assert panel.locator("figcaption").inner_text().startswith("step 19")
    panel.locator(".rich-thumb", has_text="7").first.click()
    assert "step 7 · 48×32 png · sample 7" in panel.locator(".rich-figure figcaption").inner_text()
    big = panel.locator(".rich-figure img").get_attribute("src")
    assert big and big.startswith(f"/api/runs/{run_id}/rich-images/")
    # a run ticked for comparison: its image of the same key at the same step beside this one
    page.get_by_label("compare other-run").check()
    compared = panel.get_by_role("img", name="samples/digit of other-run at step 7")
    compared.wait_for()
    assert compared.evaluate("i => i.complete && i.naturalWidth") == 2
    panel.locator(".rich-thumb", has_text="8").first.click()
    panel.get_by_text("no samples/digit at step 8").wait_for()  # said, not left blank
    shot(page, "rich-images")

    # text: shown as text (the logged markup is visible, no element made of it), diff against another step
    choose(page, "generation")
    pre = panel.locator("pre")
    pre.get_by_text("<img src=x onerror=alert(1)> answer 2").wait_for()  # step 29: 29 % 3 == 2
    assert pre.locator("img").count() == 0
    panel.get_by_label("step", exact=True).fill("28")
    pre.get_by_text("step 28").wait_for()
    panel.get_by_text("DIFF", exact=True).click()
    diff = panel.locator("pre.rich-diff")
    diff.locator(".d-del", has_text="step 27").wait_for()
    assert diff.locator(".d-add", has_text="step 28").count() == 1
    assert diff.locator(".d-add", has_text="answer 1").count() == 1 and diff.locator(".d-del").count() == 2
    shot(page, "rich-text-diff")
    panel.get_by_label("diff against a compared run").select_option(label="other-run at this step")
    by_run = panel.get_by_label("diff of other-run and this run at step 28")
    by_run.locator(".d-del", has_text="another model's answer").wait_for()
    assert by_run.locator(".d-add", has_text="answer 1").count() == 1
    shot(page, "rich-text-diff-runs")

    # table: 10,000 rows in a virtualised grid (a few dozen DOM rows), scrolled to its end; diff between the steps
    choose(page, "evals")
    panel.get_by_text("10,000 rows").wait_for()
    grid = panel.locator(".rich-grid")
    grid.get_by_role("columnheader", name="reward float").wait_for()
    frames = page.evaluate(FRAMES_JS)
    print(
        f"\ntable of 10,000 rows x 4 columns scrolled top to bottom: {frames['frames']} frames, "
        f"longest {frames['max']:.1f} ms; {frames['rows']} DOM rows"
    )
    assert frames["rows"] < 200
    grid.get_by_text("prompt 9999").wait_for()
    panel.get_by_text("DIFF", exact=True).click()
    grid.evaluate("g => { g.scrollTop = 0; }")
    grid.locator(".d-add", has_text="a better answer").wait_for()
    assert grid.locator(".d-del", has_text="answer 5").count() == 1
    shot(page, "rich-table-diff")
