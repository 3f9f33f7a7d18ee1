"""Rich values (issue 29): what logging them costs the training loop, and how fast an image strip renders.

Part 1 (always): a 64-bin histogram of a 10M-element float32 CPU tensor logged per step with
``monitor.log_metrics({"weights": trainboard.Histogram(t)})`` against a real ``trainboard serve``. Prints the
median cost in the loop per call, next to what the same histogram costs computed in the loop
(``torch.histc`` after ``torch.aminmax``: what TensorBoard's ``add_histogram`` and wandb do synchronously), with
``copy=True`` (a snapshot in the loop, the bins off it), and for a numpy array (binned in the loop: numpy has no
version counter), plus how long the rich-value thread takes per histogram off the loop. Goal: <= 5 ms in the loop.

Part 2 (``--browser``): 500 images of one key stored through the API, then the run page opened in Debian's chromium
with that key chosen: time from choosing the key to the strip's 500 thumbnails in the page and those in view
loaded (the rest load lazily as the strip scrolls). Goal < 1 s.

    python bench/rich.py [--steps 20] [--browser]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import CLI, served


def loop_cost(url: str, data: Path, steps: int) -> None:
    import torch

    import trainboard

    t = torch.randn(10_000_000)
    a = t.numpy().copy()
    mon = trainboard.TrainingMonitor(
        "bench-rich", dashboard_url=url, data_dir=data, system_metrics=False, capture_output=False, flush_timeout=120
    )

    def timed(make: object, n: int) -> list[float]:
        out = []
        for step in range(n):
            t.mul_(1.0001)  # a training step changed the weights since the last call (in place, as an optimizer)
            mon.flush(300)  # the previous value is off the loop: measure one call, not a queue
            t0 = time.perf_counter()
            make(step)  # type: ignore[operator]
            out.append((time.perf_counter() - t0) * 1000)
        return out

    step0 = [0]

    def log(value: object) -> None:
        step0[0] += 1
        mon.log_metrics({"weights": value}, step=step0[0])

    def in_loop(step: int) -> None:
        lo, hi = torch.aminmax(t)
        torch.histc(t, bins=64, min=float(lo), max=float(hi))

    rows = {
        "trainboard.Histogram(tensor)  (bins read off the loop)": timed(lambda s: log(trainboard.Histogram(t)), steps),
        "trainboard.Histogram(tensor, copy=True)": timed(lambda s: log(trainboard.Histogram(t, copy=True)), steps),
        "trainboard.Histogram(numpy array)  (binned in the loop)": timed(lambda s: log(trainboard.Histogram(a)), steps),
        "torch.aminmax + torch.histc in the loop (reference)": timed(in_loop, steps),
    }
    t0 = time.perf_counter()
    for _ in range(steps):
        step0[0] += 1
        mon.log_metrics({"weights": trainboard.Histogram(t)}, step=step0[0])
    mon.flush(600)
    off_loop = (time.perf_counter() - t0) * 1000 / steps
    mon.finish()
    print(
        f"64-bin histogram of a 10M-element float32 CPU tensor, median of {steps} steps (torch threads: "
        f"{torch.get_num_threads()}, load {os.getloadavg()[0]:.1f})"
    )
    for name, times in rows.items():
        print(f"  {name:58s} {statistics.median(times):8.2f} ms in the loop (max {max(times):.1f})")
    print(f"  rich-value thread, computed and uploaded per histogram:      {off_loop:8.2f} ms (off the loop)")


#: The strip is rendered: all its thumbnails in the page, the ones in view loaded (the others load lazily on scroll).
STRIP_JS = """() => { const strip = document.querySelector('.rich-strip');
  const imgs = [...document.querySelectorAll('.rich-thumb img')];
  if (!strip || imgs.length !== N_IMAGES) return false;
  const s = strip.getBoundingClientRect();
  const shown = imgs.filter((i) => {
    const r = i.getBoundingClientRect();
    return r.right > s.left && r.left < s.right;
  });
  return shown.length && shown.every((i) => i.complete && i.naturalWidth > 0) ? performance.now() : false; }"""


def image_strip(url: str, n: int) -> None:
    import numpy as np
    from playwright.sync_api import sync_playwright

    from trainboard.sdk.rich import png_bytes

    with httpx.Client(base_url=url, timeout=60, headers={"X-Trainboard": "1"}) as http:
        http.post("/api/runs", json={"id": "strip", "name": "strip"}).raise_for_status()
        for start in range(0, n, 50):
            values = []
            for step in range(start, min(n, start + 50)):
                img = np.zeros((28, 28, 3), dtype=np.uint8)
                img[:, :, 0] = step % 256
                img[10:18, (step % 20) : (step % 20) + 8, 1] = 255
                data = base64.b64encode(png_bytes(img)).decode()
                values.append(
                    {"key": "digits", "step": step, "kind": "image", "image": {"format": "png", "data": data}}
                )
            http.post("/api/runs/strip/rich", json={"values": values}).raise_for_status()
        http.post(
            "/api/runs/strip/rich",
            json={"values": [{"key": "a-text", "step": 0, "kind": "text", "text": {"text": "x"}}]},
        )
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("TRAINBOARD_CHROMIUM", "/usr/bin/chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        for _ in range(5):
            ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = ctx.new_page()
            page.goto(f"{url}/runs/strip")
            page.get_by_label("rich key").wait_for()
            t0 = page.evaluate("() => performance.now()")
            page.get_by_label("rich key").select_option("digits")
            done = page.wait_for_function(
                STRIP_JS.replace("N_IMAGES", str(n)),
                timeout=60_000,
            ).json_value()
            times.append(done - t0)
            ctx.close()
        browser.close()
    print(
        f"image strip of {n} images (28x28 PNG), key chosen -> the thumbnails in view loaded: median "
        f"{statistics.median(times):.0f} ms of 5 (min {min(times):.0f}, max {max(times):.0f}; "
        f"load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--browser", action="store_true", help="also time the image strip in chromium")
    parser.add_argument("--images", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, served(CLI, Path(tmp) / "server") as (url, _proc):
        loop_cost(url, Path(tmp) / "client", args.steps)
        if args.browser:
            image_strip(url, args.images)


if __name__ == "__main__":
    main()
