"""``print()`` while a tqdm bar is live, in an 80-column terminal: tqdm draws its bar one column short of the
width, so the printed line's first letter fills the last column and the rest wraps ("...it/s]s" / "tep 10 loss").
A real terminal (tmux, xterm, pyte) shows exactly that; tqdm.write() is the fix on the script's side. Used by
test_terminal_geometry.py to check the web terminal shows the same, not a "lost" first letter."""

import time

from tqdm import tqdm

for i in tqdm(range(30), mininterval=0):
    time.sleep(0.01)
    if i % 10 == 9:
        print(f"step {i + 1} loss 0.{i}", flush=True)
